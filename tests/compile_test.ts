import assert from "node:assert/strict";
import { CLI_PERMISSIONS, loopbackServeArgs, MAIN_PATH } from "../bench/launch_args.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** The compile task's flags, read from deno.json so this test cannot drift from it. */
async function compileFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task: string = config.tasks.compile;
  const words = task.split(/\s+/);
  assert.equal(words[0], "deno");
  assert.equal(words[1], "compile");
  return words.slice(2).filter((w, i, all) => w !== "-o" && all[i - 1] !== "-o" && w !== "main.ts");
}

Deno.test("deno compile builds a working single binary, or proves the graph and prints SKIP", async () => {
  const dir = await Deno.makeTempDir();
  const output = `${dir}/sockchat`;
  const flags = await compileFlags();
  assert.ok(flags.includes("--allow-net"), "the binary needs the network");
  assert.ok(!flags.includes("--allow-all") && !flags.includes("-A"), "no blanket permissions");
  const compiled = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...flags, "-o", output, `${ROOT}main.ts`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = decoder.decode(compiled.stderr);
  try {
    if (compiled.code === 0) {
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
