/**
 * `sockchat join` facing a server that resets, lies or attacks ("Hardening II", findings 10 and
 * 13): each test runs a fake server on a real socket (port 0) that sends hostile bytes, and
 * either the real client as a subprocess or the client/ modules directly.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { ChatClient, ClientError } from "../client/chat_client.ts";
import { readServerFrames } from "../client/frame_reader.ts";
import { jsonLine } from "../client/json_line.ts";
import {
  CLIENT_MAX_FRAME_BYTES,
  MAX_INPUT_CHARS,
  MAX_JOINED_ROOMS,
  MAX_LISTED_ROOMS,
  MAX_MEMBERS_PER_ROOM,
  MAX_REMEMBERED_SPEAKERS,
  MAX_UNANSWERED,
  MAX_UNSENT_BYTES,
} from "../client/limits.ts";
import { MultilineBuffer } from "../client/multiline.ts";
import { Palette } from "../client/colors.ts";
import { PipedUi } from "../client/piped_ui.ts";
import { Renderer } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { parseServerFrame } from "../client/server_frame.ts";
import { Session } from "../client/session.ts";
import type { ClientUi } from "../client/ui.ts";
import type { MessageFrame, ServerFrame } from "../protocol/frames.ts";
import { makeTestPki } from "./helpers/certs.ts";
import { denoArgs } from "./helpers/cli.ts";
import { LineSocket, within } from "./helpers/wire.ts";

const encoder = new TextEncoder();

/** A connection to the fake server, seen from the server's side. */
class Peer {
  readonly socket: net.Socket;
  #text = "";
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#text += chunk;
      this.#poke();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#poke();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#poke();
    });
    socket.on("error", () => {});
  }

  #poke(): void {
    this.#wake?.();
    this.#wake = null;
  }

  /** The next line the client sent, parsed; null once it has closed. */
  next(what = "a frame from the client"): Promise<Record<string, unknown> | null> {
    return within(
      (async () => {
        while (true) {
          const nl = this.#text.indexOf("\n");
          if (nl !== -1) {
            const line = this.#text.slice(0, nl);
            this.#text = this.#text.slice(nl + 1);
            return JSON.parse(line) as Record<string, unknown>;
          }
          if (this.#ended) return null;
          await new Promise<void>((resolve) => (this.#wake = resolve));
        }
      })(),
      what,
      20_000,
    );
  }

  /** Reads frames from the client until one of `type`. */
  async expect(type: string): Promise<Record<string, unknown>> {
    while (true) {
      const frame = await this.next(`a "${type}" from the client`);
      if (frame === null) throw new Error(`the client closed before sending "${type}"`);
      if (frame.type === type) return frame;
    }
  }

  /**
   * Sends frames, honouring backpressure: objects become JSON lines; strings and bytes go as
   * they are.
   */
  async send(...items: (object | string | Uint8Array)[]): Promise<void> {
    for (const item of items) {
      const data = typeof item === "string" || item instanceof Uint8Array
        ? item
        : JSON.stringify(item) + "\n";
      if (!this.socket.write(data)) await once(this.socket, "drain");
    }
  }
}

/** A fake sockchat server on 127.0.0.1, port 0, that says whatever the test tells it to. */
class FakeServer {
  readonly #server: net.Server;
  readonly #peers: Peer[] = [];
  readonly #waiting: Peer[] = [];
  #wake: (() => void) | null = null;

  private constructor(server: net.Server) {
    this.#server = server;
    server.on("connection", (socket: net.Socket) => {
      const peer = new Peer(socket);
      this.#peers.push(peer);
      this.#waiting.push(peer);
      this.#wake?.();
      this.#wake = null;
    });
  }

  static async start(): Promise<FakeServer> {
    const server = net.createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return new FakeServer(server);
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next client to connect, once its hello is in. */
  async accept(): Promise<{ peer: Peer; hello: Record<string, unknown> }> {
    const peer = await within(
      (async () => {
        while (this.#waiting.length === 0) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
        }
        return this.#waiting.shift() as Peer;
      })(),
      "a client to connect",
      20_000,
    );
    return { peer, hello: await peer.expect("hello") };
  }

  async close(): Promise<void> {
    for (const peer of this.#peers) peer.socket.destroy();
    const closed = once(this.#server, "close");
    this.#server.close();
    await closed;
  }
}

function welcome(nick: string, rooms: string[] = ["#lobby"]): ServerFrame {
  return {
    type: "welcome",
    v: 1,
    nick,
    server: "fake",
    rooms: rooms.map((room) => ({ room, topic: "", members: [nick, "carol"], count: 2 })),
    limits: { maxFrame: 65536, maxUsers: 10 },
  };
}

function msg(id: number, text: string, extra: Record<string, unknown> = {}): MessageFrame {
  return { type: "msg", id, room: "#lobby", from: "carol", text, ts: 0, ...extra };
}

/** `sockchat join` as a subprocess, its stdout read line by line, its stderr kept. */
class Join {
  readonly child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stdout: ReadableStreamDefaultReader<string>;
  readonly #stderr: Promise<string>;
  #partial = "";
  /** Every stdout line read so far. */
  readonly lines: string[] = [];

  constructor(port: number, flags: string[], host = "127.0.0.1") {
    this.child = new Deno.Command(Deno.execPath(), {
      args: denoArgs(["join", `${host}:${port}`, "-n", "bot", ...flags]),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.#stdout = this.child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stderr = new Response(this.child.stderr).text();
  }

  /** Types a line into the client. */
  async type(line: string): Promise<void> {
    await this.#stdin.write(encoder.encode(line + "\n"));
  }

  /** Reads stdout until a line passes `check`; returns it. */
  until(what: string, check: (line: string) => boolean): Promise<string> {
    return within(
      (async () => {
        while (true) {
          const nl = this.#partial.indexOf("\n");
          if (nl !== -1) {
            const line = this.#partial.slice(0, nl);
            this.#partial = this.#partial.slice(nl + 1);
            this.lines.push(line);
            if (check(line)) return line;
            continue;
          }
          const { value, done } = await this.#stdout.read();
          if (done) throw new Error(`join exited before ${what}; stdout: ${this.lines.join("\n")}`);
          this.#partial += value;
        }
      })(),
      what,
      30_000,
    );
  }

  /**
   * Waits for the exit; returns the code, the rest of stdout, and stderr. With `endInput`, ends
   * the client's input first (it then quits); without, input ends only once it has exited on its
   * own, so that its exit cannot be a quit.
   */
  async finish(endInput = false): Promise<{ code: number; stdout: string; stderr: string }> {
    if (endInput) await this.#stdin.close().catch(() => {});
    let rest = this.#partial;
    while (true) {
      const { value, done } = await within(this.#stdout.read(), "join's output to end", 30_000);
      if (done) break;
      rest += value;
    }
    const status = await within(this.child.status, "join to exit", 30_000);
    await this.#stdin.close().catch(() => {});
    return { code: status.code, stdout: rest, stderr: await this.#stderr };
  }

  /** Kills the client if a failed test left it running. */
  async dispose(): Promise<void> {
    try {
      this.child.kill();
    } catch {
      // already exited
    }
    await this.#stdin.close().catch(() => {});
    await this.#stdout.cancel().catch(() => {});
    await this.child.status;
    await this.#stderr.catch(() => "");
  }
}

/** Asserts that stderr is exactly one line saying `pattern`, with no trace of a crash. */
function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, not:\n${stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /Uncaught|^\s+at /m);
}

// --- Finding 10: resets and other network failures -------------------------------------------

Deno.test("a connection reset ends join with one line and exit 1 when not reconnecting", async () => {
  const server = await FakeServer.start();
  const join = new Join(server.port, ["--no-reconnect"]);
  try {
    const { peer } = await server.accept();
    await peer.send(welcome("bot"));
    await join.type("hi");
    await peer.expect("msg");
    peer.socket.resetAndDestroy();
    const { code, stderr } = await join.finish();
    assert.equal(code, 1);
    assertOneLine(
      stderr,
      /^sockchat: lost the connection to 127\.0\.0\.1:\d+: the connection was reset$/,
    );
  } finally {
    await join.dispose();
    await server.close();
  }
});

Deno.test("a connection reset with --reconnect reconnects and resumes where it left off", async () => {
  const server = await FakeServer.start();
  const join = new Join(server.port, ["--json", "--reconnect"]);
  try {
    const first = await server.accept();
    await first.peer.send(welcome("bot"), msg(41, "before the reset"));
    await join.until("the message", (line) => line.includes("before the reset"));
    first.peer.socket.resetAndDestroy();
    const second = await server.accept();
    assert.deepEqual(second.hello.resume, { "#lobby": 41 });
    await second.peer.send(welcome("bot"), msg(42, "after the reset"));
    await join.until("the missed message", (line) => line.includes("after the reset"));
    const finished = join.finish(true);
    await second.peer.expect("quit");
    second.peer.socket.end();
    const { code, stderr } = await finished;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /the connection was reset/);
    assert.match(stderr, /Reconnecting \(attempt 1\)/);
    assert.doesNotMatch(stderr, /Uncaught|^\s+at /m);
  } finally {
    await join.dispose();
    await server.close();
  }
});

Deno.test("every way a read can fail becomes one line, never a stack trace", async () => {
  const failures: [Error, RegExp][] = [
    [new Deno.errors.ConnectionReset("os error 104"), /the connection was reset$/],
    [new Deno.errors.BrokenPipe("Broken pipe (os error 32)"), /the connection broke$/],
    [new Deno.errors.NotConnected("os error 107"), /no longer connected$/],
    [new Deno.errors.Interrupted("operation canceled"), /interrupted$/],
    [new Deno.errors.UnexpectedEof("peer closed connection without close_notify"), /TLS/],
    [new Deno.errors.InvalidData("received corrupt message"), /not valid TLS$/],
    [new TypeError("something\nodd (os error 5)"), /: something odd$/],
  ];
  for (const [error, pattern] of failures) {
    const conn = { read: () => Promise.reject(error) };
    const reading = readServerFrames(conn, { target: "h:1" }).next();
    await assert.rejects(reading, (e: unknown) => {
      assert.ok(e instanceof ClientError, `${error.name} became a ClientError`);
      assert.match(e.message, /^lost the connection to h:1: /);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
  // The connection ends in the middle of a frame.
  const chunks = [encoder.encode('{"type":"info","text":"cut sh')];
  const cut = { read: (b: Uint8Array) => Promise.resolve(chunks.length ? put(b, chunks) : null) };
  await assert.rejects(
    readServerFrames(cut, { target: "h:1" }).next(),
    /lost the connection to h:1: it ended in the middle of a frame/,
  );
});

function put(buffer: Uint8Array, chunks: Uint8Array[]): number {
  const chunk = chunks.shift() as Uint8Array;
  buffer.set(chunk);
  return chunk.length;
}

/**
 * A TLS server behind a plain TCP relay that can misbehave below TLS: cut the TCP connection
 * without a TLS close_notify, or slip in bytes that are not TLS.
 */
class TlsMischief {
  readonly #backend: Deno.TlsListener;
  readonly #relay: Deno.TcpListener;
  #front: Deno.Conn | null = null;
  readonly #conns: Deno.Conn[] = [];
  readonly #pumps: Promise<void>[] = [];

  constructor(cert: { cert: string; key: string }) {
    this.#backend = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...cert });
    this.#relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  }

  get port(): number {
    return this.#relay.addr.port;
  }

  /** Relays the next client to the TLS server; resolves to the server's side, hello read. */
  async accept(): Promise<LineSocket> {
    const front = await within(this.#relay.accept(), "a client to connect", 20_000);
    const back = await Deno.connect({ hostname: "127.0.0.1", port: this.#backend.addr.port });
    this.#front = front;
    this.#conns.push(front, back);
    this.#pumps.push(relay(front, back), relay(back, front));
    const tls = await this.#backend.accept();
    this.#conns.push(tls);
    const peer = new LineSocket(tls);
    await peer.readLine("the hello", 20_000);
    return peer;
  }

  /** Closes the client's TCP connection under TLS: no close_notify. */
  cut(): void {
    this.#front?.close();
  }

  /** Sends the client a TLS record that cannot be decrypted. */
  async garble(): Promise<void> {
    await this.#front?.write(new Uint8Array([0x17, 3, 3, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]));
  }

  async close(): Promise<void> {
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await Promise.all(this.#pumps);
    this.#backend.close();
    this.#relay.close();
  }
}

/** Copies bytes from one socket to the other until either ends. */
async function relay(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const n = await from.read(buffer);
      if (n === null) return;
      let offset = 0;
      while (offset < n) offset += await to.write(buffer.subarray(offset, n));
    }
  } catch {
    // one side closed: the relay is done
  }
}

Deno.test("TLS trouble mid-session (no close_notify, undecryptable data) is one line, exit 1", async () => {
  const pki = await makeTestPki();
  const server = new TlsMischief(pki.leaf);
  try {
    for (
      const [mischief, words] of [["cut", "it ended without a TLS goodbye"], [
        "garble",
        "the server sent data that is not valid TLS",
      ]]
    ) {
      const join = new Join(server.port, ["--ca", pki.ca.certFile, "--no-reconnect"], "localhost");
      try {
        const peer = await server.accept();
        await peer.write(JSON.stringify(welcome("bot")) + "\n");
        await join.until("the welcome", (line) => line.includes("Welcome to sockchat"));
        if (mischief === "cut") server.cut();
        else await server.garble();
        const { code, stderr } = await join.finish();
        assert.equal(code, 1, stderr);
        assertOneLine(
          stderr,
          new RegExp(`^sockchat: lost the connection to localhost:\\d+: ${words}$`),
        );
      } finally {
        await join.dispose();
      }
    }
  } finally {
    await server.close();
    await pki.remove();
  }
});

// --- Finding 13: frames that break the protocol ----------------------------------------------

Deno.test("malformed frames are skipped with one warning, and the client carries on", async () => {
  const server = await FakeServer.start();
  const join = new Join(server.port, ["--no-reconnect"]);
  try {
    const { peer } = await server.accept();
    const hostile = [
      msg(1, "from nobody", { from: null }),
      { ...msg(2, ""), text: 42 },
      { type: "welcome", v: 1, nick: "bot", server: "x", limits: { maxFrame: 1, maxUsers: 1 } },
      { type: "joined", room: "#x" },
      { type: "who", room: "#lobby", members: "everyone" },
      { type: "rooms", rooms: [null] },
      { type: "leave", room: 5, nick: "carol", reason: "quit", ts: 0 },
      { type: "leave", room: "#lobby", nick: "carol", reason: "toString", ts: 0 },
      { type: "topic", room: "#lobby" },
      { type: "nick", old: 1, new: [], ts: 0 },
      { type: "gap", room: "#lobby", missed: "many" },
      { type: "ping" },
      { type: "error" },
      { type: "bye", reason: "shutdown" },
      { type: "dm", id: 1, from: {}, to: "bot", text: "x", ts: 0 },
      { type: "ack", id: 1, room: null, ts: 0 },
      { type: "info", text: null },
      { type: "joined", room: "#x", topic: "t".repeat(301), members: [] },
      { type: "join", room: "#lobby", nick: "x".repeat(33), ts: 0 },
      { type: "msg", id: -1, room: "#lobby", from: "carol", text: "x", ts: 0 },
      { type: "no such type" },
      "[1,2,3]\n",
      "not json at all\n",
      '{"type":"info",\n',
      new Uint8Array([0xff, 0xfe, 0x0a]),
    ];
    await peer.send(welcome("bot"), ...hostile, msg(3, "still alive"));
    await join.until("the valid message after them", (line) => line.includes("still alive"));
    peer.socket.end();
    const { code, stdout, stderr } = await join.finish();
    assert.equal(code, 1);
    assertOneLine(stderr, /^sockchat: lost the connection to 127\.0\.0\.1:\d+$/);
    const all = [...join.lines, ...stdout.split("\n")];
    const warnings = all.filter((line) => line.includes("breaks the protocol"));
    assert.equal(warnings.length, 1, all.join("\n"));
    assert.match(warnings[0], /^! Ignored a "msg" frame without "from" as a nick from the server/);
    assert.ok(
      all.includes(`! Ignored ${hostile.length} frames from the server that broke the protocol.`),
      all.join("\n"),
    );
    assert.ok(!all.some((line) => line.includes("from nobody")));
  } finally {
    await join.dispose();
    await server.close();
  }
});

Deno.test("a welcome without rooms refuses the login in one line", async () => {
  const server = await FakeServer.start();
  const join = new Join(server.port, []);
  try {
    const { peer } = await server.accept();
    const { rooms: _, ...broken } = welcome("bot") as Extract<ServerFrame, { type: "welcome" }>;
    await peer.send(broken);
    const { code, stderr } = await join.finish();
    assert.equal(code, 1);
    assertOneLine(
      stderr,
      /^sockchat: the server answered the login with a "welcome" frame without "rooms" as a list$/,
    );
  } finally {
    await join.dispose();
    await server.close();
  }
});

Deno.test("a refusal's wording reaches stderr without its escape sequences", async () => {
  const server = await FakeServer.start();
  const join = new Join(server.port, []);
  try {
    const { peer } = await server.accept();
    await peer.send({
      type: "error",
      code: "banned",
      message: "You are banned\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e.",
      fatal: true,
    });
    const { code, stderr } = await join.finish();
    assert.equal(code, 1);
    assertOneLine(stderr, /^sockchat: You are banned\.$/);
  } finally {
    await join.dispose();
    await server.close();
  }
});

Deno.test("frame checks: every field is typed, names and topics within the protocol's limits", () => {
  const ok = (value: unknown) => parseServerFrame(value).ok;
  assert.ok(ok(msg(1, "hi")));
  assert.ok(ok({ type: "ack", id: 3, room: "", ts: 0, to: "bob", ref: "1" }), "a dm's ack");
  assert.ok(!ok({ type: "ack", id: 3, room: "", ts: 0, ref: "1" }), "no room and no recipient");
  assert.ok(ok({ type: "topic", room: "#a", topic: "t".repeat(300), by: "", ts: 0 }));
  assert.ok(!ok({ type: "topic", room: "#a", topic: "t".repeat(301), by: "", ts: 0 }));
  assert.ok(ok({ type: "join", room: `#${"r".repeat(32)}`, nick: "n".repeat(32), ts: 0 }));
  assert.ok(!ok({ type: "join", room: `#${"r".repeat(33)}`, nick: "n", ts: 0 }));
  assert.ok(!ok({ type: "join", room: "#r", nick: "n".repeat(33), ts: 0 }));
  assert.ok(!ok({ type: "join", room: "#r", nick: "a\u202eb", ts: 0 }), "no bidi in nicks");
  assert.ok(ok({ type: "info", text: "x", ref: "r".repeat(64) }));
  assert.deepEqual(parseServerFrame({ type: "info", room: "#a", text: "* 250 joined #a" }), {
    ok: true,
    frame: { type: "info", text: "* 250 joined #a", room: "#a" },
  });
  assert.ok(!ok({ type: "info", room: 7, text: "x" }));
  assert.ok(!ok({ type: "info", text: "x", ref: "r".repeat(65) }));
  assert.ok(!ok({ type: "error", code: "constructor", message: "x" }), "only the protocol's codes");
  const rooms = (n: number) => welcomeWith(n);
  assert.ok(ok(rooms(MAX_JOINED_ROOMS)));
  assert.ok(!ok(rooms(MAX_JOINED_ROOMS + 1)));
  // Unknown fields are dropped, so nothing unchecked travels further.
  const checked = parseServerFrame({ type: "info", text: "x", extra: "y".repeat(1000) });
  assert.deepEqual(checked, { ok: true, frame: { type: "info", text: "x" } });
});

Deno.test("frame checks: welcome and joined carry a member count, at least the page they list", () => {
  const joined = (extra: Record<string, unknown>) =>
    parseServerFrame({ type: "joined", room: "#a", topic: "", members: ["bot", "x"], ...extra });
  assert.deepEqual(joined({ count: 5000 }), {
    ok: true,
    frame: { type: "joined", room: "#a", topic: "", members: ["bot", "x"], count: 5000 },
  });
  // A server from before the count lists everyone: the list is the count.
  assert.deepEqual(joined({}), {
    ok: true,
    frame: { type: "joined", room: "#a", topic: "", members: ["bot", "x"], count: 2 },
  });
  assert.ok(!joined({ count: 1 }).ok, "fewer than it lists");
  assert.ok(!joined({ count: "many" }).ok);
  const big = { room: "#lobby", topic: "", members: ["bot"], count: 4000 };
  const checked = parseServerFrame({ ...(welcome("bot") as object), rooms: [big] });
  assert.ok(checked.ok && checked.frame.type === "welcome");
  assert.equal(checked.frame.rooms[0].count, 4000);
});

function welcomeWith(rooms: number): unknown {
  return welcome("bot", Array.from({ length: rooms }, (_, i) => `#r${i}`));
}

// --- Finding 13: caps on what the client keeps -----------------------------------------------

Deno.test("360,000 joined rooms: the client remembers a bounded number and stays small", async () => {
  const server = await FakeServer.start();
  const join = new Join(server.port, ["--no-reconnect"]);
  try {
    const { peer } = await server.accept();
    await peer.send(welcome("bot"), msg(1, "ready"));
    await join.until("the first message", (line) => line.includes("ready"));
    const before = await residentKiB(join.child.pid);
    // Read its output all along: a client blocked on a full stdout pipe stops reading frames.
    const done = join.until("the last message", (line) => line.includes("done"));
    const total = 360_000;
    const batch = 10_000;
    const members = (i: number) => Array.from({ length: 8 }, (_, m) => `"m${i}x${m}"`).join(",");
    await within(
      (async () => {
        for (let start = 0; start < total; start += batch) {
          let chunk = "";
          for (let i = start; i < start + batch; i++) {
            chunk += `{"type":"joined","room":"#room${i}","topic":"","members":[${members(i)}]}\n`;
          }
          await peer.send(chunk);
        }
        await peer.send(msg(2, "done"));
      })(),
      "the client to take every frame",
      30_000,
    );
    await done;
    const grownMiB = ((await residentKiB(join.child.pid)) - before) / 1024;
    peer.socket.end();
    const { stdout } = await join.finish();
    const all = [...join.lines, ...stdout.split("\n")];
    assert.ok(grownMiB < 200, `the client grew by ${Math.round(grownMiB)} MiB`);
    // The lobby was one of the rooms; the rest up to the cap were remembered and shown.
    assert.equal(all.filter((l) => l.startsWith("* You are now in")).length, MAX_JOINED_ROOMS - 1);
  } finally {
    await join.dispose();
    await server.close();
  }
});

/** The resident memory of process `pid`, in KiB (from ps: /proc needs more permissions). */
async function residentKiB(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test("room state caps rooms, members, listed rooms and resume marks at their limits", () => {
  const state = new RoomState("bot");
  state.apply({ ...(welcome("bot") as Extract<ServerFrame, { type: "welcome" }>) });
  for (let i = 1; i < MAX_JOINED_ROOMS; i++) {
    assert.equal(
      state.apply({ type: "joined", room: `#r${i}`, topic: "", members: [], count: 0 }),
      null,
    );
  }
  assert.equal(state.rooms.length, MAX_JOINED_ROOMS);
  const refused = state.apply({
    type: "joined",
    room: "#onemore",
    topic: "",
    members: [],
    count: 0,
  });
  assert.match(refused ?? "", /more rooms than one user may be in/);
  assert.equal(state.rooms.length, MAX_JOINED_ROOMS);
  // Rejoining a room we are in is not a new room.
  assert.equal(
    state.apply({ type: "joined", room: "#r1", topic: "", members: [], count: 0 }),
    null,
  );

  const many = Array.from({ length: MAX_MEMBERS_PER_ROOM + 10 }, (_, i) => `n${i}`);
  state.apply({ type: "who", room: "#lobby", members: many });
  const lobby = () => state.rooms.find((r) => r.name === "#lobby");
  assert.equal(lobby()?.members.size, MAX_MEMBERS_PER_ROOM);
  state.apply({ type: "join", room: "#lobby", nick: "late", ts: 0 });
  assert.equal(lobby()?.members.size, MAX_MEMBERS_PER_ROOM);
  assert.ok(!lobby()?.members.has("late"));
  state.apply({ type: "joined", room: "#r2", topic: "", members: many, count: many.length });
  assert.equal(state.rooms.find((r) => r.name === "#r2")?.members.size, MAX_MEMBERS_PER_ROOM);

  const listed = Array.from({ length: MAX_LISTED_ROOMS + 5 }, (_, i) => ({
    room: `#x${i}`,
    members: 1,
    topic: "",
  }));
  state.apply({ type: "rooms", rooms: listed });
  assert.equal(state.roomNames().filter((r) => r.startsWith("#x")).length, MAX_LISTED_ROOMS);

  // Speakers are remembered for completion, the oldest forgotten first.
  const fresh = new RoomState("bot");
  for (let i = 0; i <= MAX_REMEMBERED_SPEAKERS; i++) {
    fresh.apply({ type: "dm", id: i, from: `s${i}`, to: "bot", text: "x", ts: 0 });
  }
  assert.equal(fresh.nicks().length, MAX_REMEMBERED_SPEAKERS);
  assert.ok(!fresh.nicks().includes("s0"));

  // Messages in rooms we are not in leave no mark behind.
  for (let i = 0; i < 1000; i++) state.apply({ ...msg(i, "x"), room: `#elsewhere${i}` });
  assert.equal(state.lastSeen("#elsewhere1"), undefined);
  assert.equal(Object.keys(state.resume()).length, MAX_JOINED_ROOMS);
});

Deno.test("--json escapes C1 controls and bidi characters, and still parses to the same text", async () => {
  const evil = "\u009b31mred\u0085 \u202eevil\u202c \u2066iso\u2069 \u200e\u200f\u061c \u007f";
  const server = await FakeServer.start();
  const join = new Join(server.port, ["--json", "--no-reconnect"]);
  try {
    const { peer } = await server.accept();
    await peer.send(welcome("bot"), msg(1, evil), { type: "info", text: `topic ${evil}` });
    const line = await join.until("the info", (l) => l.includes('"info"'));
    const message = join.lines.find((l) => l.includes('"msg"')) ?? "";
    for (const out of [message, line]) {
      assert.doesNotMatch(out, /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
      assert.ok(out.includes("\\u009b31mred\\u0085 \\u202eevil\\u202c"), out);
    }
    assert.equal(JSON.parse(message).text, evil);
    assert.equal(JSON.parse(line).text, `topic ${evil}`);
    assert.equal(jsonLine({ a: "\\\u009b" }), '{"a":"\\\\\\u009b"}', "after an escaped backslash");
    peer.socket.end();
    await join.finish();
  } finally {
    await join.dispose();
    await server.close();
  }
});

// --- A server that lies ----------------------------------------------------------------------

Deno.test("a lying server: unknown refs, ids going back, then a line that never ends", async () => {
  const server = await FakeServer.start();
  const join = new Join(server.port, ["--no-reconnect"]);
  try {
    const { peer } = await server.accept();
    await peer.send(
      welcome("bot"),
      { type: "ack", id: 7, room: "#lobby", ts: 0, ref: "999" },
      { type: "ack", id: 8, room: "#lobby", ts: 0, ref: "not ours" },
      msg(10, "ten"),
      msg(3, "three"),
      { type: "ack", id: "7", room: { evil: true }, ts: 0 },
      msg(4, "four"),
    );
    await join.until("the message after the lies", (line) => line.includes("four"));
    // A line with no end: the client gives up at its cap instead of holding it all.
    const mib = "x".repeat(1024 * 1024);
    await peer.send('{"type":"info","text":"');
    for (let i = 0; i < 6; i++) await peer.send(mib);
    const { code, stderr } = await join.finish();
    assert.equal(code, 1);
    assertOneLine(
      stderr,
      new RegExp(
        `^sockchat: 127\\.0\\.0\\.1:\\d+ sent a frame longer than ${CLIENT_MAX_FRAME_BYTES} ` +
          "bytes; closed the connection$",
      ),
    );
  } finally {
    await join.dispose();
    await server.close();
  }
});

Deno.test("a frame of exactly the client's cap is read; one byte more ends the connection", async () => {
  const frameOf = (bytes: number) => {
    const head = '{"type":"info","text":"';
    const tail = '"}';
    return encoder.encode(head + "x".repeat(bytes - head.length - tail.length) + tail + "\n");
  };
  const source = (bytes: Uint8Array) => {
    let offset = 0;
    return {
      read(buffer: Uint8Array): Promise<number | null> {
        if (offset >= bytes.length) return Promise.resolve(null);
        const n = Math.min(buffer.length, bytes.length - offset);
        buffer.set(bytes.subarray(offset, offset + n));
        offset += n;
        return Promise.resolve(n);
      },
    };
  };
  const exact = await readServerFrames(source(frameOf(CLIENT_MAX_FRAME_BYTES)), { target: "h:1" })
    .next();
  assert.equal(exact.value?.kind, "frame");
  await assert.rejects(
    readServerFrames(source(frameOf(CLIENT_MAX_FRAME_BYTES + 1)), { target: "h:1" }).next(),
    /h:1 sent a frame longer than/,
  );
});

Deno.test("a server that greets and then says nothing: the login gives up at its timeout", async () => {
  const server = await FakeServer.start();
  try {
    const connecting = ChatClient.connect({
      host: "127.0.0.1",
      port: server.port,
      nick: "bot",
      loginTimeoutMs: 200,
    });
    const { peer } = await server.accept();
    await peer.send("* Welcome to sockchat. Type a nickname and press Enter.\n".repeat(1000));
    await assert.rejects(
      within(connecting, "the login to give up"),
      /^ClientError: the server did not answer the login within 0\.2 s$/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("a server that never answers: the client remembers at most so many requests", async () => {
  const server = await FakeServer.start();
  try {
    const connecting = ChatClient.connect({ host: "127.0.0.1", port: server.port, nick: "bot" });
    const { peer } = await server.accept();
    await peer.send(welcome("bot"));
    const client = await connecting;
    for (let i = 0; i < MAX_UNANSWERED + 5; i++) client.send(`m${i}`);
    assert.equal(client.pendingCount, MAX_UNANSWERED);
    assert.equal(client.unanswered()[0].text, "m5", "the oldest are forgotten first");
    client.close();
  } finally {
    await server.close();
  }
});

Deno.test("a server that stops reading: the client drops the connection instead of growing", async () => {
  const server = await FakeServer.start();
  try {
    const connecting = ChatClient.connect({ host: "127.0.0.1", port: server.port, nick: "bot" });
    const { peer } = await server.accept();
    peer.socket.pause();
    await peer.send(welcome("bot"));
    const client = await connecting;
    const frames = client.frames();
    const big = "x".repeat(64 * 1024);
    for (let i = 0; i * big.length <= 2 * MAX_UNSENT_BYTES; i++) client.send(big);
    await assert.rejects(
      within(frames.next(), "the connection to end"),
      (e: unknown) => e instanceof ClientError && /stopped reading/.test(e.message),
    );
    client.close();
  } finally {
    await server.close();
  }
});

/** A front end that keeps what it is given, for driving a {@linkcode Session} directly. */
class QuietUi implements ClientUi {
  readonly printed: string[] = [];
  print(text: string): void {
    this.printed.push(text);
  }
  fail(text: string): void {
    this.printed.push(text);
  }
  setStatus(): void {}
  setPending(): void {}
  async *inputs(): AsyncGenerator<string> {}
  close(): void {}
}

Deno.test("a server slow to read slows piped input down before the client gives up on it", async () => {
  const server = await FakeServer.start();
  try {
    const connecting = ChatClient.connect({ host: "127.0.0.1", port: server.port, nick: "bot" });
    const { peer } = await server.accept();
    peer.socket.pause();
    await peer.send(welcome("bot"));
    const client = await connecting;
    const state = new RoomState("bot");
    const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
    const session = new Session({
      ui: new QuietUi(),
      state,
      renderer,
      json: false,
      showOwn: false,
      target: server.target,
    });
    session.attach(client, false);
    const big = "x".repeat(64 * 1024);
    let submitted: "quit" | "ok" | Promise<void> = "ok";
    for (let sent = 0; submitted === "ok" && sent * big.length < 2 * MAX_UNSENT_BYTES; sent++) {
      submitted = session.submit(big);
    }
    assert.ok(submitted instanceof Promise, "input is told to wait");
    assert.ok(client.unsentBytes > MAX_UNSENT_BYTES / 2 && client.unsentBytes < MAX_UNSENT_BYTES);
    // The server reads again: the wait ends, and nothing was dropped.
    peer.socket.resume();
    await within(submitted, "the backlog to drain", 20_000);
    assert.equal(client.unsentBytes, 0);
    client.close();
  } finally {
    await server.close();
  }
});

// --- What the client reads from its own input ------------------------------------------------

Deno.test("piped input: a line or a message past the cap is dropped with a warning", async () => {
  const warnings: string[] = [];
  const stream = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        // In pieces, as a pipe delivers it.
        const bytes = encoder.encode(text);
        for (let i = 0; i < bytes.length; i += 65536) controller.enqueue(bytes.slice(i, i + 65536));
        controller.close();
      },
    });
  const longest = "a".repeat(MAX_INPUT_CHARS);
  const input = [
    longest,
    "b".repeat(MAX_INPUT_CHARS + 1), // one line past the cap
    "after",
    "c\\",
    `${"x".repeat(MAX_INPUT_CHARS - 1)}\\`, // a line within it, but the message is one past
    "d",
    "e",
  ].join("\n");
  const ui = new PipedUi({ input: stream(input), error: (line) => warnings.push(line) });
  const got: string[] = [];
  for await (const text of ui.inputs()) got.push(text);
  ui.close();
  assert.deepEqual(got.map((t) => t.length > 20 ? `${t[0]}×${t.length}` : t), [
    `a×${MAX_INPUT_CHARS}`,
    "after",
    "e",
  ]);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /Dropped a message longer than/);

  const buffer = new MultilineBuffer({ maxChars: 5 });
  assert.equal(buffer.push("ab\\"), null);
  assert.equal(buffer.push("cd"), "ab\ncd", "exactly the cap, counting the newline");
  assert.equal(buffer.push("ab\\"), null);
  assert.equal(buffer.push("cde"), null, "one past it");
  assert.equal(buffer.push("ok"), "ok");
});

Deno.test("piped input that fails to read ends the input with one line, not a crash", async () => {
  const warnings: string[] = [];
  let sent = false;
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(encoder.encode("first\n"));
      } else controller.error(new Deno.errors.ConnectionReset("os error 104"));
    },
  });
  const ui = new PipedUi({ input, error: (line) => warnings.push(line) });
  const got: string[] = [];
  for await (const text of ui.inputs()) got.push(text);
  ui.close();
  assert.deepEqual(got, ["first"]);
  assert.deepEqual(warnings, ["sockchat: stopped reading input: os error 104"]);
});
