/**
 * The in-process link pair the SSH front end serves each chat over (transport/memory): bounded
 * in each direction with back-pressure, EOF after a half-close, and a close seen by the other end
 * as a socket's would be.
 */

import assert from "node:assert/strict";
import { linkPair } from "../transport/memory/link_pair.ts";
import { within } from "./helpers/wire.ts";

const remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "203.0.113.7", port: 50000 };

Deno.test("memory link: a writer past the capacity waits until the reader takes bytes", async () => {
  const [client, server] = linkPair({ remoteAddr, capacity: 8 });
  assert.equal(await client.write(new Uint8Array(12).fill(1)), 8, "only what fits is taken");
  let second = false;
  const waiting = client.write(new Uint8Array(4).fill(2)).then((n) => {
    second = true;
    return n;
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(second, false, "a full pipe holds the writer");
  const buffer = new Uint8Array(5);
  assert.equal(await server.read(buffer), 5);
  assert.equal(await within(waiting, "the writer to go on"), 4);
  const rest = new Uint8Array(16);
  assert.equal(await server.read(rest), 3);
  assert.deepEqual([...rest.subarray(0, 3)], [1, 1, 1]);
  assert.equal(await server.read(rest), 4);
  assert.deepEqual([...rest.subarray(0, 4)], [2, 2, 2, 2]);
  assert.deepEqual(server.remoteAddr, remoteAddr);
  client.close();
  server.close();
});

Deno.test("memory link: closeWrite gives EOF after the data; close ends the peer's reads and fails its writes", async () => {
  const [client, server] = linkPair({ remoteAddr });
  await client.write(new TextEncoder().encode("bye"));
  await client.closeWrite();
  const buffer = new Uint8Array(8);
  assert.equal(await server.read(buffer), 3);
  assert.equal(await server.read(buffer), null);
  // The other direction still works after a half-close.
  await server.write(new TextEncoder().encode("ok"));
  assert.equal(await client.read(buffer), 2);

  const pending = client.read(buffer);
  server.close();
  assert.equal(await within(pending, "the pending read to end"), null);
  await assert.rejects(client.write(new Uint8Array(1)), Deno.errors.BrokenPipe);
  assert.throws(() => server.close(), Deno.errors.BadResource);
  await assert.rejects(server.read(buffer), Deno.errors.BadResource);
  client.close();
});
