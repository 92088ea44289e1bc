import assert from "node:assert/strict";
import { HISTORY_WRITE_BUCKETS_SECONDS } from "../config/security_limits.ts";
import {
  handleMetricsRequest,
  METRICS_PATH,
  MetricsServerError,
  startMetricsServer,
} from "../metrics/http.ts";
import { formatValue, MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "../metrics/registry.ts";
import { createSockchatMetrics, REJECT_REASONS } from "../metrics/sockchat_metrics.ts";

/** Every sample line of the 0.0.4 text format: name, optional labels, value. */
const SAMPLE_LINE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (?:[-+]?[0-9.e+-]+|NaN|[+-]Inf)$/;

function assertWellFormed(text: string): void {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    assert.match(line, SAMPLE_LINE);
  }
}

Deno.test("a counter renders with HELP and TYPE and only goes up", () => {
  const registry = new MetricsRegistry();
  const hits = registry.counter("app_hits_total", "Requests served.\nBy path \\ method.");
  hits.inc();
  hits.inc(2);
  assert.equal(
    registry.render(),
    "# HELP app_hits_total Requests served.\\nBy path \\\\ method.\n" +
      "# TYPE app_hits_total counter\n" +
      "app_hits_total 3\n",
  );
  assert.throws(() => hits.inc(-1), RangeError);
  assert.throws(() => hits.inc(NaN), RangeError);
  assert.throws(() => hits.inc(Infinity), RangeError);
  assert.equal(hits.value, 3);
});

Deno.test("a labeled counter exports every allowed value from the start, and only those", () => {
  const registry = new MetricsRegistry();
  const errors = registry.labeledCounter("app_errors_total", "Errors.", "kind", [
    "timeout",
    'odd"one\\with\nescapes',
  ]);
  errors.inc("timeout", 4);
  assert.equal(
    registry.render(),
    "# HELP app_errors_total Errors.\n# TYPE app_errors_total counter\n" +
      'app_errors_total{kind="timeout"} 4\n' +
      'app_errors_total{kind="odd\\"one\\\\with\\nescapes"} 0\n',
  );
  assertWellFormed(registry.render());
  assert.throws(() => errors.inc("other" as "timeout"), /has no kind "other"/);
  assert.throws(() => registry.labeledCounter("x_total", "X.", "bad-label", []), RangeError);
});

Deno.test("a gauge is set by hand, or sampled at each render", () => {
  const registry = new MetricsRegistry();
  const open = registry.gauge("app_open", "Open things.");
  open.set(5);
  open.inc();
  open.dec(3);
  assert.equal(open.value, 3);
  assert.match(registry.render(), /^app_open 3$/m);
  let live = 7;
  open.sampleWith(() => live);
  assert.match(registry.render(), /^app_open 7$/m);
  live = 8;
  assert.match(registry.render(), /^app_open 8$/m);
  open.sampleWith(() => {
    throw new Error("broken");
  });
  assert.match(registry.render(), /^app_open NaN$/m, "a broken sampler does not break a scrape");
});

Deno.test("a histogram counts cumulatively; a value on a bound falls in that bucket", () => {
  const registry = new MetricsRegistry();
  const latency = registry.histogram("app_seconds", "Latency.", [0.1, 0.5, 1]);
  for (const v of [0.05, 0.1, 0.3, 1, 7, NaN]) latency.observe(v);
  assert.equal(
    registry.render(),
    "# HELP app_seconds Latency.\n# TYPE app_seconds histogram\n" +
      'app_seconds_bucket{le="0.1"} 2\n' +
      'app_seconds_bucket{le="0.5"} 3\n' +
      'app_seconds_bucket{le="1"} 4\n' +
      'app_seconds_bucket{le="+Inf"} 5\n' +
      "app_seconds_sum 8.45\n" +
      "app_seconds_count 5\n",
  );
  assert.equal(latency.count, 5, "NaN was ignored");
  assert.throws(() => registry.histogram("b1", "B.", []), RangeError);
  assert.throws(() => registry.histogram("b2", "B.", [1, 1]), RangeError);
  assert.throws(() => registry.histogram("b3", "B.", [1, Infinity]), RangeError);
});

Deno.test("names are checked and may be declared once", () => {
  const registry = new MetricsRegistry();
  registry.counter("a_total", "A.");
  assert.throws(() => registry.gauge("a_total", "Again."), /already declared/);
  assert.throws(() => registry.counter("9lives", "Bad."), /Bad metric name/);
  assert.throws(() => registry.counter("has-dash", "Bad."), /Bad metric name/);
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(0.00025), "0.00025");
});

