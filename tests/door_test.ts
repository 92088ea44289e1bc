/**
 * The door every front end shares, without sockets: bans, the server-wide cap on logins in
 * progress, logins per address per minute and connections per address, in that order, and
 * refusals logged once per address per window.
 */

import assert from "node:assert/strict";
import { Door, type DoorOptions } from "../transport/door.ts";
import { CoreHarness } from "./helpers/core.ts";

function door(chat: CoreHarness, extra: Partial<DoorOptions> = {}) {
  const logged: Record<string, unknown>[] = [];
  const rejected: string[] = [];
  const logger = {
    debug() {},
    warn() {},
    error() {},
    info: (event: string, fields: Record<string, unknown>) => logged.push({ event, ...fields }),
  } as unknown as DoorOptions["logger"];
  const d = new Door({
    hub: chat.hub,
    logger,
    maxConnsPerIp: 2,
    maxLoginsPerMinute: 3,
    maxPendingLogins: 100,
    pendingLogins: () => 0,
    rejected: (reason) => rejected.push(reason),
    ...extra,
  });
  return { door: d, logged, rejected };
}

Deno.test("the door holds each address to its connections at once and per minute", () => {
  const chat = new CoreHarness();
  const { door: d } = door(chat);
  const one = d.check("198.51.100.1");
  const two = d.check("198.51.100.1");
  assert.ok(one.ok && two.ok);
  const third = d.check("198.51.100.1");
  assert.ok(!third.ok && /close one and try again/.test(third.error.message));
  one.lease.release();
  // A slot is free again, but this address has used its 3 connections of the minute.
  const fourth = d.check("198.51.100.1");
  assert.ok(!fourth.ok && /in the last minute; try again in \d+ s/.test(fourth.error.message));
  // Another address is not affected.
  assert.ok(d.check("198.51.100.2").ok);
});

Deno.test("the door refuses a banned address first, and everyone while too many logins are pending", () => {
  const chat = new CoreHarness();
  const op = chat.operator("op");
  op.run("/ban addr:198.51.100.0/24 1h");
  const banned = door(chat).door.check("198.51.100.9");
  assert.ok(!banned.ok && banned.reason === "banned" && banned.error.fatal);
  const full = door(chat, { pendingLogins: () => 100 }).door.check("203.0.113.5");
  assert.ok(!full.ok && /too many logins in progress/.test(full.error.message));
});

Deno.test("refusals are counted every time and logged once per address per window", () => {
  const chat = new CoreHarness();
  const { door: d, logged, rejected } = door(chat);
  const remote: Deno.NetAddr = { transport: "tcp", hostname: "198.51.100.1", port: 1 };
  for (let i = 0; i < 10; i++) d.refused(remote, "too_many_connections");
  assert.equal(rejected.length, 10);
  assert.equal(logged.filter((l) => l.event === "refused").length, 1);
});
