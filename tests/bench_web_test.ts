import assert from "node:assert/strict";
import {
  controlFrame,
  handshakeEnd,
  handshakeRequest,
  textFrames,
  WS_OPCODE,
  WsFrameReader,
} from "../bench/loadgen/ws_frames.ts";

// The load generator's WebSocket client (bench/loadgen/ws_frames.ts) stands in for browsers on
// the web port. If it misread a frame, the WebSocket scenarios would count losses that are not
// the server's, or none that are; these tests hold it to Deno's own WebSocket server.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server frame (unmasked, FIN) of `opcode` carrying `payload`. */
function serverFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const header = n < 126
    ? [0x80 | opcode, n]
    : n <= 0xffff
    ? [0x80 | opcode, 126, n >>> 8, n & 0xff]
    : [
      0x80 | opcode,
      127,
      0,
      0,
      0,
      0,
      (n >>> 24) & 0xff,
      (n >>> 16) & 0xff,
      (n >>> 8) & 0xff,
      n & 0xff,
    ];
  const out = new Uint8Array(header.length + n);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, p) => total + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Every frame `reader` hands over, as [opcode, payload text]. */
function collect(): { reader: WsFrameReader; seen: [number, string][] } {
  const seen: [number, string][] = [];
  const reader = new WsFrameReader((opcode, buf, start, end) => {
    seen.push([opcode, decoder.decode(buf.subarray(start, end))]);
  });
  return { reader, seen };
}

Deno.test("the bench's WebSocket reader finds every message wherever the reads cut the stream", () => {
  // Lengths on each side of the 7-bit, 16-bit and 64-bit length forms, and a ping between.
  const texts = ["", "a", "x".repeat(125), "y".repeat(126), "z".repeat(300), "w".repeat(70_000)];
  const expected: [number, string][] = texts.map((t) => [WS_OPCODE.text, t]);
  expected.splice(2, 0, [WS_OPCODE.ping, "p1"]);
  const stream = concat(expected.map(([op, t]) => serverFrame(op, encoder.encode(t))));
  // One cut at every position (the long frame's payload is skipped past quickly).
  for (let cut = 0; cut <= stream.length; cut += cut < 1000 ? 1 : 997) {
    const { reader, seen } = collect();
    reader.push(stream.subarray(0, cut));
    reader.push(stream.subarray(cut));
    assert.deepEqual(seen, expected, `cut at ${cut}`);
  }
  // And a byte at a time through the headers of the first frames.
  const { reader, seen } = collect();
  for (let i = 0; i < 2000; i++) reader.push(stream.subarray(i, i + 1));
  reader.push(stream.subarray(2000));
  assert.deepEqual(seen, expected);
});

Deno.test("the bench's WebSocket reader refuses a fragmented message instead of misreading it", () => {
  const { reader } = collect();
  const first = serverFrame(WS_OPCODE.text, encoder.encode("half"));
  first[0] &= 0x7f; // FIN cleared
  assert.throws(() => reader.push(first), /fragmented/);
});

Deno.test("the bench's WebSocket client is understood by Deno's WebSocket server", async () => {
  const received: string[] = [];
  const allIn = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  const long = "L".repeat(70_000);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => {
      received.push(String(event.data));
      if (received.length === 3) {
        socket.send("short");
        socket.send(long);
        allIn.resolve();
      }
    };
    socket.onclose = () => closed.resolve();
    return response;
  });
  const { port } = server.addr;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(handshakeRequest("127.0.0.1", port));
    const buf = new Uint8Array(128 * 1024);
    let n = 0;
    let end = -1;
    while (end === -1) {
      const got = await conn.read(buf.subarray(n));
      assert.ok(got !== null, "closed during the handshake");
      n += got;
      end = handshakeEnd(buf, n);
    }
    // Three NDJSON lines in one write, the last one 300 bytes (a 16-bit length).
    const lines = `{"type":"hello"}\n{"a":1}\n${"m".repeat(300)}\n`;
    await conn.write(textFrames(encoder.encode(lines)));
    await allIn.promise;
    assert.deepEqual(received, ['{"type":"hello"}', '{"a":1}', "m".repeat(300)]);

    const { reader, seen } = collect();
    reader.push(buf.subarray(end, n));
    while (seen.length < 2) {
      const got = await conn.read(buf);
      assert.ok(got !== null, "closed before both messages arrived");
      reader.push(buf.subarray(0, got));
    }
    assert.deepEqual(seen, [[WS_OPCODE.text, "short"], [WS_OPCODE.text, long]]);

    await conn.write(controlFrame(WS_OPCODE.close, new Uint8Array([0x03, 0xe8])));
    await closed.promise;
  } finally {
    conn.close();
    await server.shutdown();
  }
});

Deno.test("the web port refusing the upgrade is an error that says so", () => {
  const response = encoder.encode("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
  assert.throws(() => handshakeEnd(response, response.length), /refused the WebSocket: .*403/);
  assert.equal(handshakeEnd(response, 10), -1);
});
