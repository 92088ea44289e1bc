import assert from "node:assert/strict";
import { parseServeArgs } from "../cli/serve_args.ts";
import { DEFAULT_MAX_AGE_MS, DEFAULT_MAX_DB_BYTES } from "../config/limits.ts";
import {
  DEFAULT_HISTORY_READ_BYTES_PER_SECOND,
  DEFAULT_LOGINS_PER_MINUTE,
  MIN_HISTORY_READ_BYTES_PER_SECOND,
} from "../config/security_limits.ts";
import { parseJoinArgs } from "../cli/join_args.ts";
import { JOIN_HELP, SERVE_HELP, UsageError } from "../cli/usage.ts";
import { denoArgs, runCli, spawnServe } from "./helpers/cli.ts";
import { JsonClient, within } from "./helpers/wire.ts";

Deno.test("--help, serve --help, join --help and --version print and exit 0", async () => {
  const main = await runCli(["--help"]);
  assert.equal(main.code, 0);
  assert.match(main.stdout, /sockchat serve/);
  assert.match(main.stdout, /sockchat join/);
  const serve = await runCli(["serve", "--help"]);
  assert.equal(serve.code, 0);
  for (const flag of ["--host", "--port", "--max-users", "--max-frame", "--max-queue"]) {
    assert.match(serve.stdout, new RegExp(flag));
  }
  assert.match(serve.stdout, /default 0\.0\.0\.0/);
  assert.match(serve.stdout, /default 7342/);
  assert.match(serve.stdout, /default 1000/);
  assert.match(serve.stdout, /default 65536/);
  assert.match(serve.stdout, /--max-db-bytes SIZE[\s\S]*\(default 1G\)/);
  assert.match(serve.stdout, /--max-age DURATION[\s\S]*\(default 90d\)/);
  const join = await runCli(["join", "--help"]);
  assert.equal(join.code, 0);
  assert.match(join.stdout, /--name/);
  assert.match(join.stdout, /Exit codes/);
  assert.match(join.stdout, /3 \(piped or --json only\)/, "join's exit code 3 is listed");
  const version = await runCli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^sockchat \d+\.\d+\.\d+/);
});

Deno.test("mistakes on the command line exit 2 with one line and a hint", async () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /unknown command "frobnicate"/],
    [[], /missing command/],
    [["serve", "--bogus"], /unknown option --bogus/],
    [["serve", "--port", "http"], /--port must be a whole number from 0 to 65535, not "http"/],
    [["serve", "--port", "70000"], /--port must be a whole number from 0 to 65535, not 70000/],
    [["serve", "--max-users", "0"], /--max-users must be a whole number from 1 to/],
    [["serve", "--max-frame", "10"], /--max-frame must be a whole number from 256/],
    [["serve", "--port"], /^sockchat: --port needs a value \(a TCP port/],
    [["serve", "--max-db-bytes", "1048575"], /--max-db-bytes must be 0 \(no cap\) or between 1M/],
    [["serve", "--max-db-bytes", "1025T"], /--max-db-bytes must be 0 \(no cap\) or between/],
    [["serve", "--max-db-bytes", "1.5G"], /--max-db-bytes needs a size in bytes, such as/],
    [["serve", "--max-age", "59m"], /--max-age must be 0 \(keep for ever\) or at least 1h/],
    [["serve", "--max-age", "30"], /--max-age needs a duration such as 90d/],
    [["join", "--nope"], /unknown option --nope/],
    [["join", "a", "b", "--name", "x"], /join takes one HOST\[:PORT\]/],
    [["join", "localhost:abc", "--name", "x"], /the port in localhost:abc must be a whole number/],
    // Issue 12, defect 8: the flag as typed, and what is wrong with it.
    [["join", "--name"], /^sockchat: --name needs a value \(a nickname\)\.$/],
    [["join", "-n"], /^sockchat: -n needs a value \(a nickname\)\.$/],
    [
      ["serve", "--max-users", "-1"],
      /^sockchat: --max-users must be a whole number from 1 to \d+, not -1\.$/,
    ],
    [
      ["serve", "--max-users=-1"],
      /^sockchat: --max-users must be a whole number from 1 to \d+, not -1\.$/,
    ],
    [
      ["join", "--no-color=false"],
      /^sockchat: --no-color takes no value \(write --no-color, or leave it out\)\.$/,
    ],
    [
      ["serve", "--fsync=yes"],
      /^sockchat: --fsync takes no value \(write --fsync, or leave it out\)\.$/,
    ],
    [["join", "--name", "--json"], /^sockchat: --name needs a value \(a nickname\), not --json /],
    [
      ["serve", "--max-user", "5"],
      /^sockchat: unknown option --max-user \(did you mean --max-users\?\)\.$/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 2, `exit code for ${args.join(" ")}`);
    const lines = result.stderr.trim().split("\n");
    assert.match(lines[0], pattern);
    assert.match(lines[1], /^Try 'sockchat( serve| join)? --help'\.$/);
    assert.equal(lines.length, 2);
  }
});

