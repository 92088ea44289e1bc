/**
 * Bounded memory: clients that never read, and one that floods, cannot make the server buffer
 * more than its documented caps (config/limits.ts): per connection at most one unfinished frame
 * (--max-frame), one outbound queue (--max-queue, which a burst may stretch to
 * QUEUE_BURST_FACTOR times while the socket drains) and one read buffer (READ_BUFFER_MAX_BYTES).
 */

import assert from "node:assert/strict";
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  QUEUE_BURST_FACTOR,
  READ_BUFFER_MAX_BYTES,
} from "../config/limits.ts";
import { createLogger } from "../log/logger.ts";
import { Counter } from "../metrics/registry.ts";
import { createSockchatMetrics } from "../metrics/sockchat_metrics.ts";
import type { ChatServer, ServerOptions } from "../server.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";

const MiB = 1024 * 1024;

/** The documented worst case for one connection. */
const PER_CONNECTION_BYTES = DEFAULT_MAX_FRAME_BYTES +
  DEFAULT_MAX_QUEUE_BYTES * QUEUE_BURST_FACTOR + READ_BUFFER_MAX_BYTES;

/** The most one queue may ever hold. */
const QUEUE_HARD_CAP = DEFAULT_MAX_QUEUE_BYTES * QUEUE_BURST_FACTOR;

/**
 * Samples every connection's queued bytes, and the process's RSS, each time the server queues
 * a frame for anyone (by counting its deliveries through a sampling counter), so that no peak
 * between two samples can be missed.
 */
function sampledServer(options: ServerOptions) {
  let maxQueued = 0;
  let maxRss = Deno.memoryUsage().rss;
  let samples = 0;
  let server: ChatServer | null = null;
  const sample = () => {
    samples++;
    for (const connection of server?.connections ?? []) {
      maxQueued = Math.max(maxQueued, connection.queuedBytes);
    }
    if (samples % 16 === 0) maxRss = Math.max(maxRss, Deno.memoryUsage().rss);
  };
  const metrics = createSockchatMetrics();
  metrics.messagesOut = new (class extends Counter {
    override inc(amount = 1): void {
      super.inc(amount);
      sample();
    }
  })("sampled_deliveries_total", "Deliveries, sampled.");
  server = testServer({ maxLoginsPerMinute: 0, ...options, metrics });
  return {
    server,
    results() {
      sample();
      maxRss = Math.max(maxRss, Deno.memoryUsage().rss);
      return { maxQueued, maxRss, samples };
    },
  };
}

/** A 60 KB message as one NDJSON line. */
function bigMessage(i: number): string {
  return JSON.stringify({ type: "msg", text: `${i} `.padEnd(60_000, "m") }) + "\n";
}

Deno.test("a client that never reads and one that floods stay within the queue cap", async () => {
  const disconnects = new Map<string, string>();
  const { server, results } = sampledServer({
    flood: null,
    retention: 10,
    logger: createLogger({
      write: (line) => {
        const entry = JSON.parse(line);
        if (entry.event === "disconnect") disconnects.set(entry.nick, entry.reason);
      },
      format: "json",
    }),
  });
  const flooder = await JsonClient.login(server, "flooder");
  const sloth = await JsonClient.login(server, "sloth");
  await flooder.expect("join");
  // From here on, neither of them reads a byte.
  try {
    let sent = 0;
    while (server.hub.user("sloth") !== undefined) {
      assert.ok(sent < 5_000, "sloth was never dropped");
      let batch = "";
      for (let i = 0; i < 8; i++) batch += bigMessage(sent++);
      await flooder.write(batch);
    }
    assert.equal(disconnects.get("sloth"), "too_slow");
    const { maxQueued, samples: n } = results();
    console.log(
      `memory_test: flooded ${sent} x 60 KB; largest queue seen ${maxQueued} bytes ` +
        `(cap ${DEFAULT_MAX_QUEUE_BYTES}) over ${n} samples`,
    );
    assert.ok(maxQueued <= QUEUE_HARD_CAP, `a queue held ${maxQueued} bytes`);
    assert.ok(maxQueued > DEFAULT_MAX_QUEUE_BYTES / 2, "the sampler saw sloth's queue fill up");
    assert.ok(server.hub.user("flooder"), "flooding alone (with flood control off) is allowed");
  } finally {
    for (const c of [flooder, sloth]) c.close();
    await server.shutdown();
  }
});

Deno.test("RSS grows by no more than frame + queue + read buffer per stalled connection", async () => {
  const stalled = 40;
  const slack = 96 * MiB; // V8 garbage, SQLite pages, this test's own clients
  const before = Deno.memoryUsage().rss;
  const { server, results } = sampledServer({
    flood: null,
    retention: 10,
    maxUsers: stalled + 10,
    maxConnsPerIp: stalled + 10,
  });
  const flooder = await JsonClient.login(server, "flooder");
  const sloths: JsonClient[] = [];
  try {
    for (let i = 0; i < stalled; i++) {
      const sloth = await JsonClient.login(server, `sloth${i}`);
      // An unfinished frame just under the limit: the decoder must hold all of it.
      await sloth.write(`{"type":"msg","text":"${"u".repeat(DEFAULT_MAX_FRAME_BYTES - 100)}`);
      sloths.push(sloth);
    }
    // Keep the flooder's own queue (acks, joins) drained.
    const draining = (async () => {
      while (await flooder.next("frames", 30_000) !== null);
    })();
    let sent = 0;
    while (server.hub.userCount > 1) {
      assert.ok(sent < 5_000, "the stalled clients were never dropped");
      let batch = "";
      for (let i = 0; i < 8; i++) batch += bigMessage(sent++);
      await flooder.write(batch);
    }
    const { maxRss, maxQueued } = results();
    assert.ok(maxQueued <= QUEUE_HARD_CAP, `a queue held ${maxQueued} bytes`);
    const after = Deno.memoryUsage().rss;
    const worst = stalled * PER_CONNECTION_BYTES;
    console.log(
      `memory_test: ${stalled} stalled connections, ${sent} x 60 KB flooded; RSS ` +
        `${(before / MiB).toFixed(1)} MiB before, peak +${((maxRss - before) / MiB).toFixed(1)}` +
        ` MiB, after +${((after - before) / MiB).toFixed(1)} MiB; documented worst case ` +
        `${(worst / MiB).toFixed(1)} MiB + ${slack / MiB} MiB slack`,
    );
    assert.ok(maxRss - before <= worst + slack, "peak RSS within the documented worst case");
    assert.ok(after - before <= worst + slack, "RSS afterwards within the documented worst case");
    await flooder.send({ type: "quit" });
    await within(draining, "the flooder's EOF");
  } finally {
    flooder.close();
    for (const sloth of sloths) sloth.close();
    await server.shutdown();
  }
});
