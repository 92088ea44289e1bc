import assert from "node:assert/strict";
import { FrameDecoder } from "../protocol/frame_decoder.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function frames(d: FrameDecoder, chunk: string): string[] {
  return d.push(enc(chunk)).map((f) => (f.kind === "frame" ? dec(f.bytes) : `!${f.limit}`));
}

Deno.test("frames split anywhere are reassembled; CRLF and LF both end a frame", () => {
  const d = new FrameDecoder({ maxFrame: 100 });
  assert.deepEqual(frames(d, "ab"), []);
  assert.deepEqual(frames(d, "c\nde"), ["abc"]);
  assert.deepEqual(frames(d, "f\r\ng\n\n"), ["def", "g", ""]);
  assert.equal(d.buffered, 0);
});

Deno.test("a frame exactly at the cap passes; one byte over fails before its newline", () => {
  const d = new FrameDecoder({ maxFrame: 8 });
  assert.deepEqual(frames(d, "12345678\n"), ["12345678"]);
  assert.deepEqual(frames(d, "12345678\r\n"), ["12345678"]);
  assert.deepEqual(frames(d, "1234"), []);
  assert.deepEqual(frames(d, "56789"), ["!8"]);
  assert.ok(d.failed);
  assert.equal(d.buffered, 0, "nothing is kept after failing");
  assert.deepEqual(frames(d, "more\n"), [], "input after a failure is ignored");
});

Deno.test("the decoder never holds more than the cap", () => {
  const d = new FrameDecoder({ maxFrame: 1000 });
  let most = 0;
  for (let i = 0; i < 50 && !d.failed; i++) {
    d.push(enc("x".repeat(97)));
    most = Math.max(most, d.buffered);
  }
  assert.ok(d.failed);
  assert.ok(most <= 1001, `held ${most}`);
});

Deno.test("multi-byte characters split across chunks come out whole", () => {
  const d = new FrameDecoder({ maxFrame: 100 });
  const bytes = enc("🌍é\n");
  const out: string[] = [];
  for (const b of bytes) {
    for (const f of d.push(new Uint8Array([b]))) if (f.kind === "frame") out.push(dec(f.bytes));
  }
  assert.deepEqual(out, ["🌍é"]);
});

Deno.test("a borrowing decoder lends whole frames as views of the chunk, and copies what spans chunks", () => {
  const d = new FrameDecoder({ maxFrame: 64, borrow: true });
  const chunk = enc('{"a":1}\n{"b":2}\n{"c"');
  const first = d.push(chunk);
  assert.equal(first.length, 2);
  for (const f of first) {
    assert.ok(f.kind === "frame" && f.bytes.buffer === chunk.buffer, "a view, not a copy");
  }
  // The next chunk ends the frame begun in the last one and starts another in the tail.
  const second = d.push(enc(':3}\n{"d"'));
  assert.equal(second.length, 1);
  const spanning = second[0];
  assert.ok(spanning.kind === "frame");
  assert.notEqual(spanning.bytes.buffer, chunk.buffer);
  d.push(enc(":4}\n")); // reuses the tail: the frame handed out before must not change
  assert.equal(dec(spanning.bytes), '{"c":3}');
  // Without borrow, every frame is a copy.
  const copying = new FrameDecoder({ maxFrame: 64 });
  const copied = copying.push(chunk)[0];
  assert.ok(copied.kind === "frame" && copied.bytes.buffer !== chunk.buffer);
});
