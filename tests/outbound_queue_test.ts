import assert from "node:assert/strict";
import { OutboundQueue, writeAll } from "../transport/outbound_queue.ts";
import { SocketReader } from "../transport/socket_reader.ts";
import { READ_BUFFER_MAX_BYTES, READ_BUFFER_MIN_BYTES } from "../config/limits.ts";
import { JsonClient, testServer } from "./helpers/wire.ts";

const bytes = (n: number) => new Uint8Array(n);

Deno.test("the queue refuses a stalled peer at the cap, and lets a draining one burst to the hard cap", async () => {
  let now = 0;
  const q = new OutboundQueue({ cap: 100, burstFactor: 4, graceMs: 500, now: () => now });
  let release: () => void = () => {};
  const writes: number[] = [];
  q.start({
    write: (b) => {
      writes.push(b.length);
      return new Promise<number>((resolve) => (release = () => resolve(b.length)));
    },
  }, (error) => {
    throw error;
  });
  assert.ok(q.push(bytes(60)));
  await Promise.resolve(); // the writer takes those 60 bytes and blocks
  assert.ok(q.push(bytes(30)));
  // Past the cap while the write just started: a burst, allowed up to 4 x 100.
  assert.ok(q.push(bytes(200)));
  assert.equal(q.bytes, 290);
  assert.ok(!q.push(bytes(200)), "never past the hard cap");
  // The socket takes nothing for longer than the grace period: stalled, refused at the cap.
  now = 600;
  assert.ok(q.stalled);
  assert.ok(!q.push(bytes(1)));
  // Progress makes it a draining peer again.
  q.progress();
  assert.ok(!q.stalled);
  assert.ok(q.push(bytes(1)));
  // Under the cap everything goes, stalled or not.
  release();
  await new Promise((r) => setTimeout(r, 0));
  q.end();
  release();
  await q.stopped();
  assert.deepEqual(writes, [60, 231], "what waited was coalesced into one write");
});

Deno.test("writeAll writes everything even when the socket takes a little at a time", async () => {
  const got: number[] = [];
  let progress = 0;
  const conn = {
    write(p: Uint8Array) {
      const n = Math.min(3, p.length);
      got.push(...p.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  await writeAll(conn, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), () => progress++);
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(progress, 3);
});

Deno.test("the read buffer starts small, grows while reads come back full, shrinks when quiet", async () => {
  const sizes: number[] = [];
  let calls = 0;
  const conn = {
    read(p: Uint8Array) {
      sizes.push(p.length);
      calls++;
      if (calls > 12) return Promise.resolve(null);
      return Promise.resolve(calls <= 6 ? p.length : 1); // busy, then quiet
    },
  };
  const reader = new SocketReader(conn);
  assert.equal(reader.bufferSize, READ_BUFFER_MIN_BYTES);
  while (await reader.read() !== null) { /* drain */ }
  assert.equal(Math.max(...sizes), READ_BUFFER_MAX_BYTES);
  assert.equal(sizes.at(-1), READ_BUFFER_MIN_BYTES, "back to the minimum once quiet");
});

Deno.test("a burst of maximum-size messages from many senders drops no healthy reader", async () => {
  const server = testServer({ flood: null, maxConnsPerIp: 100 });
  const readers = await Promise.all(
    Array.from({ length: 3 }, (_, i) => JsonClient.login(server, `reader${i}`)),
  );
  const senders = await Promise.all(
    Array.from({ length: 12 }, (_, i) => JsonClient.login(server, `sender${i}`)),
  );
  const text = "b".repeat(60_000);
  // 12 x 60 KB land together: 720 KB for every reader, past the 512 KiB cap in one instant.
  await Promise.all(senders.map((s) => s.send({ type: "msg", text })));
  for (const reader of readers) {
    let got = 0;
    while (got < 12) {
      const frame = await reader.next("the burst");
      assert.ok(frame !== null, "reader was disconnected");
      if (frame.type === "leave") assert.fail(`${frame.nick} left: ${frame.reason}`);
      if (frame.type === "msg") got++;
    }
  }
  assert.equal(server.hub.userCount, 15);
  for (const c of [...readers, ...senders]) c.close();
  await server.shutdown();
});
