/**
 * The web front's check of WebSocket frames (security review finding 1): `Deno.upgradeWebSocket`
 * holds a whole message, up to 64 MiB, before `--max-frame` could be applied to it, so the front
 * reads each frame header as it passes and cuts a message at `--max-frame` + 1 bytes. The peer
 * then refuses it as TCP refuses a long frame. Also: the bytes after an upgrade request's head
 * are checked from their first byte (the front holds them until the request is taken), requests
 * still pipeline, and the HTTP/2 preface is refused.
 */

import assert from "node:assert/strict";
import { FrameGuard } from "../transport/ws/frame_guard.ts";
import { RequestHeads } from "../transport/ws/request_heads.ts";
import type { ServerOptions } from "../server.ts";
import { maskedTextFrame, rawUpgrade, webAddr } from "./helpers/web.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";

const WEB = { host: "127.0.0.1", port: 0, origins: [] };
const encoder = new TextEncoder();
const MIB = 1024 * 1024;

function webServer(options: ServerOptions = {}) {
  return testServer({ web: WEB, ...options });
}

/** A client frame header with a zero mask key (the payload then goes as it is). */
function header(opcode: number, fin: boolean, length: number): Uint8Array {
  const size = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const bytes = new Uint8Array(size + 4);
  bytes[0] = (fin ? 0x80 : 0) | opcode;
  const view = new DataView(bytes.buffer);
  if (size === 2) bytes[1] = 0x80 | length;
  else if (size === 4) {
    bytes[1] = 0x80 | 126;
    view.setUint16(2, length);
  } else {
    bytes[1] = 0x80 | 127;
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length % 2 ** 32);
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/** Reads `conn` (as latin1 text) until `done` says so or it ends; fails after the wait. */
async function readUntil(
  conn: Deno.Conn,
  done: (got: string) => boolean,
  what: string,
): Promise<string> {
  let got = "";
  const chunk = new Uint8Array(16 * 1024);
  await within(
    (async () => {
      while (!done(got)) {
        let n: number | null;
        try {
          n = await conn.read(chunk);
        } catch (error) {
          if (error instanceof Deno.errors.ConnectionReset) return;
          throw error;
        }
        if (n === null) return;
        for (let i = 0; i < n; i++) got += String.fromCharCode(chunk[i]);
      }
    })(),
    what,
  );
  return got;
}

/** How many whole responses (head and `content-length` bytes of body) `got` holds. */
function responses(got: string): number {
  let count = 0;
  let at = 0;
  while (true) {
    const end = got.indexOf("\r\n\r\n", at);
    if (end === -1) return count;
    const head = got.slice(at, end);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? "0");
    if (got.length < end + 4 + length) return count;
    count++;
    at = end + 4 + length;
  }
}

/** Until the server's close frame (opcode 8) follows the frame_too_large error. */
function sawTooLarge(got: string): boolean {
  const at = got.indexOf('"code":"frame_too_large"');
  return at !== -1 && got.indexOf("\x88", at) !== -1;
}

Deno.test("web frames: a text frame announcing 60 MiB gets frame_too_large after a few hundred KiB of it, and the private server is handed at most --max-frame + 1 bytes of it", async () => {
  // The front's own count: however much of the 60 MiB comes, what it forwards stays bounded.
  const guard = new FrameGuard(1024);
  const first = guard.feed(header(0x1, true, 60 * MIB));
  assert.equal(first.kind, "too_large");
  const forwarded = first.forward.reduce((n, piece) => n + piece.length, 0);
  assert.ok(forwarded <= 1024 + 1 + 14, `forwarded ${forwarded} bytes`);

  const server = webServer({ maxFrame: 1024, maxLoginsPerMinute: 0 });
  const up = await rawUpgrade(server);
  try {
    assert.equal(up.status, 101);
    await up.conn.write(header(0x1, true, 60 * MIB));
    // 256 KiB of it, no more: the answer must not wait for the other 59.75 MiB.
    const payload = new Uint8Array(64 * 1024).fill(0x61);
    for (let i = 0; i < 4; i++) await up.conn.write(payload);
    const got = await readUntil(up.conn, sawTooLarge, "frame_too_large, then a close");
    assert.ok(sawTooLarge(got), got.slice(0, 300));
    assert.match(got, /"fatal":true/);
  } finally {
    up.conn.close();
    await server.shutdown();
  }
});

Deno.test("web frames: continuation frames that add up past --max-frame get frame_too_large, the message never completed", async () => {
  const guard = new FrameGuard(1024);
  assert.equal(guard.feed(concat(header(0x1, false, 600), new Uint8Array(600))).kind, "pass");
  const over = guard.feed(header(0x0, false, 600));
  assert.equal(over.kind, "too_large");
  // Completed at exactly 1025 bytes: 600 before, 425 in the frame that stands in for this one.
  assert.equal(over.forward.reduce((n, piece) => n + piece.length, 0), 2 + 2 + 4 + 425);

  // Frames no endpoint accepts are not forwarded at all: a control frame over 125 bytes, a
  // reserved opcode, an RSV bit (compression, which the server never negotiates).
  for (const bad of [header(0x9, true, 126), header(0x3, true, 1), header(0x41, true, 1)]) {
    const step = new FrameGuard(1024).feed(bad);
    assert.equal(step.kind, "bad_frame");
    assert.deepEqual(step.forward, []);
  }

  const server = webServer({ maxFrame: 1024, maxLoginsPerMinute: 0 });
  const up = await rawUpgrade(server);
  try {
    assert.equal(up.status, 101);
    // Never a final frame: Deno alone would wait for one, holding every byte so far.
    const piece = new Uint8Array(600).fill(0x62);
    await up.conn.write(concat(header(0x1, false, 600), piece));
    for (let i = 0; i < 200; i++) await up.conn.write(concat(header(0x0, false, 600), piece));
    const got = await readUntil(up.conn, sawTooLarge, "frame_too_large, then a close");
    assert.ok(sawTooLarge(got), got.slice(0, 300));
  } finally {
    up.conn.close();
    await server.shutdown();
  }
});

