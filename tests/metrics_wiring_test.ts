import assert from "node:assert/strict";
import { startMetricsServer } from "../metrics/http.ts";
import { createSockchatMetrics } from "../metrics/sockchat_metrics.ts";
import { runCli, spawnServe } from "./helpers/cli.ts";
import { eventually, JsonClient, LineSocket, testServer, within } from "./helpers/wire.ts";

/** Scrapes `url` and returns each sample line's value by its name (with labels, if any). */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

function value(samples: Map<string, number>, name: string): number {
  const v = samples.get(name);
  assert.ok(v !== undefined, `no sample ${name}`);
  return v;
}

Deno.test("a live server's counters and gauges move, scraped over real HTTP", async () => {
  const metrics = createSockchatMetrics();
  const server = testServer({
    metrics,
    maxConnsPerIp: 4,
    maxQueueBytes: 256 * 1024,
    retention: 10,
    // Generous in bytes (the sender pushes megabytes), strict in frames (the flooder hits it).
    flood: {
      messageBurst: 1000,
      messagesPerSecond: 1,
      byteBurst: 1 << 30,
      bytesPerSecond: 1 << 30,
      disconnectStreak: 1_000_000,
    },
  });
  const http = startMetricsServer({ registry: metrics.registry, port: 0 });
  const url = `http://127.0.0.1:${http.addr.port}/metrics`;
  try {
    const before = await scrape(url);
    assert.equal(value(before, "sockchat_connections"), 0);
    assert.equal(value(before, "sockchat_messages_in_total"), 0);

    const sender = await JsonClient.login(server, "sender");
    const reader = await JsonClient.login(server, "reader");
    const flooder = await JsonClient.login(server, "flooder");
    const sloth = await JsonClient.login(server, "sloth"); // reads its welcome, then nothing
    await reader.expect("join");
    await reader.expect("join");

    // A fifth connection from this address is refused at the door.
    const extra = await LineSocket.connect(server);
    assert.match(await extra.readLine() ?? "", /"code":"too_many_connections"/);
    await extra.expectEof();
    extra.close();

    const live = await scrape(url);
    assert.equal(value(live, "sockchat_users"), 4);
    assert.equal(value(live, "sockchat_connections"), server.connections.size);
    assert.equal(
      value(live, 'sockchat_rejected_connections_total{reason="too_many_connections"}'),
      1,
    );

    // Messages, deliveries and history commits. Three messages in one write are committed as
    // one batch and reach each recipient as one buffer, but count as three frames each.
    await sender.write(
      [0, 1, 2].map((i) => JSON.stringify({ type: "msg", text: `hi ${i}`, ref: `r${i}` }) + "\n")
        .join(""),
    );
    for (let i = 0; i < 3; i++) assert.equal((await reader.expect("msg")).text, `hi ${i}`);
    for (let i = 0; i < 3; i++) await sender.expect("ack");
    const said = await scrape(url);
    assert.equal(
      value(said, "sockchat_messages_out_total") - value(live, "sockchat_messages_out_total"),
      3 * 3 + 3,
      "3 messages to each of reader, flooder and sloth, and 3 acks to the sender",
    );
    assert.equal(
      value(said, "sockchat_messages_in_total") - value(live, "sockchat_messages_in_total"),
      3,
    );

    // A flood past the burst is rate limited.
    await flooder.write(`${JSON.stringify({ type: "msg", text: "spam" })}\n`.repeat(1010));
    assert.equal((await flooder.expect("error")).code, "rate_limited");
    flooder.close(); // so that only sloth falls behind below

    // Big messages until the client that never reads overflows its queue.
    const big = "b".repeat(60_000);
    const slothLeft = Promise.withResolvers<string>();
    // The reader keeps reading to the end, and the sender waits for it to see each message,
    // so that only sloth ever falls behind.
    let bigSeen = 0;
    let readerGone = false;
    let seen = Promise.withResolvers<void>();
    const drained = (async () => {
      for (let f = await reader.next(); f !== null; f = await reader.next("frames", 30_000)) {
        if (f.type === "leave" && f.nick === "sloth") slothLeft.resolve(f.reason);
        if (f.type === "msg" && f.text === big) {
          bigSeen++;
          seen.resolve();
        }
      }
      readerGone = true;
      slothLeft.reject(new Error("reader lost its connection"));
      seen.resolve();
    })();
    const acks = (async () => {
      // Keep the sender's own queue drained, until it quits.
      while (await sender.next("frames", 30_000) !== null);
    })();
    for (let sent = 0; server.hub.user("sloth") !== undefined; sent++) {
      assert.ok(sent < 2000, "sloth was never dropped");
      await sender.send({ type: "msg", text: big });
      while (bigSeen <= sent) {
        assert.ok(!readerGone, "the reader lost its connection");
        await within(seen.promise, "the reader to see the message");
        seen = Promise.withResolvers<void>();
      }
    }
    assert.equal(await within(slothLeft.promise, "sloth's leave", 30_000), "too_slow");

    const after = await scrape(url);
    assert.equal(value(after, "sockchat_users"), 2, "the flooder left, sloth was dropped");
    assert.ok(value(after, "sockchat_messages_in_total") >= 1000, "hellos, msgs and the burst");
    assert.ok(
      value(after, "sockchat_messages_out_total") > value(live, "sockchat_messages_out_total"),
    );
    assert.ok(value(after, "sockchat_rate_limited_total") >= 10);
    assert.equal(value(after, "sockchat_dropped_slow_total"), 1);
    assert.ok(value(after, "sockchat_history_write_seconds_count") >= 1);
    assert.ok(value(after, 'sockchat_history_write_seconds_bucket{le="+Inf"}') >= 1);
    assert.ok(value(after, "sockchat_queue_bytes") >= 0);

    for (const client of [sender, reader]) await client.send({ type: "quit" });
    await within(Promise.all([acks, drained]), "EOF for sender and reader", 30_000);
    for (const c of [sender, reader, sloth]) c.close();
    await eventually(() => server.connections.size === 0, "every connection to close");
    const idle = await scrape(url);
    assert.equal(value(idle, "sockchat_connections"), 0);
    assert.equal(value(idle, "sockchat_users"), 0);
    assert.equal(value(idle, "sockchat_queue_bytes"), 0);
  } finally {
    await server.shutdown();
    await http.shutdown();
  }
});

