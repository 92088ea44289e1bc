/**
 * Runs the IRC conformance suite [irctest](https://github.com/progval/irctest) against sockchat's
 * IRC front end. Opt-in, not part of CI: irctest is a Python project and is not vendored here.
 *
 * Usage: `IRCTEST_DIR=~/irctest deno run -A scripts/irctest.ts [pytest arguments...]`
 *
 * `IRCTEST_DIR` is a checkout of irctest with its requirements installed (`pip install -r
 * requirements.txt`: pytest, ecdsa, filelock; pytest-xdist for `-n 2`). Each test case starts its
 * own server through `tests/irctest/sockchat_controller.py`, so `deno` must be on `PATH`. The
 * arguments go to pytest (`-k sasl`, `-n 2`, or a file such as `irctest/server_tests/who.py`;
 * default: all of `irctest/server_tests`). Exits with pytest's code, or 2 when it cannot start.
 *
 * @module
 */

/**
 * The pytest `-m` expression unless `IRCTEST_MARKERS` gives another: tests of other servers' own
 * behaviour (Ergo, Sable), of deprecated specifications, and of DM history (sockchat never stores
 * DMs, by design) do not apply.
 */
export const DEFAULT_MARKERS =
  "not implementation-specific and not deprecated and not private_chathistory";

/** The directory of the controller module, which pytest imports by name. */
const CONTROLLER_DIR = new URL("../tests/irctest/", import.meta.url).pathname;

/**
 * The pytest command line for `args`: the sockchat controller, the markers, and the whole server
 * suite unless the arguments name irctest files themselves.
 *
 * @example
 * ```ts
 * pytestArgs(["-k", "sasl"], DEFAULT_MARKERS).at(-1); // "irctest/server_tests"
 * ```
 */
export function pytestArgs(args: readonly string[], markers: string): string[] {
  const named = args.some((arg) => arg.startsWith("irctest/"));
  return [
    "-m",
    "pytest",
    "-p",
    "no:cacheprovider",
    "--controller",
    "sockchat_controller",
    "-m",
    markers,
    "-rfEs",
    ...args,
    ...(named ? [] : ["irctest/server_tests"]),
  ];
}

if (import.meta.main) {
  const dir = Deno.env.get("IRCTEST_DIR") ?? "";
  let found = false;
  try {
    found = dir !== "" && Deno.statSync(`${dir}/conftest.py`).isFile;
  } catch {
    found = false;
  }
  if (!found) {
    console.error(
      "irctest: set IRCTEST_DIR to a checkout of https://github.com/progval/irctest (one with " +
        "conftest.py), as in: IRCTEST_DIR=~/irctest deno run -A scripts/irctest.ts",
    );
    Deno.exit(2);
  }
  const pythonPath = Deno.env.get("PYTHONPATH");
  const command = new Deno.Command("python3", {
    args: pytestArgs(Deno.args, Deno.env.get("IRCTEST_MARKERS") ?? DEFAULT_MARKERS),
    cwd: dir,
    env: {
      PYTHONPATH: pythonPath ? `${CONTROLLER_DIR}:${pythonPath}` : CONTROLLER_DIR,
      // No __pycache__ left in tests/irctest/.
      PYTHONDONTWRITEBYTECODE: "1",
    },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  });
  let status: Deno.CommandStatus;
  try {
    status = await command.spawn().status;
  } catch (error) {
    console.error(
      `irctest: could not run python3 (${(error as Error).message}); install Python 3.`,
    );
    Deno.exit(2);
  }
  Deno.exit(status.code);
}
