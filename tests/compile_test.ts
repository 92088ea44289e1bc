import assert from "node:assert/strict";
import { CLI_PERMISSIONS, loopbackServeArgs, MAIN_PATH } from "../bench/launch_args.ts";
import { COMPILE_FLAGS, explainFailure } from "../scripts/compile.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** The compile task's command line (`deno run ... scripts/compile.ts`), read from deno.json. */
async function compileTask(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const words = (config.tasks.compile as string).split(/\s+/);
  assert.equal(words[0], "deno");
  assert.equal(words.at(-1), "scripts/compile.ts", "the compile task runs scripts/compile.ts");
  return words.slice(1);
}

/** Runs the compile task as `deno task compile OUTPUT` would, with `env` added. */
async function runCompileTask(
  output: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [...await compileTask(), output],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: result.code, stderr: decoder.decode(result.stderr) };
}

/** The last line the compile task printed, without colours. */
function lastLine(stderr: string): string {
  // deno-lint-ignore no-control-regex
  return stderr.replace(/\x1b\[[0-9;]*m/g, "").trimEnd().split("\n").at(-1) ?? "";
}

Deno.test("the compile task's flags: the network, no blanket permissions, the store thread's module", () => {
  assert.ok(COMPILE_FLAGS.includes("--allow-net"), "the binary needs the network");
  assert.ok(
    !COMPILE_FLAGS.includes("--allow-all") && !COMPILE_FLAGS.includes("-A"),
    "no blanket permissions",
  );
  assert.ok(!COMPILE_FLAGS.includes("--allow-run"), "the binary starts no subprocesses");
  const include = COMPILE_FLAGS.indexOf("--include");
  assert.equal(COMPILE_FLAGS[include + 1], "store/sqlite/history_thread.ts");
});

Deno.test("deno compile builds a working single binary, or proves the graph and ends on one DENORT_BIN line", async () => {
  const dir = await Deno.makeTempDir();
  const output = `${dir}/sockchat`;
  const { code, stderr } = await runCompileTask(output);
  try {
    if (code === 0) {
      const version = await new Deno.Command(output, { args: ["--version"], stdout: "piped" })
        .output();
      assert.equal(version.code, 0);
      assert.match(decoder.decode(version.stdout), /^sockchat \d+\.\d+\.\d+/);
      const help = await new Deno.Command(output, { args: ["serve", "--help"], stdout: "piped" })
        .output();
      assert.equal(help.code, 0);
      assert.match(decoder.decode(help.stdout), /--max-users/);
      const bad = await new Deno.Command(output, { args: ["nope"], stderr: "piped" }).output();
      assert.equal(bad.code, 2);
      // The store thread's module must be in the binary: a message is stored and acked.
      await servesAndStores(output, []);
      return;
    }
    // No denort here: type checking and graph resolution must have passed, and the failure must
    // be the runtime download and nothing else.
    // "Compile" is printed only once the graph has resolved and type-checked.
    assert.match(stderr, /Compile\S* \S*main\.ts/, `the graph did not check:\n${stderr}`);
    assert.match(stderr, /Setting up base binary/, `compile failed for another reason:\n${stderr}`);
    assert.doesNotMatch(stderr, /TS\d{4}|Module not found|error: Uncaught/);
    // Issue 12: it ends with one line that says what to do, not a stack backtrace.
    assert.equal(code, 1);
    assert.doesNotMatch(stderr, /Stack backtrace/);
    assert.match(
      lastLine(stderr),
      /^deno compile needs the denort runtime, which could not be downloaded.*; set DENORT_BIN to a denort binary of Deno \d+\.\d+\.\d+/,
    );
    const reason = /dns error[^\n]*|error sending request[^\n]*/.exec(stderr)?.[0]?.replace(
      /\(http[^)]*\)/,
      "",
    ) ??
      "denort is not available";
    console.log(
      `SKIP: binary not built, no denort runtime here (set DENORT_BIN to build it): ${reason}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the compile task with DENORT_BIN naming no file ends on one line that names it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = `${dir}/no-denort`;
    // RUST_BACKTRACE=1 as a developer might have it: the task still prints no backtrace.
    const { code, stderr } = await runCompileTask(`${dir}/sockchat`, {
      DENORT_BIN: missing,
      RUST_BACKTRACE: "1",
    });
    assert.equal(code, 1, stderr);
    assert.doesNotMatch(stderr, /Stack backtrace/);
    assert.equal(
      lastLine(stderr),
      `deno compile found no denort at DENORT_BIN (${missing}); set DENORT_BIN to a denort ` +
        `binary of Deno ${Deno.version.deno}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed deno compile is explained in one line, naming DENORT_BIN when denort was the trouble", () => {
  const offline =
    "\x1b[0m\x1b[32mDownload\x1b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-" +
    "unknown-linux-gnu.zip\nCaused by:\n    0: Setting up base binary.\n    1: dns error\n";
  assert.equal(
    explainFailure(offline, undefined, "2.9.6", 1),
    "deno compile needs the denort runtime, which could not be downloaded from " +
      "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip; set DENORT_BIN " +
      "to a denort binary of Deno 2.9.6 (that zip, unzipped)",
  );
  assert.equal(
    explainFailure(
      "error: Writing deno compile executable to temporary file 'x'\n\nCaused by:\n" +
        "    0: Writing binary bytes\n    1: Invalid object: Not an ELF file\n",
      "/tmp/fake",
      "2.9.6",
      1,
    ),
    "deno compile could not use DENORT_BIN (/tmp/fake) as its runtime; set DENORT_BIN to a " +
      "denort binary of Deno 2.9.6",
  );
  // A type error is not denort's fault, and says so.
  assert.equal(
    explainFailure("TS2322 [ERROR]: ...\nerror: Type checking failed.\n", undefined, "2.9.6", 1),
    "deno compile failed (exit code 1); its error is above",
  );
});

/**
 * Runs `command args... serve` on a free port with history in memory, logs in over NDJSON and
 * says one thing: the ack proves the store thread started and committed it.
 */
async function servesAndStores(command: string, args: string[]): Promise<void> {
  const child = new Deno.Command(command, {
    args: [...args, ...loopbackServeArgs("warn", ["--db", ":memory:"])],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    let buffered = "";
    let port = 0;
    while (port === 0) {
      const { value, done } = await lines.read();
      assert.ok(!done, "the server stopped before listening");
      buffered += value;
      const found = /listening on 127\.0\.0\.1:(\d+)/.exec(buffered);
      if (found) port = Number(found[1]);
    }
    // Keep draining the server's log, so that it never blocks on a full pipe.
    const drained = (async () => {
      while (!(await lines.read()).done) { /* drain */ }
    })();
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const out = new TextEncoder().encode(
      '{"type":"hello","v":1,"nick":"probe"}\n{"type":"msg","text":"stored?","ref":"p"}\n',
    );
    await conn.write(out);
    let got = "";
    const buf = new Uint8Array(4096);
    while (!got.includes('"type":"ack"')) {
      const n = await conn.read(buf);
      assert.ok(n !== null, `the server closed the connection: ${got}`);
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn.close();
    conn = undefined;
    child.kill("SIGTERM");
    await child.status;
    await drained;
  } finally {
    clearTimeout(timer);
    conn?.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }
}

Deno.test("the CLI serves and stores (the check the compiled binary gets, run on main.ts)", async () => {
  await servesAndStores(Deno.execPath(), ["run", ...CLI_PERMISSIONS, MAIN_PATH]);
});
