/**
 * Fuzzing a live in-process server: random and mutated frames, in random chunks, over several
 * connections that reconnect whenever the server closes them. Meanwhile two well-behaved
 * clients chat in the same room; every message must arrive, in order.
 */

import assert from "node:assert/strict";
import { createLogger } from "../log/logger.ts";
import { LOBBY } from "../protocol/frames.ts";
import { mulberry32, type Rng, testSeed } from "./helpers/prng.ts";
import { eventually, JsonClient, testServer, within } from "./helpers/wire.ts";

const FUZZERS = 4;
const FRAMES_PER_FUZZER = Number(Deno.env.get("FUZZ_Q") ?? 2_600);
const MAX_FRAME = 16 * 1024;

const encoder = new TextEncoder();
const utf8 = (s: string) => encoder.encode(s);

const NICKS = [
  "fz",
  "Fuzz",
  "ｆｕｚｚ",
  "a\u200bb",
  "x".repeat(40),
  "",
  " ",
  "alice",
  "émile",
  "🦕",
];
const ROOMS = [LOBBY, "#fuzz", "#Fuzz", "#", "#a b", "#" + "r".repeat(40), "lobby", "", "#🦕"];
const COMMANDS = [
  "/join #fuzz",
  "/join #other",
  "/leave #fuzz",
  "/part",
  "/rooms",
  "/who",
  "/topic fuzzing",
  "/topic " + "t".repeat(400),
  "/nick fuzzer",
  "/nick alice",
  "/me fuzzes",
  "/msg alice psst",
  "/msg nobody hi",
  "/history 500",
  "/history -1",
  "/history 99999999999999999999",
  "/help",
  "/ignore bob",
  "/unignore bob",
  "/oper guess",
  "/kick alice",
  "/ban 127.0.0.1",
  "/mute bob 1h",
  "/nosuchcommand",
  "/",
  "//not a command",
];
const JUNK_TEXT = [
  "\ud800",
  "\udfff\ud800",
  "\u202eevil\u202c",
  "\u200b\u200d\ufeff",
  "e" + "\u0301".repeat(500),
  "\x1b[2J\x1b]0;title\x07",
  "\u0000nul",
  "🦕🦖".repeat(50),
  "\r",
  "tab\tand\vvertical",
  "a\\",
  "\\",
];

/** A frame that the server accepts as it is. */
function validFrame(rng: Rng): string {
  switch (rng.int(0, 5)) {
    case 0:
      return JSON.stringify({ type: "hello", v: 1, nick: rng.pick(NICKS) + rng.int(0, 99) });
    case 1:
    case 2:
      return JSON.stringify({
        type: "msg",
        room: rng.pick(ROOMS),
        text: rng.pick(JUNK_TEXT) + " fuzz " + rng.int(0, 1e6),
        ref: rng.chance(0.5) ? `r${rng.int(0, 999)}` : undefined,
      });
    case 3:
      return JSON.stringify({ type: "cmd", line: rng.pick(COMMANDS), room: rng.pick(ROOMS) });
    case 4:
      return JSON.stringify({ type: "pong", token: `p${rng.int(0, 9)}` });
    default:
      // A quit now and then makes the server close the connection on purpose.
      return rng.chance(0.1) ? '{"type":"quit"}' : '{"type":"pong","token":"x"}';
  }
}