/** Each flag in a help text, and whether it takes a value (`--port PORT`) or not (`--fsync`). */
function helpFlags(help: string): { flag: string; valued: boolean; metavar?: string }[] {
  return [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)(?: ([A-Z]+))?(?: |$)/gm)].map((m) => ({
    flag: m[1],
    valued: m[2] !== undefined,
    metavar: m[2],
  }));
}

/** The first line of the usage error `parse` throws. */
function usageMessage(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof UsageError, `not a usage error: ${error}`);
    return error.message;
  }
  assert.fail("no usage error");
}

Deno.test("every flag of serve and join names itself as typed when its value is missing or unwanted", () => {
  const env = () => undefined;
  const subcommands = [
    {
      help: SERVE_HELP,
      parse: (args: string[]) => parseServeArgs(["--db", ":memory:", ...args], env),
    },
    { help: JOIN_HELP, parse: (args: string[]) => parseJoinArgs(["-n", "x", ...args], env) },
  ];
  let valued = 0;
  let switches = 0;
  for (const { help, parse } of subcommands) {
    for (const { flag, valued: takesValue } of helpFlags(help)) {
      if (takesValue) {
        valued++;
        // Missing at the end, missing before another flag, and empty.
        assert.match(
          usageMessage(() => parse([flag])),
          new RegExp(`^${flag} needs a value \\(.+\\)\\.$`),
        );
        assert.match(
          usageMessage(() => parse([flag, "--help"])),
          new RegExp(`^${flag} needs a value \\(.+\\), not --help \\(write ${flag}=--help if`),
        );
        assert.match(
          usageMessage(() => parse([`${flag}=`])),
          new RegExp(`^${flag} needs a value \\(.+\\), not an empty one\\.$`),
        );
      } else {
        switches++;
        assert.equal(
          usageMessage(() => parse([`${flag}=yes`])),
          `${flag} takes no value (write ${flag}, or leave it out).`,
        );
      }
    }
  }
  assert.ok(
    valued >= 25 && switches >= 8,
    `help lists ${valued} valued flags and ${switches} switches`,
  );
});

Deno.test("a negative number given to any numeric flag reaches its range check", () => {
  const parse = (args: string[]) => parseServeArgs(["--db", ":memory:", ...args], () => undefined);
  const numeric = helpFlags(SERVE_HELP).filter(({ metavar }) =>
    metavar !== undefined && ["N", "PORT", "BYTES", "SECONDS"].includes(metavar)
  );
  assert.ok(numeric.length >= 14, numeric.map(({ flag }) => flag).join(" "));
  for (const { flag } of numeric) {
    for (const args of [[flag, "-1"], [`${flag}=-1`]]) {
      assert.match(
        usageMessage(() => parse(args)),
        new RegExp(`^${flag} must be a whole number from \\d+ to \\d+, not -1\\.$`),
        args.join(" "),
      );
    }
  }
  // A negative number is a value for any flag, not a flag: the join port and a nick too.
  assert.equal(parseJoinArgs(["-n", "-1"], () => undefined).nick, "-1");
});

