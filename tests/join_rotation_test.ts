/**
 * `sockchat join HOST:PORT,HOST:PORT`: the nodes of one chat, tried in turn (issue 16). A dead
 * first address is skipped; a drop sends the client to the next address first, resuming every
 * room where it was, so nothing is lost or shown twice; the list is capped. Last, the same on a
 * real two-node cluster (one redis-server), where resuming on the other node is exact.
 */

import assert from "node:assert/strict";
import { parseJoinArgs } from "../cli/join_args.ts";
import { UsageError } from "../cli/usage.ts";
import { MAX_JOIN_ADDRESSES } from "../client/limits.ts";
import { ServerRing, triesNextServer } from "../client/server_ring.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { ClusterNode } from "../cluster/node.ts";
import type { ChatServer } from "../server.ts";
import { denoArgs, runCli, spawnServe } from "./helpers/cli.ts";
import { startRedis } from "./helpers/redis.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A port nothing listens on: bound, then closed. */
function deadPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** One connection to a fake node, line by line. */
class FakeConn {
  readonly conn: Deno.Conn;
  #text = "";

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** The next JSON line the client sent. */
  async next(): Promise<Record<string, unknown>> {
    const buffer = new Uint8Array(4096);
    while (true) {
      const nl = this.#text.indexOf("\n");
      if (nl !== -1) {
        const line = this.#text.slice(0, nl);
        this.#text = this.#text.slice(nl + 1);
        return JSON.parse(line) as Record<string, unknown>;
      }
      const n = await this.conn.read(buffer);
      if (n === null) throw new Error("the client closed");
      this.#text += decoder.decode(buffer.subarray(0, n));
    }
  }

