/**
 * Frame bytes from a shared slab (protocol/slab.ts): right in every script, never overwritten
 * when the slab runs out, and never kept alive for long by a slow reader's queue.
 */

import assert from "node:assert/strict";
import { alloc, isSlabView, utf8 } from "../protocol/slab.ts";
import { concat } from "../protocol/outgoing.ts";
import { NDJSON } from "../protocol/ndjson/encode.ts";
import { OutboundQueue } from "../transport/outbound_queue.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("slab bytes are the string's UTF-8, in any script and at any length", () => {
  for (
    const s of ["", "a", "héllo 👋 مرحبا\n", "x".repeat(511), "y".repeat(512), "z".repeat(513)]
  ) {
    assert.deepEqual(utf8(s), new TextEncoder().encode(s), `${s.length} code units`);
  }
  assert.ok(isSlabView(utf8("short")), "short strings come from the slab");
  assert.ok(!isSlabView(utf8("long".repeat(200))), "long ones get bytes of their own");
});

Deno.test("earlier bytes stay intact when the slab runs out and a new one starts", () => {
  const frames = Array.from({ length: 500 }, (_, i) => ({ type: "ping" as const, token: `t${i}` }));
  const encoded = frames.map((f) => NDJSON.encode(f));
  encoded.forEach((bytes, i) => assert.equal(decode(bytes), JSON.stringify(frames[i]) + "\n"));
  assert.ok(new Set(encoded.map((b) => b.buffer)).size > 1, "several slabs were used");
});

Deno.test("bytes that wait behind a write in progress are copied out of the slab", async () => {
  const q = new OutboundQueue({ cap: 1 << 20, burstFactor: 4, graceMs: 500, now: () => 0 });
  const written: Uint8Array[] = [];
  let release = () => {};
  q.start({
    write: (b) => {
      written.push(b);
      return new Promise<number>((resolve) => (release = () => resolve(b.length)));
    },
  }, (error) => {
    throw error;
  });
  q.push(utf8("first\n"));
  await Promise.resolve(); // the write of "first" is in progress (a stalled socket, say)
  const waiting = utf8("second\n");
  assert.ok(isSlabView(waiting));
  q.push(waiting);
  release();
  await new Promise((resolve) => setTimeout(resolve, 0));
  q.end();
  release();
  await q.stopped();
  assert.equal(written.map(decode).join(""), "first\nsecond\n");
  assert.ok(!isSlabView(written[1]), "what waited holds only its own bytes");
});

Deno.test("short joins come from the slab, long ones get their own buffer, at the boundary", () => {
  assert.ok(isSlabView(alloc(1536)));
  assert.ok(!isSlabView(alloc(1537)));
  const parts = [utf8("ab"), utf8("cd")];
  const joined = concat(parts);
  assert.equal(decode(joined), "abcd");
  assert.ok(isSlabView(joined));
  assert.deepEqual(alloc(8), new Uint8Array(8), "zeroed");
});
