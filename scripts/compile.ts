/**
 * `deno task compile`: builds the single `sockchat` binary with `deno compile`, passes its output
 * through, and ends a failure with one line that says what to do about it. Offline, that is the
 * usual case: `deno compile` downloads the `denort` runtime it embeds, and without it the line
 * names `DENORT_BIN`, where a local copy can be given.
 *
 * Usage: `deno task compile [OUTPUT]` (default `./sockchat`); exits with `deno compile`'s code.
 *
 * @module
 */

/**
 * The flags `deno compile` gets: the permissions the binary keeps (network, environment for the
 * nick and secrets, read and write for the database, certificates and secret files; no
 * subprocesses, no FFI), and the store thread's module, which the server starts as a Worker by
 * URL, so the module graph alone would leave it out.
 */
export const COMPILE_FLAGS: readonly string[] = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--include",
  "store/sqlite/history_thread.ts",
];

/** The program compiled, relative to the repository root. */
export const ENTRY = "main.ts";

/** Where the binary goes without an OUTPUT argument, relative to the repository root. */
export const DEFAULT_OUTPUT = "sockchat";

/** How much of `deno compile`'s stderr is kept to explain a failure: its last lines. */
const STDERR_TAIL_CHARS = 16 * 1024;

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * The one line that closes a failed `deno compile`, from the end of its stderr: what went wrong
 * and what to do about it, naming `DENORT_BIN` when the runtime was the trouble.
 *
 * @example
 * ```ts
 * explainFailure("Caused by:\n    0: Setting up base binary.\n", undefined, "2.9.6", 1);
 * // "deno compile needs the denort runtime, which could not be downloaded; set DENORT_BIN to a
 * //  denort binary of Deno 2.9.6"
 * ```
 */
export function explainFailure(
  stderr: string,
  denortBin: string | undefined,
  denoVersion: string,
  code: number,
): string {
  // deno colours its output even into a pipe; the escape character is what is matched.
  // deno-lint-ignore no-control-regex
  const text = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const fix = `set DENORT_BIN to a denort binary of Deno ${denoVersion}`;
  if (denortBin && /Could not find denort at/.test(text)) {
    return `deno compile found no denort at DENORT_BIN (${denortBin}); ${fix}`;
  }
  if (denortBin && /Writing deno compile executable/.test(text)) {
    return `deno compile could not use DENORT_BIN (${denortBin}) as its runtime; ${fix}`;
  }
  if (/Setting up base binary/.test(text)) {
    const url = /https:\/\/\S+?denort-[\w.-]+\.zip/.exec(text)?.[0];
    const from = url === undefined ? "" : ` from ${url}`;
    const unzipped = url === undefined ? "" : " (that zip, unzipped)";
    return `deno compile needs the denort runtime, which could not be downloaded${from}; ` +
      `${fix}${unzipped}`;
  }
  return `deno compile failed (exit code ${code}); its error is above`;
}

/**
 * Runs `deno compile` on {@linkcode ENTRY} with {@linkcode COMPILE_FLAGS}, writing the binary to
 * `output`. Its stdout and stderr pass through; on failure the last line printed is
 * {@linkcode explainFailure}'s. Resolves to `deno compile`'s exit code.
 */
export async function compile(output: string): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["compile", ...COMPILE_FLAGS, "-o", output, ENTRY],
    cwd: ROOT,
    // A release build has no symbols: its backtrace is "0: <unknown>", noise under the error.
    env: { RUST_BACKTRACE: "0" },
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  let tail = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    await writeAll(chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL_CHARS);
  }
  const { code } = await child.status;
  if (code !== 0) {
    const line = explainFailure(tail, Deno.env.get("DENORT_BIN"), Deno.version.deno, code);
    await writeAll(new TextEncoder().encode(`${line}\n`));
  }
  return code;
}

/** Writes all of `bytes` to stderr (one write may take only part of them). */
async function writeAll(bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await Deno.stderr.write(bytes.subarray(done));
}

if (import.meta.main) {
  const args = Deno.args;
  if (args.length > 1 || args[0]?.startsWith("-")) {
    console.error(
      `compile: takes at most one argument, the output file (default ./${DEFAULT_OUTPUT}).`,
    );
    Deno.exit(2);
  }
  // An OUTPUT argument is relative to where the task was started (deno task runs its command
  // in the repository and says where it was started in INIT_CWD); the default, to the repo.
  const from = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  const output = args[0] === undefined
    ? `${ROOT}${DEFAULT_OUTPUT}`
    : new URL(args[0], `file://${from.replace(/\/?$/, "/")}`).pathname;
  Deno.exit(await compile(output));
}
