/**
 * The accept loop's retry rule (Hardening II, finding 1): a peer that resets before it is
 * accepted costs one turn of the loop, never a back-off; only running out of descriptors waits.
 */

import assert from "node:assert/strict";
import { acceptConnections, isOutOfDescriptors } from "../transport/tcp/accept_loop.ts";

/** A listener whose accepts fail with `errors` in turn, then yield "ok", then close. */
function scripted(errors: Error[]) {
  let i = 0;
  return {
    accept(): Promise<string> {
      if (i < errors.length) return Promise.reject(errors[i++]);
      if (i++ === errors.length) return Promise.resolve("ok");
      return Promise.reject(new Deno.errors.BadResource("closed"));
    },
  };
}

Deno.test("500 resets before accept cost no back-off at all; the next peer is accepted at once", async () => {
  const resets = Array.from({ length: 500 }, () => new Deno.errors.NotConnected("reset"));
  const waits: number[] = [];
  const reported: number[] = [];
  const got: string[] = [];
  for await (
    const conn of acceptConnections(scripted(resets), {
      stopping: () => false,
      failed: (_error, retryMs) => reported.push(retryMs),
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    })
  ) got.push(conn);
  assert.deepEqual(got, ["ok"]);
  assert.deepEqual(waits, [], "no back-off for a peer's own failure");
  assert.equal(reported.length, 500);
  assert.ok(reported.every((ms) => ms === 0));
});

Deno.test("running out of descriptors backs off 10 ms doubling to 1 s, and resets after a success", async () => {
  const emfile = () => new Error("Too many open files (os error 24)");
  const waits: number[] = [];
  const listener = scripted([...Array.from({ length: 9 }, emfile), new Error("x (os error 23)")]);
  for await (
    const _ of acceptConnections(listener, {
      stopping: () => false,
      failed: () => {},
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    })
  ) {
    // one connection
  }
  assert.deepEqual(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
  assert.ok(isOutOfDescriptors(emfile()));
  assert.ok(!isOutOfDescriptors(new Deno.errors.ConnectionAborted("x")));
});

Deno.test("a closed listener ends the loop without an error", async () => {
  const got: string[] = [];
  for await (
    const c of acceptConnections(scripted([]), { stopping: () => false, failed: () => {} })
  ) {
    got.push(c);
  }
  assert.deepEqual(got, ["ok"]);
});