Deno.test("sockchat declares all of its metrics, well formed, in a stable order", () => {
  const metrics = createSockchatMetrics();
  metrics.connections.set(3);
  metrics.users.sampleWith(() => 2);
  metrics.messagesIn.inc(10);
  metrics.messagesOut.inc(25);
  metrics.droppedSlow.inc();
  metrics.rateLimited.inc(4);
  metrics.rejectedConnections.inc("too_many_connections");
  metrics.queueBytes.sampleWith(() => 1024);
  metrics.historyWriteSeconds.observe(0.002);
  const text = metrics.registry.render();
  assertWellFormed(text);
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(types, [
    "sockchat_connections gauge",
    "sockchat_users gauge",
    "sockchat_messages_in_total counter",
    "sockchat_messages_out_total counter",
    "sockchat_dropped_slow_total counter",
    "sockchat_rate_limited_total counter",
    "sockchat_rejected_connections_total counter",
    "sockchat_queue_bytes gauge",
    "sockchat_history_write_seconds histogram",
  ]);
  for (
    const line of [
      "sockchat_connections 3",
      "sockchat_users 2",
      "sockchat_messages_in_total 10",
      "sockchat_messages_out_total 25",
      "sockchat_dropped_slow_total 1",
      "sockchat_rate_limited_total 4",
      'sockchat_rejected_connections_total{reason="too_many_connections"} 1',
      'sockchat_rejected_connections_total{reason="server_full"} 0',
      "sockchat_queue_bytes 1024",
      'sockchat_history_write_seconds_bucket{le="0.001"} 0',
      'sockchat_history_write_seconds_bucket{le="0.0025"} 1',
      'sockchat_history_write_seconds_bucket{le="+Inf"} 1',
      "sockchat_history_write_seconds_count 1",
    ]
  ) {
    assert.ok(text.split("\n").includes(line), `missing: ${line}`);
  }
  const buckets = text.match(/^sockchat_history_write_seconds_bucket/gm)?.length;
  assert.equal(buckets, HISTORY_WRITE_BUCKETS_SECONDS.length + 1);
  const reasons = text.match(/^sockchat_rejected_connections_total\{/gm)?.length;
  assert.equal(reasons, REJECT_REASONS.length);
});

Deno.test("the endpoint serves /metrics over real HTTP, 404 elsewhere, 405 for POST", async () => {
  const metrics = createSockchatMetrics();
  metrics.messagesIn.inc(7);
  let announced: Deno.NetAddr | null = null;
  const server = startMetricsServer({
    registry: metrics.registry,
    port: 0,
    onListen: (addr) => (announced = addr),
  });
  try {
    assert.equal(server.addr.hostname, "127.0.0.1", "loopback by default");
    assert.deepEqual(announced, server.addr);
    const base = `http://127.0.0.1:${server.addr.port}`;

    const ok = await fetch(`${base}${METRICS_PATH}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
    const body = await ok.text();
    assert.equal(body, metrics.registry.render());
    assert.match(body, /^sockchat_messages_in_total 7$/m);

    const head = await fetch(`${base}${METRICS_PATH}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");

    const missing = await fetch(`${base}/`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "Not found. Metrics are at /metrics.\n");

    const post = await fetch(`${base}${METRICS_PATH}`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    await post.body?.cancel();
  } finally {
    await server.shutdown();
  }
  await server.shutdown(); // idempotent
  await server.finished;
});

Deno.test("a port in use is reported in a sentence", async () => {
  const registry = new MetricsRegistry();
  const first = startMetricsServer({ registry, port: 0 });
  try {
    assert.throws(
      () => startMetricsServer({ registry, port: first.addr.port }),
      (e: unknown) =>
        e instanceof MetricsServerError &&
        e.message === `Cannot serve metrics on 127.0.0.1:${first.addr.port}: the port is in ` +
            "use; pick another with --metrics-port.",
    );
  } finally {
    await first.shutdown();
  }
});

Deno.test("the handler works without a server, for embedding", async () => {
  const registry = new MetricsRegistry();
  registry.counter("x_total", "X.").inc();
  const response = handleMetricsRequest(new Request("http://h/metrics?x=1"), registry);
  assert.equal(await response.text(), registry.render());
  const other = handleMetricsRequest(new Request("http://h/metrics/"), registry);
  assert.equal(other.status, 404);
  await other.body?.cancel();
});