/** A frame with the wrong shape: wrong types, huge numbers, deep nesting, bad unicode. */
function malformedFrame(rng: Rng): Uint8Array {
  switch (rng.int(0, 9)) {
    case 0:
      return utf8(rng.pick([
        '{"type":"hello","v":1e999,"nick":"x"}',
        '{"type":"hello","v":1.5,"nick":"x"}',
        '{"type":"hello","v":-1,"nick":"x"}',
        '{"type":"hello","v":18446744073709551617,"nick":"x"}',
        '{"type":"hello","v":"1","nick":"x"}',
        '{"type":"hello","v":1,"nick":"x","resume":{"#lobby":1e308}}',
        '{"type":"hello","v":1,"nick":"x","resume":{"#lobby":-5}}',
        '{"type":"hello","v":1,"nick":"x","resume":[1,2]}',
        '{"type":"hello","v":1,"nick":"x","password":12}',
        '{"type":"msg","text":"x","ref":123456789012345678901234567890}',
        '{"type":"cmd","line":"/history 1e309"}',
      ]));
    case 1: {
      const depth = rng.int(10, 5000);
      return utf8(
        rng.chance(0.5)
          ? "[".repeat(depth) + "]".repeat(depth)
          : '{"type":"msg","text":"deep","x":' + '{"a":'.repeat(depth) + "1" +
            "}".repeat(depth) + "}",
      );
    }
    case 2:
      return utf8(JSON.stringify(rng.pick<unknown>([
        { type: 5 },
        { type: null },
        { type: ["msg"] },
        { type: "msg", text: 42 },
        { type: "msg", text: null },
        { type: "msg", text: "x", room: 7 },
        { type: "cmd", line: 5 },
        { type: "cmd", line: "no slash" },
        { type: "pong" },
        { type: "nope" },
        { type: "msg", text: "x", ref: "r".repeat(100) },
        null,
        [],
        "string",
        12,
        {},
        { type: "__proto__" },
        { __proto__: { type: "msg" } },
      ])));
    case 3:
      // Raw invalid UTF-8: a stray continuation byte, an overlong slash, an encoded surrogate.
      return concat(
        utf8('{"type":"msg","text":"'),
        new Uint8Array(
          rng.pick([[0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]),
        ),
        utf8('"}'),
      );
    case 4:
      return rng.bytes(rng.int(1, 300));
    case 5:
      return utf8(
        JSON.stringify({ type: "msg", text: rng.pick(JUNK_TEXT).repeat(rng.int(1, 20)) }),
      );
    case 6:
      // Plain-text style lines: commands, continuations, a lone CR inside.
      return utf8(rng.pick(COMMANDS) + rng.pick(["", "\r", "\\", " \r x"]));
    case 7:
      return utf8(rng.pick(["", " ", "\r", "{", "}", "{}", "null", "true", '{"type":"msg"']));
    case 8:
      // Longer than the frame limit: the server must close the connection.
      return rng.chance(0.1) ? utf8("z".repeat(MAX_FRAME + rng.int(1, 2048))) : utf8("{}");
    default:
      return utf8(`{"type":"msg","text":"${"\\u0000".repeat(rng.int(1, 100))}"}`);
  }
}

/** A valid frame damaged: bytes flipped, cut short, or a piece repeated. */
function mutatedFrame(rng: Rng): Uint8Array {
  const bytes = utf8(validFrame(rng));
  switch (rng.int(0, 2)) {
    case 0: {
      for (let i = rng.int(1, 4); i > 0; i--) {
        bytes[rng.int(0, bytes.length - 1)] ^= 1 << rng.int(0, 7);
      }
      return bytes;
    }
    case 1:
      return bytes.slice(0, rng.int(0, bytes.length - 1));
    default: {
      const at = rng.int(0, bytes.length - 1);
      return concat(bytes.slice(0, at), bytes.slice(rng.int(0, at)));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function anyFrame(rng: Rng): Uint8Array {
  const roll = rng.next();
  if (roll < 0.35) return utf8(validFrame(rng));
  if (roll < 0.65) return mutatedFrame(rng);
  return malformedFrame(rng);
}

const TERMINATORS = ["\n", "\n", "\n", "\r\n", "\r\r\n", "\n\n"].map(utf8);

/** Fuzzers tick this after every batch the server has handled; bob paces himself by it. */
const progress = {
  next: Promise.withResolvers<void>(),
  tick(): void {
    this.next.resolve();
    this.next = Promise.withResolvers<void>();
  },
};

/** A fuzzing connection's view of what the server sends back. */
class Replies {
  /** The end of what was received, in case a token is split across reads. */
  #tail = "";
  #decoder = new TextDecoder();
  #waiting: { token: string; resolve: () => void } | null = null;
  open = true;

  /** Reads until EOF, (ignoring errors), so that the server's queue for us never fills. */
  async pump(conn: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        const text = this.#tail + this.#decoder.decode(buffer.subarray(0, n), { stream: true });
        if (this.#waiting !== null && text.includes(this.#waiting.token)) {
          this.#tail = "";
          this.#waiting.resolve();
          this.#waiting = null;
        } else {
          this.#tail = text.slice(-256);
        }
      }
    } catch {
      // reset
    }
    this.open = false;
    this.#waiting?.resolve();
  }

  /** Resolves once `token` has been received (or the connection has ended). Call it before
   * sending what provokes the token. */
  until(token: string): Promise<void> {
    if (!this.open) return Promise.resolve();
    this.#tail = "";
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiting = { token, resolve };
    return promise;
  }
}

/**
 * One fuzzing client: sends batches of frames in random chunks until the server has handled
 * `quota` of them, reconnecting whenever the server hangs up. After each batch it sends a
 * command the server echoes, and waits for the echo, so that every counted frame was really
 * read by the server (rather than discarded after it decided to close the connection).
 */
async function fuzz(
  port: number,
  rng: Rng,
  name: string,
  quota: number,
): Promise<{ handled: number; connections: number }> {
  let handled = 0;
  let connections = 0;
  let syncs = 0;
  while (handled < quota) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // Tiny chunks must go out at once, not wait on Nagle for the server's delayed ACK.
    conn.setNoDelay(true);
    connections++;
    const replies = new Replies();
    const pumping = replies.pump(conn);
    const write = async (bytes: Uint8Array) => {
      let offset = 0;
      while (offset < bytes.length) {
        const end = Math.min(bytes.length, offset + rng.pick([1, 2, 7, 64, 1500, 65536]));
        let chunk = bytes.subarray(offset, end);
        while (chunk.length > 0) chunk = chunk.subarray(await conn.write(chunk));
        offset = end;
      }
    };
    // The first byte decides the wire format: "{" for NDJSON, anything else for plain text,
    // whose first line is a nickname.
    const json = rng.chance(0.7);
    const sync = () => {
      const n = ++syncs;
      return json
        ? { line: `{"type":"cmd","line":"/sync${n}","ref":"s${n}"}\n`, token: `"ref":"s${n}"` }
        : { line: `\n/sync${n}\n`, token: `/sync${n}.` };
    };
    try {
      if (json) {
        const first = sync();
        const synced = replies.until(first.token);
        await write(utf8(first.line));
        await synced;
      } else {
        const welcomed = replies.until("/quit leaves.");
        await write(utf8(`${name}_${connections}\n`));
        await welcomed;
      }
      while (replies.open && handled < quota) {
        const count = rng.int(1, 20);
        const parts: Uint8Array[] = [];
        for (let i = 0; i < count; i++) parts.push(anyFrame(rng), rng.pick(TERMINATORS));
        const { line, token } = sync();
        const synced = replies.until(token);
        await write(concat(...parts, utf8(line)));
        await synced;
        if (replies.open) handled += count;
        progress.tick();
        // Now and then hang up on our own, mid-stream.
        if (rng.chance(0.01)) break;
      }
    } catch {
      // The server closed on us while we wrote: reconnect.
    }
    try {
      conn.close();
    } catch {
      // already closed
    }
    await pumping;
  }
  return { handled, connections };
}

Deno.test("fuzzing: random and mutated frames never crash the server or disturb a conversation", async () => {
  const seed = testSeed("fuzz_test");
  const rng = mulberry32(seed);
  // A frame that trips a bug is logged as connection_failed rather than crashing the server.
  const errors: string[] = [];
  const server = testServer({
    flood: null,
    maxConnsPerIp: 1000,
    maxLoginsPerMinute: 0,
    maxFrame: MAX_FRAME,
    logger: createLogger({ level: "error", write: (line) => errors.push(line) }),
  });
  const alice = await JsonClient.login(server, "alice");
  const bob = await JsonClient.login(server, "bob");
  await alice.expect("join");
  try {
    // alice counts bob's messages (ignoring whatever the fuzzers say) until told to stop.
    const heard: string[] = [];
    const listening = (async () => {
      while (true) {
        const frame = await alice.next("frames", 30_000);
        if (frame === null) throw new Error("alice lost her connection");
        if (frame.type === "msg" && frame.from === "bob") {
          if (frame.text === "the end") return;
          heard.push(frame.text);
        }
      }
    })();
    let fuzzing = true;
    const fuzzers = Promise.all(
      Array.from(
        { length: FUZZERS },
        (_, i) => fuzz(server.addr.port, rng.fork(), `fz${i}`, FRAMES_PER_FUZZER),
      ),
    ).finally(() => (fuzzing = false));
    // bob talks, one message per fuzz batch handled, for as long as the fuzzers run.
    let said = 0;
    while (fuzzing) {
      await Promise.race([progress.next.promise, fuzzers]);
      await bob.send({ type: "msg", text: `good ${said}`, ref: `g${said}` });
      while (true) {
        const frame = await bob.next("bob's ack", 30_000);
        if (frame === null) throw new Error("bob lost his connection");
        if (frame.type === "ack" && frame.ref === `g${said}`) break;
      }
      said++;
    }
    const results = await within(fuzzers, "the fuzzers", 60_000);
    const handled = results.reduce((n, one) => n + one.handled, 0);
    const connections = results.reduce((n, one) => n + one.connections, 0);
    await bob.send({ type: "msg", text: "the end" });
    await within(listening, "alice to hear the end", 30_000);
    console.log(
      `fuzz_test: the server handled ${handled} fuzz frames over ${connections} connections; ` +
        `bob said ${said} messages meanwhile`,
    );
    assert.ok(handled >= 10_000, `only ${handled} fuzz frames were handled`);
    assert.deepEqual(errors, [], "no frame made the server fail");
    assert.ok(said > 0, "bob got a word in");
    assert.deepEqual(heard, Array.from({ length: said }, (_, i) => `good ${i}`));

    // The server is intact: only alice and bob are left, and a newcomer can still log in.
    await eventually(() => server.connections.size === 2, "the fuzzers' connections to close");
    // A login that was waiting for the store when its connection ended logs out when it ends.
    await eventually(() => server.hub.userCount === 2, "the fuzzers' logins to end");
    assert.deepEqual(
      [...server.hub.room(LOBBY)?.members ?? []].map((u) => u.nick).sort(),
      ["alice", "bob"],
    );
    const carol = await JsonClient.login(server, "carol");
    carol.close();
  } finally {
    alice.close();
    bob.close();
    await server.shutdown();
  }
});