Deno.test("serve --metrics-port prints the URL after the listening line and stops on SIGTERM", async () => {
  const serve = await spawnServe(["--db", ":memory:", "--metrics-port", "0"]);
  try {
    await eventually(() => /metrics on .*\n/.test(serve.stdout()), "the metrics line");
    const match =
      /^listening on 127\.0\.0\.1:\d+\nmetrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)\n$/
        .exec(serve.stdout());
    assert.ok(match, `unexpected stdout: ${JSON.stringify(serve.stdout())}`);
    const url = match[1];
    const user = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port: serve.port }));
    await user.send({ type: "hello", v: 1, nick: "counted" });
    await user.expect("welcome");
    const samples = await scrape(url);
    assert.equal(value(samples, "sockchat_users"), 1);
    assert.equal(value(samples, "sockchat_connections"), 1);
    assert.equal(value(samples, "sockchat_messages_in_total"), 1);
    const status = await serve.stop("SIGTERM");
    user.close();
    assert.equal(status.code, 0);
    await assert.rejects(fetch(url), "the metrics endpoint went down with the server");
  } finally {
    await serve.stop();
  }
});

Deno.test("a metrics port in use is a one-line error and exit 1", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const out = await runCli([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--db",
      ":memory:",
      "--metrics-port",
      String(busy.addr.port),
    ]);
    assert.equal(out.code, 1);
    assert.equal(out.stdout, "");
    assert.equal(
      out.stderr,
      `sockchat: Cannot serve metrics on 127.0.0.1:${busy.addr.port}: the port is in use; ` +
        "pick another with --metrics-port.\n",
    );
  } finally {
    busy.close();
  }
});
