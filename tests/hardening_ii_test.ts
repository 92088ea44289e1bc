/**
 * Holes an outside attack found (Hardening II), each pinned by a test that failed before the
 * fix: the accept loop, TLS sockets, history and resume costs, login storms, presence floods,
 * ignores, mutes and netcat rendering. Store and moderation findings are in
 * `store_bounds_test.ts` and `moderation_hardening_test.ts`.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { spawnServe } from "./helpers/cli.ts";
import { JsonClient, within } from "./helpers/wire.ts";

/** Connects and resets before the server can accept (SO_LINGER 0, then close). */
function connectAndReset(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.resetAndDestroy();
      resolve();
    });
    socket.on("error", () => resolve());
  });
}

Deno.test("connect+reset floods before accept do not lock honest clients out", async () => {
  const serve = await spawnServe(["--max-conns-per-ip", "1000"]);
  try {
    // Stop the server so that every reset lands in its backlog before it is accepted: each
    // accept then fails (NotConnected). It used to back off up to 1 s per failure.
    serve.child.kill("SIGSTOP");
    for (let i = 0; i < 60; i++) await connectAndReset(serve.port);
    serve.child.kill("SIGCONT");
    const started = performance.now();
    const honest = await within(
      JsonClient.login({ addr: { port: serve.port } } as never, "honest"),
      "an honest login right after the flood",
      3000,
    );
    assert.ok(performance.now() - started < 3000);
    honest.close();
  } finally {
    serve.child.kill("SIGCONT");
    await serve.stop();
  }
});
