import assert from "node:assert/strict";
// The guard's defaults, read from where they are declared.
import * as limits from "../config/security_limits.ts";
import { FloodGuard, type FloodVerdict, TokenBucket } from "../security/token_bucket.ts";

/** A clock the test moves by hand. */
function fakeClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

Deno.test("a bucket starts full, empties, and refills at its rate up to its capacity", () => {
  const clock = fakeClock();
  const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 2, now: clock.now });
  assert.ok(bucket.take());
  assert.ok(bucket.take());
  assert.ok(bucket.take());
  assert.equal(bucket.take(), false);
  clock.advance(499);
  assert.equal(bucket.take(), false, "not quite one token after 499 ms at 2/s");
  clock.advance(1);
  assert.ok(bucket.take());
  clock.advance(60_000);
  assert.equal(bucket.tokens, 3, "an idle bucket holds no more than its capacity");
});

Deno.test("a cost above the capacity passes only from a full bucket, leaving it in debt", () => {
  const clock = fakeClock();
  const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 10, now: clock.now });
  assert.ok(bucket.take(25));
  assert.equal(bucket.tokens, -15);
  assert.equal(bucket.take(1), false);
  clock.advance(1_600);
  assert.equal(bucket.take(2), false, "1 token after paying back the debt: not enough for 2");
  assert.ok(bucket.take(1));
  clock.advance(5_000);
  assert.ok(bucket.take(25), "full again, so the oversized cost passes again");
});

Deno.test("a clock that steps backwards neither refills nor drains", () => {
  let t = 10_000;
  const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1, now: () => t });
  bucket.take(2);
  t = 0;
  assert.equal(bucket.tokens, 0);
  t = 1_000;
  assert.equal(bucket.tokens, 1);
});

Deno.test("a bucket refuses a capacity or rate that is not positive", () => {
  assert.throws(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 }), RangeError);
  assert.throws(() => new TokenBucket({ capacity: 1, refillPerSecond: -1 }), RangeError);
  assert.throws(() => new TokenBucket({ capacity: NaN, refillPerSecond: 1 }), RangeError);
});

Deno.test("defaults: a 20-line paste passes at once, and then 5 lines a second", () => {
  const clock = fakeClock();
  const guard = new FloodGuard({ now: clock.now });
  for (let i = 0; i < limits.FLOOD_MESSAGE_BURST; i++) {
    assert.equal(guard.check(80), "ok", `line ${i}`);
  }
  assert.equal(guard.check(80), "limited");
  assert.equal(guard.streak, 1);
  clock.advance(1000 / limits.FLOOD_MESSAGES_PER_SECOND);
  assert.equal(guard.check(80), "ok");
  assert.equal(guard.streak, 0, "an admitted frame ends the streak");
});

Deno.test("defaults: someone typing a line every 200 ms for ten minutes is never limited", () => {
  const clock = fakeClock();
  const guard = new FloodGuard({ now: clock.now });
  for (let i = 0; i < 3000; i++) {
    assert.equal(guard.check(200), "ok", `line ${i}`);
    clock.advance(200);
  }
});

Deno.test("defaults: one maximum-size frame passes, a second right after is limited by bytes", () => {
  const clock = fakeClock();
  const guard = new FloodGuard({ now: clock.now });
  assert.equal(guard.check(limits.FLOOD_BYTE_BURST), "ok");
  assert.equal(guard.check(1), "limited", "the byte bucket is empty though frames remain");
  clock.advance(1000);
  assert.equal(
    guard.check(limits.FLOOD_BYTES_PER_SECOND),
    "ok",
    "a second's worth of bytes refilled",
  );
  assert.equal(guard.check(limits.FLOOD_BYTES_PER_SECOND), "limited");
});

Deno.test("a refused frame costs nothing from either bucket", () => {
  const clock = fakeClock();
  const guard = new FloodGuard({ messageBurst: 2, byteBurst: 100, now: clock.now });
  assert.equal(guard.check(60), "ok");
  assert.equal(guard.check(60), "limited", "bytes short; the frame token is not spent");
  assert.equal(guard.check(40), "ok", "the frame token and the bytes were both still there");
});

Deno.test("a flood of limited frames in a row disconnects at the streak limit", () => {
  const clock = fakeClock();
  const guard = new FloodGuard({ now: clock.now });
  const verdicts: FloodVerdict[] = [];
  for (let i = 0; i < limits.FLOOD_MESSAGE_BURST + limits.FLOOD_DISCONNECT_STREAK; i++) {
    verdicts.push(guard.check(10));
  }
  assert.equal(verdicts.filter((v) => v === "ok").length, limits.FLOOD_MESSAGE_BURST);
  assert.equal(verdicts.filter((v) => v === "limited").length, limits.FLOOD_DISCONNECT_STREAK - 1);
  assert.equal(verdicts.at(-1), "disconnect");
});

Deno.test("a slow persistent streak that outlasts the window starts over instead", () => {
  const clock = fakeClock();
  const guard = new FloodGuard({
    messageBurst: 1,
    messagesPerSecond: 0.001,
    disconnectStreak: 3,
    now: clock.now,
  });
  assert.equal(guard.check(1), "ok");
  assert.equal(guard.check(1), "limited");
  assert.equal(guard.check(1), "limited");
  clock.advance(limits.FLOOD_WINDOW_MS + 1);
  assert.equal(guard.check(1), "limited", "streak restarted: 1, not 3");
  assert.equal(guard.streak, 1);
  assert.equal(guard.check(1), "limited");
  assert.equal(guard.check(1), "disconnect");
});
