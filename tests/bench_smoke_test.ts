import { NDJSON } from "../protocol/ndjson/encode.ts";
import assert from "node:assert/strict";
import { frameKind, readField, readStamp, type StampedText } from "../bench/loadgen/frame_scan.ts";
import { LatencyHistogram } from "../bench/loadgen/histogram.ts";
import { stampedFrame } from "../bench/loadgen/sender.ts";
import { chooseFlags } from "../bench/serve_flags.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import type { ServerFrame } from "../protocol/frames.ts";

// The load generator reads server frames by their bytes, not with JSON.parse. These tests feed
// it the server's own encodings, so that a change in how frames are laid out fails here, with
// a name, instead of making the benchmark count nothing.

const line = (frame: ServerFrame) => {
  const bytes = new Outgoing(frame).encode(NDJSON);
  return { bytes, end: bytes.length - 1 };
};

Deno.test("the bench frame scanner recognises the server's own encodings", () => {
  const cases: [ServerFrame, string][] = [
    [{ type: "msg", id: 7, room: "#lobby", from: "c1", text: "hi", ts: 1 }, "msg"],
    [{ type: "ack", id: 7, room: "#lobby", ts: 1, ref: "3" }, "ack"],
    [{ type: "join", room: "#lobby", nick: "c2", ts: 1 }, "join"],
    [{ type: "leave", room: "#lobby", nick: "c2", reason: "too_slow", ts: 1 }, "leave"],
    [{ type: "joined", room: "#rust", topic: "", members: [], count: 0 }, "other"],
  ];
  for (const [frame, kind] of cases) {
    const { bytes, end } = line(frame);
    assert.equal(frameKind(bytes, 0, end), kind, JSON.stringify(frame));
  }
  const { bytes, end } = line({
    type: "leave",
    room: "#lobby",
    nick: "c9",
    reason: "too_slow",
    ts: 1,
  });
  assert.equal(readField(bytes, "nick", 0, end), "c9");
  assert.equal(readField(bytes, "reason", 0, end), "too_slow");
});

Deno.test("a stamped message survives the relay and is read back without JSON.parse", () => {
  const sent = JSON.parse(stampedFrame(3, 41, 123456789, 64)) as { text: string };
  assert.equal(sent.text.length, 64);
  const { bytes, end } = line({
    type: "msg",
    id: 1,
    room: "#lobby",
    from: "c3",
    text: sent.text,
    ts: 1,
  });
  const stamp: StampedText = { sender: -1, seq: -1, sentAtMicros: -1 };
  assert.ok(readStamp(bytes, 0, end, stamp));
  assert.deepEqual(stamp, { sender: 3, seq: 41, sentAtMicros: 123456789 });
  const other = line({ type: "msg", id: 2, room: "#lobby", from: "bob", text: "hello", ts: 1 });
  assert.equal(readStamp(other.bytes, 0, other.end, stamp), false);
});

Deno.test("the latency histogram reports percentiles within its bucket width", () => {
  const h = new LatencyHistogram();
  for (let us = 1; us <= 1000; us++) h.record(us);
  h.record(250_000);
  const s = h.summary();
  assert.equal(s.samples, 1001);
  assert.ok(Math.abs(s.p50Ms - 0.5) <= 0.003, `p50 ${s.p50Ms}`);
  assert.ok(Math.abs(s.p99Ms - 0.991) <= 0.011, `p99 ${s.p99Ms}`);
  assert.equal(s.maxMs, 250);
});

Deno.test("the bench turns flood control off and lifts connection limits when serve offers it", () => {
  const flags = chooseFlags("  --max-users N\n  --max-conns-per-ip N\n  --rate N\n  --db PATH\n");
  assert.deepEqual(flags.args, [
    "--max-users",
    "20000",
    "--max-conns-per-ip",
    "20000",
    "--rate",
    "0",
  ]);
  assert.ok(flags.hasDb);
  assert.deepEqual(chooseFlags("  --flood-rate N\n").unhandled, ["--flood-rate"]);
});