Deno.test("--max-db-bytes and --max-age take sizes and durations, 0 for none, down to their minimum", () => {
  const parse = (...args: string[]) => parseServeArgs(["--db", ":memory:", ...args]);
  assert.equal(parse().maxDbBytes, DEFAULT_MAX_DB_BYTES);
  assert.equal(parse().maxAgeMs, DEFAULT_MAX_AGE_MS);
  assert.equal(parse("--max-db-bytes", "1048576").maxDbBytes, 1024 * 1024);
  assert.equal(parse("--max-db-bytes", "1M").maxDbBytes, 1024 * 1024);
  assert.equal(parse("--max-db-bytes", "512m").maxDbBytes, 512 * 1024 * 1024);
  assert.equal(parse("--max-db-bytes", "2G").maxDbBytes, 2 * 1024 ** 3);
  assert.equal(parse("--max-db-bytes", "1024T").maxDbBytes, 1024 ** 5);
  assert.equal(parse("--max-db-bytes", "0").maxDbBytes, 0);
  assert.equal(parse("--max-age", "1h").maxAgeMs, 3_600_000);
  assert.equal(parse("--max-age", "60m").maxAgeMs, 3_600_000);
  assert.equal(parse("--max-age", "30d").maxAgeMs, 30 * 86_400_000);
  assert.equal(parse("--max-age", "0").maxAgeMs, 0);
});

