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