Deno.test("web frames: the guard forwards a stream of frames within the limit byte for byte, however it is split, in few pieces", () => {
  // A seeded generator: the same frames and cuts on every run.
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 50; round++) {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      const length = [0, 5, 125, 126, 600, 1024][random(6)];
      const control = length <= 125 && random(4) === 0;
      frames.push(concat(header(control ? 0x9 : 0x1, true, length), new Uint8Array(length)));
    }
    const stream = concat(...frames);
    const guard = new FrameGuard(1024);
    const out: Uint8Array[] = [];
    let pieces = 0;
    for (let at = 0; at < stream.length;) {
      const cut = Math.min(stream.length, at + 1 + random(3000));
      const step = guard.feed(stream.subarray(at, cut));
      assert.equal(step.kind, "pass");
      out.push(...step.forward);
      pieces += step.forward.length;
      at = cut;
    }
    assert.deepEqual(concat(...out), stream);
    assert.ok(pieces <= 3 * stream.length / 1000 + 40, `${pieces} pieces`);
  }
});

Deno.test("web frames: a message of exactly --max-frame bytes, one split in fragments, and pings all pass the front", async () => {
  const server = webServer({ maxFrame: 1024, maxLoginsPerMinute: 0 });
  const tcp = await JsonClient.login(server, "tcp");
  const up = await rawUpgrade(server);
  try {
    assert.equal(up.status, 101);
    await up.conn.write(maskedTextFrame(JSON.stringify({ type: "hello", v: 1, nick: "frag" })));
    await tcp.expect("join");
    const prefix = '{"type":"msg","room":"#lobby","text":"';
    const suffix = '"}';
    const exact = prefix + "e".repeat(1024 - prefix.length - suffix.length) + suffix;
    assert.equal(encoder.encode(exact).length, 1024);
    const split = encoder.encode(JSON.stringify({ type: "msg", room: "#lobby", text: "in two" }));
    await up.conn.write(concat(
      maskedTextFrame(exact),
      header(0x9, true, 4),
      encoder.encode("ping"),
      header(0x1, false, 10),
      split.subarray(0, 10),
      header(0x0, true, split.length - 10),
      split.subarray(10),
    ));
    assert.equal((await tcp.expect("msg")).text.length, 1024 - prefix.length - suffix.length);
    assert.equal((await tcp.expect("msg")).text, "in two");
  } finally {
    up.conn.close();
    tcp.close();
    await server.shutdown();
  }
});

Deno.test("web frames: frames sent with the upgrade request in one write are checked from their first byte; pipelined page requests are all answered", async () => {
  const guard = new RequestHeads();
  assert.equal(guard.scan(encoder.encode("GET / HTTP/1.1\nHost: a\n\nrest")), 24);
  const server = webServer({ maxFrame: 1024, maxLoginsPerMinute: 0 });
  const { hostname, port } = webAddr(server);
  const upgrade = [
    "GET /ws HTTP/1.1",
    `Host: ${hostname}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    "",
    "",
  ].join("\r\n");
  const conns: Deno.Conn[] = [];
  const open = async () => {
    const conn = await Deno.connect({ hostname, port });
    conns.push(conn);
    return conn;
  };
  try {
    // A hello right behind the head is still read as a hello.
    const eager = await open();
    await eager.write(concat(
      encoder.encode(upgrade),
      maskedTextFrame(JSON.stringify({ type: "hello", v: 1, nick: "eager" })),
    ));
    assert.match(await readUntil(eager, (got) => got.includes('"welcome"'), "welcome"), /101/);
    // And a 60 MiB header right behind it is seen as one.
    const big = await open();
    await big.write(concat(
      encoder.encode(upgrade),
      header(0x1, true, 60 * MIB),
      new Uint8Array(64 * 1024),
    ));
    assert.ok(sawTooLarge(await readUntil(big, sawTooLarge, "frame_too_large")));
    // Three page requests in one write: three answers.
    const pages = await open();
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`;
    await pages.write(encoder.encode(get("/style.css") + get("/nope") + get("/favicon.svg")));
    const answers = await readUntil(pages, (got) => responses(got) === 3, "three answers");
    assert.deepEqual(answers.match(/HTTP\/1\.1 \d{3}/g), [
      "HTTP/1.1 200",
      "HTTP/1.1 404",
      "HTTP/1.1 200",
    ]);
  } finally {
    for (const conn of conns) conn.close();
    await server.shutdown();
  }
});

Deno.test("web frames: the HTTP/2 preface (h2c with prior knowledge) is refused at once, unanswered", async () => {
  const server = webServer();
  const { hostname, port } = webAddr(server);
  const conn = await Deno.connect({ hostname, port });
  try {
    // The preface and an empty SETTINGS frame, as h2ping.py sends them.
    await conn.write(concat(
      encoder.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0]),
    ));
    const started = performance.now();
    const got = await readUntil(conn, () => false, "the close");
    assert.equal(got, "", "no SETTINGS, no answer at all");
    assert.ok(performance.now() - started < 2_000, "closed at once, not at a deadline");
  } finally {
    conn.close();
    await server.shutdown();
  }
});
