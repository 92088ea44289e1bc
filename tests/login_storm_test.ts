/**
 * Login storms cost O(n) bytes: a newcomer gets the room's member count and a first page of its
 * members, not the whole list, so n logins into one room do not send n²/2 nicks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CoreHarness, one, RecordingSink } from "./helpers/core.ts";
import { MEMBERS_FIRST_PAGE, PRESENCE_WINDOW_MS } from "../config/limits.ts";
import { NDJSON } from "../protocol/ndjson/encode.ts";
import { renderPlain } from "../protocol/plain/render.ts";

/** Bytes a sink was sent, as NDJSON on the wire. */
function wireBytes(sink: RecordingSink): number {
  let total = 0;
  for (const out of sink.deliveries) total += out.encode(NDJSON).length;
  return total;
}

/**
 * Logs `n` users into the lobby, 500 every presence window (a storm four times slower than the
 * 5,000 in 2 s of issue 11), with the server's presence sweep running between them.
 */
function storm(n: number): { chat: CoreHarness; sinks: RecordingSink[] } {
  const chat = new CoreHarness({ maxUsers: n + 10, historyReplay: 0 });
  const sinks: RecordingSink[] = [];
  for (let i = 0; i < n; i++) {
    sinks.push(chat.login(`user${i}`, {}, true).sink);
    if (i % 500 === 499) {
      chat.advance(PRESENCE_WINDOW_MS);
      chat.tick();
    }
  }
  chat.advance(PRESENCE_WINDOW_MS);
  chat.tick();
  return { chat, sinks };
}

Deno.test("login storm: 2,000 logins into one room send O(n) bytes, not O(n²)", () => {
  const n = 2000;
  const { sinks } = storm(n);
  const last = one(sinks[n - 1].frames(), "welcome");
  assert.equal(last.rooms[0].count, n);
  assert.equal(last.rooms[0].members.length, MEMBERS_FIRST_PAGE);
  // A welcome is about a page of nicks (≤ 12 bytes each here), however big the room.
  const lastWelcome = sinks[n - 1].deliveries[0].encode(NDJSON).length;
  assert.ok(lastWelcome < MEMBERS_FIRST_PAGE * 12 + 200, `last welcome: ${lastWelcome} bytes`);
  // The welcomes together: a page each. Full member lists were about n²/2 × 11 bytes (22 MB).
  const welcomes = sinks.reduce((sum, sink) => sum + sink.deliveries[0].encode(NDJSON).length, 0);
  assert.ok(welcomes < n * (MEMBERS_FIRST_PAGE * 12 + 200), `the welcomes: ${welcomes} bytes`);
  // Everything sent during the storm (welcomes, joins, presence summaries) grows linearly.
  const total = sinks.reduce((sum, sink) => sum + wireBytes(sink), 0);
  assert.ok(total < n * 2000, `the storm sent ${total} bytes`);
});

Deno.test("login storm: the page names the newcomer, and count is the room's size", () => {
  const { chat, sinks } = storm(MEMBERS_FIRST_PAGE + 5);
  const welcome = one(sinks[MEMBERS_FIRST_PAGE + 4].frames(), "welcome");
  const page = welcome.rooms[0].members;
  assert.equal(welcome.rooms[0].count, MEMBERS_FIRST_PAGE + 5);
  assert.equal(page.length, MEMBERS_FIRST_PAGE);
  assert.equal(page.at(-1), `user${MEMBERS_FIRST_PAGE + 4}`);
  assert.equal(page[0], "user0");
  // A /join of the big room: the same page, in join order, with the joiner last.
  const late = chat.login("latecomer");
  late.run("/join #big");
  late.take();
  const joiner = chat.login("joiner");
  joiner.run("/join #lobby", "r1");
  const joined = one(joiner.take(), "joined");
  assert.equal(joined.count, MEMBERS_FIRST_PAGE + 7);
  assert.equal(joined.members.length, MEMBERS_FIRST_PAGE);
  assert.equal(joined.members.at(-1), "joiner");
  // A small room is listed whole, as before.
  late.run("/join #big", "r2");
  const small = one(late.take(), "joined");
  assert.deepEqual(small.members, ["latecomer"]);
  assert.equal(small.count, 1);
});

Deno.test("login storm: plain text names the page and counts the rest", () => {
  const rooms = [{ room: "#lobby", topic: "", members: ["a", "b", "c", "me"], count: 5001 }];
  const welcome = renderPlain({
    type: "welcome",
    v: 1,
    nick: "me",
    server: "t",
    rooms,
    limits: { maxFrame: 65536, maxUsers: 10000 },
  });
  assert.match(welcome ?? "", /^\* In #lobby: a, b, c and 4,997 more\.$/m);
  const joined = renderPlain({
    type: "joined",
    room: "#lobby",
    topic: "",
    members: ["a", "b", "c"],
    count: 5000,
  });
  assert.equal(joined, "* You are in #lobby with a, b, c and 4,997 more.");
  const small = renderPlain({ type: "joined", room: "#x", topic: "", members: ["me"], count: 1 });
  assert.equal(small, "* You are in #x with me.");
});