  /** Sends frames as JSON lines. */
  async send(...frames: object[]): Promise<void> {
    const bytes = encoder.encode(frames.map((f) => JSON.stringify(f) + "\n").join(""));
    for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** A fake sockchat node on 127.0.0.1 that counts the connections it is given. */
class FakeNode {
  readonly listener: Deno.Listener;
  readonly port: number;
  readonly conns: FakeConn[] = [];

  constructor() {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.listener.addr as Deno.NetAddr).port;
  }

  /** The next client, once its hello is in. */
  async accept(): Promise<{ conn: FakeConn; hello: Record<string, unknown> }> {
    const conn = new FakeConn(await within(this.listener.accept(), "a client", 20_000));
    this.conns.push(conn);
    return { conn, hello: await within(conn.next(), "the hello", 20_000) };
  }

  close(): void {
    for (const conn of this.conns) conn.close();
    this.listener.close();
  }
}

function welcome(nick: string): ServerFrame {
  return {
    type: "welcome",
    v: 1,
    nick,
    server: "fake",
    rooms: [{ room: "#lobby", topic: "", members: [nick, "carol"], count: 2 }],
    limits: { maxFrame: 65536, maxUsers: 10 },
  };
}

function msg(id: number, text: string): ServerFrame {
  return { type: "msg", id, room: "#lobby", from: "carol", text, ts: 0 };
}

Deno.test("join: several addresses are parsed in order, and capped at MAX_JOIN_ADDRESSES", () => {
  const env = () => undefined;
  const parsed = parseJoinArgs(["a.example:7000,[::1]:7001,b.example", "-n", "x"], env);
  assert.deepEqual(parsed.servers, [
    { host: "a.example", port: 7000 },
    { host: "::1", port: 7001 },
    { host: "b.example", port: 7342 },
  ]);
  assert.equal(parsed.host, "a.example");
  assert.equal(parsed.port, 7000);
  assert.deepEqual(parseJoinArgs(["h:9", "-n", "x"], env).servers, [{ host: "h", port: 9 }]);
  const many = (n: number) => Array.from({ length: n }, (_, i) => `h${i}:7342`).join(",");
  assert.equal(parseJoinArgs([many(MAX_JOIN_ADDRESSES), "-n", "x"], env).servers.length, 16);
  assert.throws(
    () => parseJoinArgs([many(MAX_JOIN_ADDRESSES + 1), "-n", "x"], env),
    (e: unknown) => e instanceof UsageError && /at most 16 addresses/.test(e.message),
  );
  assert.throws(
    () => parseJoinArgs(["a:1,,b:2", "-n", "x"], env),
    (e: unknown) => e instanceof UsageError && /between each pair of commas/.test(e.message),
  );
  assert.throws(
    () => parseJoinArgs(["a:1,b:99999", "-n", "x"], env),
    (e: unknown) => e instanceof UsageError && /port/.test(e.message),
  );
});

Deno.test("join: the ring rotates from the address after the last one used; node refusals move on", () => {
  const ring = new ServerRing([{ host: "a", port: 1 }, { host: "b", port: 2 }, {
    host: "c",
    port: 3,
  }]);
  assert.deepEqual([ring.take(), ring.take(), ring.take(), ring.take()].map((s) => s.host), [
    "a",
    "b",
    "c",
    "a",
  ]);
  assert.equal(triesNextServer(undefined), true, "nothing answered");
  assert.equal(triesNextServer("server_full"), true);
  assert.equal(triesNextServer("shutting_down"), true);
  assert.equal(triesNextServer("banned"), false, "a ban is the chat's, not the node's");
  assert.equal(triesNextServer("nick_taken"), false);
});

Deno.test("join A,B with A dead logs in on B and says it skipped A; --help tells of several addresses", async () => {
  const server = await spawnServe(["--db", ":memory:"]);
  const watcher = await JsonClient.login({ addr: { port: server.port } } as never, "watcher");
  const dead = deadPort();
  try {
    const result = await runCli(
      ["join", `127.0.0.1:${dead},127.0.0.1:${server.port}`, "-n", "bot", "--json"],
      { stdin: "hello from the second address\n" },
    );
    assert.equal(result.code, 0, result.stderr);
    const frames = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as ServerFrame);
    assert.equal(frames[0].type, "welcome");
    assert.match(
      result.stderr,
      new RegExp(`cannot connect to 127\\.0\\.0\\.1:${dead}: .*; trying the next address`),
    );
    while (true) {
      const frame = await watcher.next("the bot's message");
      if (frame?.type === "msg" && frame.from === "bot") {
        assert.equal(frame.text, "hello from the second address");
        break;
      }
    }
    // `sockchat key` given the list prints the key join offers: the first address's.
    const listed = await runCli(["key", `127.0.0.1:${dead},127.0.0.1:${server.port}`]);
    const first = await runCli(["key", `127.0.0.1:${dead}`]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, first.stdout);
    const help = await runCli(["join", "--help"]);
    assert.match(help.stdout, /HOST\[:PORT\]\[,HOST\[:PORT\]\.\.\.\]/);
    assert.match(help.stdout, /at most 16, are the nodes of one\s+chat/);
  } finally {
    watcher.close();
    await server.stop();
  }
});

Deno.test("join A,B: a drop on A reconnects to B first, resuming; a drop on B goes back to A; nothing lost or doubled", async () => {
  const a = new FakeNode();
  const b = new FakeNode();
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs([
      "join",
      `127.0.0.1:${a.port},127.0.0.1:${b.port}`,
      "-n",
      "bot",
      "--json",
      "--reconnect",
    ]),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  const stdin = child.stdin.getWriter();
  const lines: string[] = [];
  let partial = "";
  const until = (text: string) =>
    within(
      (async () => {
        while (true) {
          const nl = partial.indexOf("\n");
          if (nl !== -1) {
            const line = partial.slice(0, nl);
            partial = partial.slice(nl + 1);
            lines.push(line);
            if (line.includes(text)) return;
            continue;
          }
          const { value, done } = await stdout.read();
          if (done) throw new Error(`join exited before "${text}"`);
          partial += value;
        }
      })(),
      text,
      20_000,
    );
  try {
    const first = await a.accept();
    assert.equal(first.hello.resume, undefined, "a first login resumes nothing");
    await first.conn.send(welcome("bot"), msg(41, "on node A"));
    await until("on node A");
    first.conn.close();

    // The next connection goes to B (A still listens: a client that went back to A would be
    // accepted there, and B would time out).
    const second = await b.accept();
    assert.deepEqual(second.hello.resume, { "#lobby": 41 });
    // One chat, one identity: B is offered the key A was (the first address's).
    assert.equal(typeof first.hello.key, "string");
    assert.equal(second.hello.key, first.hello.key);
    await second.conn.send(welcome("bot"), msg(42, "on node B"));
    await until("on node B");
    second.conn.close();

    // And round again, to A, from where B left off.
    const third = await a.accept();
    assert.deepEqual(third.hello.resume, { "#lobby": 42 });
    await third.conn.send(welcome("bot"), msg(43, "back on A"));
    await until("back on A");
    assert.equal(a.conns.length, 2);
    assert.equal(b.conns.length, 1);

    await stdin.close();
    assert.equal((await within(third.conn.next(), "the quit", 20_000)).type, "quit");
    third.conn.close();
    const status = await within(child.status, "join to exit", 20_000);
    assert.equal(status.code, 0);
    const texts = lines.map((l) => JSON.parse(l) as ServerFrame).flatMap((f) =>
      f.type === "msg" ? [f.text] : []
    );
    assert.deepEqual(texts, ["on node A", "on node B", "back on A"], "each once, in order");
    const log = await stderr;
    assert.match(log, /Reconnecting \(attempt 1\)/);
    assert.doesNotMatch(log, /Uncaught|^\s+at /m);
  } finally {
    try {
      child.kill();
    } catch {
      // already exited
    }
    await stdin.close().catch(() => {});
    await stdout.cancel().catch(() => {});
    await child.status;
    await stderr.catch(() => "");
    a.close();
    b.close();
  }
});

