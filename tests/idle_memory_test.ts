/**
 * Issue 11 item 3: nothing per connection that an idle one does not need. These pin down the
 * shapes that make that so (lazily made collections, a writer and a reader that park no
 * promise or generator of their own); the bench's idle scenario measures what they buy.
 */
import assert from "node:assert/strict";
import { OutboundQueue } from "../transport/outbound_queue.ts";
import { SocketReader } from "../transport/socket_reader.ts";
import { User } from "../core/user.ts";
import type { PeerSink } from "../core/ports.ts";

const sink = { deliver() {}, close() {} } as unknown as PeerSink;

Deno.test("idle: users nobody ignores share one empty ignoredBy until someone ignores them", () => {
  const alice = new User("alice", sink);
  const bob = new User("bob", sink);
  const carol = new User("carol", sink);
  assert.equal(alice.ignoredBy, bob.ignoredBy, "no set of their own while nobody ignores them");
  assert.ok(alice.ignores.isEmpty);
  assert.ok(!alice.ignores.has(bob));
  alice.ignores.addUser(bob);
  assert.notEqual(bob.ignoredBy, carol.ignoredBy, "bob has a set of his own now");
  assert.deepEqual([...bob.ignoredBy], [alice]);
  assert.equal(carol.ignoredBy.size, 0, "the shared empty set was not written to");
  assert.ok(alice.ignores.has(bob));
  alice.ignores.clear();
  assert.equal(bob.ignoredBy.size, 0);
  assert.ok(alice.ignores.isEmpty);
  carol.ignoredBy.clear(); // what a logout does; harmless on the shared set
  assert.equal(alice.ignores.size, 0);
});

Deno.test("idle: the queue writes to the socket itself, over partial writes, and says when it stopped", async () => {
  const q = new OutboundQueue({ cap: 100, burstFactor: 4, graceMs: 500 });
  const taken: number[] = [];
  const conn = {
    write(p: Uint8Array): Promise<number> {
      const n = Math.min(3, p.length); // a socket that takes a little at a time
      taken.push(...p.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  const failures: unknown[] = [];
  q.start(conn, (error) => failures.push(error));
  q.push(new Uint8Array([1, 2, 3, 4, 5]));
  q.push(new Uint8Array([6, 7, 8, 9]));
  q.end();
  await q.stopped();
  assert.deepEqual(taken, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(q.bytes, 0);
  assert.deepEqual(failures, []);

  const broken = new OutboundQueue({ cap: 100, burstFactor: 4, graceMs: 500 });
  const error = new Error("broken pipe");
  const reported: unknown[] = [];
  broken.start({ write: () => Promise.reject(error) }, (e) => reported.push(e));
  broken.push(new Uint8Array([1]));
  await broken.stopped();
  assert.deepEqual(reported, [error], "a failed write is reported once");
  await broken.stopped(); // and asking again, after the end, resolves at once
});

Deno.test("idle: a reader driven by start/fill/took frames what the socket sends", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  try {
    const reader = new SocketReader(server);
    const first = reader.start(new TextEncoder().encode('{"a":1}\n{"b"'), { maxFrame: 1024 });
    assert.deepEqual(first?.frames.map((f) => f.kind === "frame" && f.bytes.length), [7]);
    assert.equal(first?.more, true, "a frame is still open");
    const read = reader.fill(); // the socket's own promise: nothing wraps it while parked
    await client.write(new TextEncoder().encode(":2}\n"));
    const n = await read;
    assert.ok(n !== null && n > 0);
    const batch = reader.took(n);
    assert.deepEqual(batch?.frames.map((f) => f.kind === "frame" && f.bytes.length), [7]);
    assert.equal(batch?.more, false);
    client.close();
    assert.equal(await reader.fill(), null, "EOF");
  } finally {
    server.close();
    listener.close();
  }
});
