import assert from "node:assert/strict";
import { DEFAULT_MAX_CONNS_PER_IP } from "../config/security_limits.ts";
import { addressKey, ConnLimiter } from "../security/conn_limiter.ts";

Deno.test("an address gets its slots, is refused past the limit, and gets them back", () => {
  const limiter = new ConnLimiter(2);
  const a = limiter.acquire("10.0.0.1");
  const b = limiter.acquire("10.0.0.1");
  assert.ok(a !== null && b !== null);
  assert.equal(limiter.acquire("10.0.0.1"), null);
  assert.ok(limiter.acquire("10.0.0.2") !== null, "other addresses are unaffected");
  a.release();
  assert.equal(limiter.count("10.0.0.1"), 1);
  assert.ok(limiter.acquire("10.0.0.1") !== null);
});

Deno.test("releasing twice frees one slot, and idle addresses leave no entry", () => {
  const limiter = new ConnLimiter(2);
  const a = limiter.acquire("10.0.0.1");
  const b = limiter.acquire("10.0.0.1");
  assert.ok(a !== null && b !== null);
  a.release();
  a.release();
  assert.equal(limiter.count("10.0.0.1"), 1);
  b.release();
  assert.equal(limiter.count("10.0.0.1"), 0);
  assert.equal(limiter.addresses, 0);
});

Deno.test("the default is 8 per address, and the limit must be at least 1", () => {
  const limiter = new ConnLimiter();
  assert.equal(limiter.maxPerIp, DEFAULT_MAX_CONNS_PER_IP);
  for (let i = 0; i < DEFAULT_MAX_CONNS_PER_IP; i++) assert.ok(limiter.acquire("1.2.3.4"));
  assert.equal(limiter.acquire("1.2.3.4"), null);
  assert.throws(() => new ConnLimiter(0), RangeError);
  assert.equal(new ConnLimiter(Infinity).maxPerIp, Infinity);
});

Deno.test("IPv4-mapped IPv6 counts as the IPv4 address", () => {
  assert.equal(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(addressKey("::FFFF:c000:0207"), "192.0.2.7");
  const limiter = new ConnLimiter(1);
  assert.ok(limiter.acquire("192.0.2.7"));
  assert.equal(limiter.acquire("::ffff:192.0.2.7"), null);
});

Deno.test("IPv6 addresses are counted per /64, however they are written", () => {
  assert.equal(addressKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:0DB8:0001:0002:ffff:0:0:9"), "2001:db8:1:2::/64");
  assert.equal(addressKey("[2001:db8:1:2::5%eth0]"), "2001:db8:1:2::/64");
  assert.equal(addressKey("::1"), "0:0:0:0::/64");
  assert.notEqual(addressKey("2001:db8:1:3::1"), addressKey("2001:db8:1:2::1"));
});

Deno.test("what does not parse as an address is its own key", () => {
  assert.equal(addressKey("127.0.0.1"), "127.0.0.1");
  assert.equal(addressKey("1:2:3"), "1:2:3");
  assert.equal(addressKey("1::2::3"), "1::2::3");
  assert.equal(addressKey("::ffff:1.2.3.999"), "::ffff:1.2.3.999");
  assert.equal(addressKey("/tmp/sockchat.sock"), "/tmp/sockchat.sock");
});