Deno.test("join A,B on a real two-node cluster: node A shuts down, the client resumes on B with what it missed, once", async () => {
  const redis = await startRedis();
  const nodes: ChatServer[] = [];
  let writer: JsonClient | null = null;
  let join: Deno.ChildProcess | null = null;
  try {
    for (const node of ["a", "b"]) {
      const cluster = await ClusterNode.open({ url: redis.url, node, retention: 100 });
      const server = testServer({ cluster });
      nodes.push(server);
      await server.ready;
    }
    const [a, b] = nodes;
    join = new Deno.Command(Deno.execPath(), {
      args: denoArgs([
        "join",
        `127.0.0.1:${a.addr.port},127.0.0.1:${b.addr.port}`,
        "-n",
        "bot",
        "--json",
        "--reconnect",
      ]),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const stdout = join.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const stderr = new Response(join.stderr).text();
    const frames: ServerFrame[] = [];
    let partial = "";
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
            const { value, done } = await stdout.read();
            if (done) throw new Error(`join exited before ${what}`);
            partial += value;
          }
        })(),
        what,
        20_000,
      );
    const text = (t: string) => (f: ServerFrame) => f.type === "msg" && f.text === t;
    try {
      await until("the welcome", (f) => f.type === "welcome");
      writer = await JsonClient.login(b, "writer");
      await writer.send({ type: "msg", room: "#lobby", text: "before", ref: "1" });
      await writer.expect("ack");
      await until("the first message", text("before"));

      await a.shutdown();
      await until("the goodbye", (f) => f.type === "bye");
      await writer.send({ type: "msg", room: "#lobby", text: "while away", ref: "2" });
      await writer.expect("ack");
      const again = await until("the welcome on B", (f) => f.type === "welcome");
      assert.ok(again.type === "welcome" && again.nick === "bot");
      await until("the missed message", text("while away"));
      await writer.send({ type: "msg", room: "#lobby", text: "after", ref: "3" });
      await until("the next message", text("after"));
      const count = (t: string) => frames.filter(text(t)).length;
      assert.deepEqual([count("before"), count("while away"), count("after")], [1, 1, 1]);
      const ids = frames.flatMap((f) => f.type === "msg" ? [f.id] : []);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y), "ids rise across the two nodes");
      assert.equal(
        [...b.hub.users].filter((u) => u.nick === "bot" && u.node === undefined).length,
        1,
      );
    } finally {
      await join.stdin.close().catch(() => {});
      await within(join.status, "join to exit", 20_000).catch(() => {});
      await stdout.cancel().catch(() => {});
      const log = await stderr;
      assert.match(log, /Reconnecting \(attempt 1\)/);
    }
  } finally {
    writer?.close();
    if (join !== null) {
      try {
        join.kill();
      } catch {
        // exited
      }
      await join.status;
    }
    for (const n of nodes) await n.shutdown();
    await redis.stop();
  }
});