Deno.test("serve --max-db-bytes reaches the store: three times the cap written, the file stays at it", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/capped.db`;
  try {
    const server = await spawnServe(["--db", db, "--max-db-bytes", "1M", "--rate", "0"]);
    const writer = await JsonClient.login({ addr: { port: server.port } } as never, "writer");
    for (let round = 0; round < 30; round++) {
      let batch = "";
      for (let i = 0; i < 100; i++) {
        batch += JSON.stringify({ type: "msg", room: "#lobby", text: "x".repeat(1000) }) + "\n";
      }
      await writer.write(batch);
      for (let i = 0; i < 100; i++) await writer.expect("ack");
    }
    writer.close();
    assert.equal((await server.stop("SIGTERM")).code, 0);
    const size = (await Deno.stat(db)).size;
    assert.ok(size <= 1024 * 1024 + 128 * 1024, `the database holds ${size} bytes`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("join without any nickname in the environment says how to give one", async () => {
  const result = await runCli(["join", "127.0.0.1:1"], {
    env: { SOCKCHAT_NICK: "", USER: "", LOGNAME: "" },
  });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /no nickname: pass --name NICK or set SOCKCHAT_NICK/);
});

Deno.test("join to a closed port prints one line and exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const result = await runCli(["join", `127.0.0.1:${port}`, "--name", "x"], { stdin: "" });
  assert.equal(result.code, 1);
  assert.equal(result.stderr.trim().split("\n").length, 1);
  assert.match(result.stderr, /cannot connect to 127\.0\.0\.1:\d+: connection refused/);
});

Deno.test("a piped join is a working bot against a serve subprocess, which exits 0 on SIGTERM", async () => {
  const server = await spawnServe();
  const watcher = await JsonClient.login({ addr: { port: server.port } } as never, "watcher");
  const result = await runCli(
    ["join", `127.0.0.1:${server.port}`, "--name", "bot"],
    { stdin: "hello from a pipe\nfirst \\\nsecond\n" },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Welcome to sockchat, bot!/);
  assert.equal((await watcher.expect("join")).nick, "bot");
  assert.equal((await watcher.expect("msg")).text, "hello from a pipe");
  assert.equal((await watcher.expect("msg")).text, "first \nsecond");
  const leave = await watcher.expect("leave");
  assert.deepEqual([leave.nick, leave.reason], ["bot", "quit"]);

  // A taken nick: one line, exit 1.
  const clash = await runCli(["join", `127.0.0.1:${server.port}`, "--name", "WATCHER"], {
    stdin: "",
  });
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /^sockchat: The nickname "WATCHER" is taken/);

  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0);
  assert.equal((await watcher.expect("bye")).reason, "shutdown");
  await watcher.expectEof();
  watcher.close();
});

Deno.test("a joined client whose server goes away exits 1 with one line", async () => {
  const server = await spawnServe();
  const watcher = await JsonClient.login({ addr: { port: server.port } } as never, "watcher");
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs(["join", `127.0.0.1:${server.port}`, "--name", "stay"]),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Wait until the client is in, then take the server away under it (its stdin stays open).
  assert.equal((await watcher.expect("join")).nick, "stay");
  assert.equal((await server.stop("SIGINT")).code, 0);
  const out = await within(child.output(), "join to exit");
  await child.stdin.close().catch(() => {});
  assert.equal(out.code, 1);
  const stderr = new TextDecoder().decode(out.stderr).trim();
  assert.equal(stderr.split("\n").length, 1);
  assert.match(stderr, /^sockchat: The server is shutting down/);
  watcher.close();
});

Deno.test("serve on a port in use prints one line and exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const result = await runCli(["serve", "--host", "127.0.0.1", "--port", String(port)]);
  listener.close();
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot listen on 127\.0\.0\.1:\d+: the address is already in use/);
});

Deno.test("--max-logins-per-minute and --history-read-rate are in --help, parsed and bounded", () => {
  const parse = (...args: string[]) => parseServeArgs(args, () => undefined);
  assert.equal(parse("--db", ":memory:").maxLoginsPerMinute, DEFAULT_LOGINS_PER_MINUTE);
  assert.equal(parse("--db", ":memory:", "--max-logins-per-minute", "0").maxLoginsPerMinute, 0);
  assert.equal(
    parse("--db", ":memory:").historyReadRate,
    DEFAULT_HISTORY_READ_BYTES_PER_SECOND,
  );
  assert.equal(
    parse("--db", ":memory:", "--history-read-rate", String(MIN_HISTORY_READ_BYTES_PER_SECOND))
      .historyReadRate,
    MIN_HISTORY_READ_BYTES_PER_SECOND,
  );
  assert.throws(
    () =>
      parse(
        "--db",
        ":memory:",
        "--history-read-rate",
        String(MIN_HISTORY_READ_BYTES_PER_SECOND - 1),
      ),
    /--history-read-rate/,
  );
  assert.throws(() => parse("--db", ":memory:", "--max-logins-per-minute", "-1"), /--max-logins/);
  assert.match(SERVE_HELP, /--max-logins-per-minute N[\s\S]*\(default 30\)/);
  assert.match(SERVE_HELP, /--history-read-rate BYTES[\s\S]*\(default 1048576, at least 65536\)/);
});

Deno.test("join --help names the client's caps", () => {
  assert.match(JOIN_HELP, /frames that break the\s+protocol are ignored/);
  assert.match(JOIN_HELP, /a frame at\s+4 MiB, 100 rooms, 2000 members per room, 1000 unanswered/);
});

Deno.test("serve names the history database it cannot open, and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "not a directory");
    const inFile = await runCli(["serve", "--port", "0", "--db", `${dir}/file/history.db`]);
    assert.equal(inFile.code, 1);
    assert.match(
      inFile.stderr,
      /^sockchat: cannot open the history database .*file\/history\.db: /,
    );
    await Deno.mkdir(`${dir}/notdb.db`);
    const isDir = await runCli(["serve", "--port", "0", "--db", `${dir}/notdb.db`]);
    assert.equal(isDir.code, 1);
    assert.match(isDir.stderr, /^sockchat: cannot open the history database .*notdb\.db: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("join --theme takes dark, light or mono; any other name is refused in one sentence naming them", () => {
  const env = () => undefined;
  for (const theme of ["dark", "light", "mono"]) {
    assert.equal(parseJoinArgs(["-n", "x", "--theme", theme], env).theme, theme);
    assert.equal(parseJoinArgs(["-n", "x", `--theme=${theme}`], env).theme, theme);
  }
  assert.equal(parseJoinArgs(["-n", "x"], env).theme, undefined, "unset: guessed at start");
  assert.equal(
    usageMessage(() => parseJoinArgs(["-n", "x", "--theme", "solarized"], env)),
    '--theme must be dark, light or mono, not "solarized".',
  );
  assert.match(JOIN_HELP, /--theme NAME\s+colours for a dark or light background, or mono/);
});
