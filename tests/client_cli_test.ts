/**
 * `sockchat join` for scripts: --json output, commands from a pipe, no escapes when stdout is
 * not a terminal, and --reconnect resuming across a server restart.
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../protocol/frames.ts";
import { denoArgs, runCli, spawnServe } from "./helpers/cli.ts";
import { JsonClient, within } from "./helpers/wire.ts";

const decoder = new TextDecoder();

function login(port: number, nick: string): Promise<JsonClient> {
  return JsonClient.login({ addr: { port } } as never, nick);
}

Deno.test("join --json prints every frame as one JSON line; piped commands use the current room", async () => {
  const server = await spawnServe(["--db", ":memory:"]);
  const watcher = await login(server.port, "watcher");
  await watcher.send({ type: "cmd", line: "/join #bots", room: "#lobby", ref: "j" });
  await watcher.expect("joined");
  try {
    const result = await runCli(["join", `127.0.0.1:${server.port}`, "-n", "bot", "--json"], {
      stdin: "hello lobby\n/join #bots\nhello bots\n//slash text\n/me waves\n",
    });
    assert.equal(result.code, 0, result.stderr);
    const frames = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as ServerFrame);
    assert.equal(frames[0].type, "welcome");
    const joined = frames.find((f) => f.type === "joined");
    assert.ok(joined?.type === "joined" && joined.room === "#bots" && joined.ref !== undefined);
    const acks = frames.filter((f) => f.type === "ack");
    assert.deepEqual(acks.map((a) => a.type === "ack" && a.room), [
      "#lobby",
      "#bots",
      "#bots",
      "#bots",
    ]);

    const seen: string[] = [];
    while (seen.length < 4) {
      const frame = await watcher.next("the bot's messages");
      if (frame?.type === "msg") seen.push(`${frame.room} ${frame.action ? "*" : ""}${frame.text}`);
    }
    assert.deepEqual(seen, [
      "#lobby hello lobby",
      "#bots hello bots",
      "#bots /slash text",
      "#bots *waves",
    ]);
  } finally {
    watcher.close();
    await server.stop();
  }
});

Deno.test("join with stdout not a terminal writes no escape sequences, even without NO_COLOR", async () => {
  const server = await spawnServe(["--db", ":memory:"]);
  const watcher = await login(server.port, "watcher");
  try {
    await watcher.send({
      type: "msg",
      room: "#lobby",
      text: "\x1b[31mred\x1b[0m \x1b]0;t\x07 bot",
      ref: "1",
    });
    await watcher.expect("ack");
    const result = await runCli(["join", `127.0.0.1:${server.port}`, "-n", "bot"], {
      stdin: "hi\n",
      env: { NO_COLOR: "" },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes("(history) <watcher> red  bot"), result.stdout);
    assert.ok(!result.stdout.includes("\x1b"), JSON.stringify(result.stdout));
    assert.ok(!result.stdout.includes("\x07"), "no bell either");
    assert.doesNotMatch(result.stdout, /^\d\d:\d\d /m, "no timestamps by default in a pipe");
  } finally {
    watcher.close();
    await server.stop();
  }
});

Deno.test("join --reconnect survives a server restart and resumes where it left off, as its new nick", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.db`;
  let server = await spawnServe(["--db", db]);
  const port = server.port;
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs(["join", `127.0.0.1:${port}`, "-n", "bot", "--json", "--reconnect"]),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const frames: ServerFrame[] = [];
  let partial = "";
  /** Reads the bot's stdout until a frame passes `check`. */
  const until = (what: string, check: (f: ServerFrame) => boolean) =>
    within(
      (async () => {
        while (true) {
          const nl = partial.indexOf("\n");
          if (nl !== -1) {
            const frame = JSON.parse(partial.slice(0, nl)) as ServerFrame;
            partial = partial.slice(nl + 1);
            frames.push(frame);
            if (check(frame)) return frame;
            continue;
          }
          const { value, done } = await lines.read();
          if (done) throw new Error(`bot exited before ${what}`);
          partial += value;
        }
      })(),
      what,
      20_000,
    );
  const text = (t: string) => (f: ServerFrame) => f.type === "msg" && f.text === t;
  let writer: JsonClient | null = null;
  try {
    await until("the welcome", (f) => f.type === "welcome");
    const stdin = child.stdin.getWriter();
    await stdin.write(new TextEncoder().encode("/nick botty\n"));
    await until("the new nick", (f) => f.type === "nick" && f.new === "botty");
    writer = await login(port, "writer");
    await writer.send({ type: "msg", room: "#lobby", text: "before the restart" });
    await until("the first message", text("before the restart"));
    writer.close();

    assert.equal((await server.stop("SIGTERM")).code, 0);
    await until("the goodbye", (f) => f.type === "bye");
    server = await spawnServe(["--db", db, "--port", String(port)]);
    writer = await login(port, "writer");
    await writer.send({ type: "msg", room: "#lobby", text: "while the bot was away", ref: "2" });
    await writer.expect("ack");
    const again = await until("the second welcome", (f) => f.type === "welcome");
    assert.ok(again.type === "welcome" && again.nick === "botty", "back under the new nick");
    await until("the missed message", text("while the bot was away"));

    // Resume asked only for what was newer: the first message was not replayed again.
    const count = (t: string) => frames.filter(text(t)).length;
    assert.equal(count("before the restart"), 1);
    assert.equal(count("while the bot was away"), 1);

    await stdin.write(new TextEncoder().encode("back\n"));
    await stdin.close();
    assert.equal((await writer.expect("msg")).text, "back");
    const status = await within(child.status, "the bot to exit", 20_000);
    assert.equal(status.code, 0);
    const stderr = decoder.decode(await new Response(child.stderr).arrayBuffer());
    assert.match(stderr, /Reconnecting \(attempt 1\)/);
  } finally {
    writer?.close();
    await lines.cancel().catch(() => {});
    try {
      child.kill();
    } catch {
      // already exited
    }
    await child.status;
    await child.stderr.cancel().catch(() => {});
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("join sends the server password from --password-file or $SOCKCHAT_PASSWORD", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/password`;
  await Deno.writeTextFile(file, "hunter2\n", { mode: 0o600 });
  const server = await spawnServe(["--db", ":memory:", "--password-file", file]);
  try {
    const target = `127.0.0.1:${server.port}`;
    const withFile = await runCli(["join", target, "-n", "a", "--password-file", file], {
      stdin: "hi\n",
      env: { SOCKCHAT_PASSWORD: "" },
    });
    assert.equal(withFile.code, 0, withFile.stderr);
    const withEnv = await runCli(["join", target, "-n", "b"], {
      stdin: "hi\n",
      env: { SOCKCHAT_PASSWORD: "hunter2" },
    });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    const without = await runCli(["join", target, "-n", "c"], {
      stdin: "",
      env: { SOCKCHAT_PASSWORD: "" },
    });
    assert.equal(without.code, 1);
    assert.equal(without.stderr.trim().split("\n").length, 1, without.stderr);
    const missing = await runCli(["join", target, "-n", "d", "--password-file", `${dir}/nope`], {
      stdin: "",
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the password file .*nope: no such file/);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("piped join: no Tab hint for bots; exit 3 when the server refused anything the bot sent", async () => {
  const server = await spawnServe(["--db", ":memory:"]);
  try {
    const target = `127.0.0.1:${server.port}`;
    const fine = await runCli(["join", target, "-n", "bot"], { stdin: "hello\n/who\n" });
    assert.equal(fine.code, 0, fine.stderr);
    assert.match(fine.stdout, /\/help lists commands, \/quit leaves\./);
    assert.doesNotMatch(fine.stdout, /Tab/, "a bot has no Tab key");
    assert.doesNotMatch(fine.stdout, /press Enter/, "nor an Enter key");
    assert.match(fine.stdout, /Each line is one message/);

    const bogus = await runCli(["join", target, "-n", "bot2"], { stdin: "hello\n/bogus\nbye\n" });
    assert.equal(bogus.code, 3, `a refused command fails the run:\n${bogus.stdout}${bogus.stderr}`);
    assert.match(bogus.stdout, /bogus/i, "the refusal itself is printed");

    // In --json mode too, for any command the server answers with an error.
    const json = await runCli(["join", target, "-n", "bot3", "--json"], {
      stdin: "/join #rust\n/msg nobody-here hi\n",
    });
    assert.equal(json.code, 3, json.stderr);
  } finally {
    await server.stop();
  }
});
