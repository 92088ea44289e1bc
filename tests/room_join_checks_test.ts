/**
 * A room's modes (+b, +i, +k, +l) at login: the lobby a login enters and the rooms a resume
 * asks back are checked as a /join is, a refused room is left out of the welcome and the user
 * told why after it; a verified member of a keyed room resumes into it without the key.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CoreHarness, one, only, type Peer } from "./helpers/core.ts";
import { LineSocket, testServer } from "./helpers/wire.ts";
import { MAX_RESUME_KEYS, RESUME_KEY_TTL_MS } from "../config/limits.ts";
import { ResumeKeys } from "../core/resume_keys.ts";
import { Room } from "../core/room.ts";
import { User } from "../core/user.ts";
import type { KeyProof } from "../core/identity.ts";
import type { ErrorFrame, ServerFrame } from "../protocol/frames.ts";

/** A key proof for `name`: the core compares fingerprints only. */
function keyOf(name: string): KeyProof {
  return { source: "ssh", fingerprint: `SHA256:${name.padEnd(43, "A")}` };
}

/** The welcome's room names. */
function welcomed(frames: readonly ServerFrame[]): string[] {
  return one(frames, "welcome").rooms.map((r) => r.room);
}

/** The codes of the error frames. */
function errors(frames: readonly ServerFrame[]): string[] {
  return only(frames, "error").map((e: ErrorFrame) => e.code);
}

/** Logs `nick` in keeping the welcome; their frames since. */
function arrive(core: CoreHarness, nick: string, address?: string): Peer {
  return core.login(nick, address === undefined ? {} : { address }, true);
}

Deno.test("join checks: a +b ban on #lobby keeps a matching login out of it, told why after the welcome", () => {
  const core = new CoreHarness();
  const oper = core.operator("root");
  oper.run("/mode #lobby +b mallory*");
  const mallory = arrive(core, "mallory");
  const frames = mallory.take();
  assert.deepEqual(welcomed(frames), []);
  assert.deepEqual(errors(frames), ["room_banned"]);
  assert.ok(
    frames.findIndex((f) => f.type === "welcome") < frames.findIndex((f) => f.type === "error"),
    "told after the welcome, which a client reads as the login's answer",
  );
  assert.equal(mallory.user.rooms.size, 0);
  assert.ok(![...core.hub.room("#lobby")?.members ?? []].includes(mallory.user));
  // Anyone else still lands in the lobby.
  const ann = arrive(core, "ann");
  assert.deepEqual(welcomed(ann.take()), ["#lobby"]);
  assert.equal(ann.user.rooms.size, 1);
});

Deno.test("join checks: +i, +k and +l on #lobby apply at login", () => {
  const core = new CoreHarness();
  const oper = core.operator("root");
  oper.run("/mode #lobby +i");
  const bob = arrive(core, "bob");
  assert.deepEqual(errors(bob.take()), ["room_invite_only"]);
  assert.equal(bob.user.rooms.size, 0);
  // Let in by an invitation, as a /join would be.
  oper.run("/invite bob #lobby");
  bob.run("/join #lobby");
  assert.equal(bob.user.rooms.size, 1);
  oper.run("/mode #lobby -i+k sesame");
  const cy = arrive(core, "cy");
  assert.deepEqual(errors(cy.take()), ["room_bad_key"]);
  oper.run("/mode #lobby -k sesame");
  oper.run("/mode #lobby +l 2");
  const dee = arrive(core, "dee");
  assert.deepEqual(errors(dee.take()), ["room_full"]);
  assert.equal(core.hub.room("#lobby")?.members.size, 2);
});

Deno.test("join checks: a resume is checked as a join; a +b ban keeps the banned out of a resumed room", () => {
  const core = new CoreHarness();
  const alice = core.login("alice");
  alice.run("/join #den");
  alice.run("/mode #den +b eve*");
  const eve = arrive(core, "eve");
  eve.take();
  eve.quit();
  const back = core.login("eve", { resume: { "#den": 0 } }, true);
  const frames = back.take();
  assert.deepEqual(welcomed(frames), []);
  assert.deepEqual(errors(frames), ["room_banned"]);
});

Deno.test("join checks: a verified member of a +k room resumes into it without the key", () => {
  const core = new CoreHarness();
  const alice = core.login("alice");
  alice.run("/join #vault");
  // bob was in the room when the key was set; carol joined with it. Both proved their accounts.
  const bob = core.login("bob", { address: "198.51.100.7", key: keyOf("bob") });
  bob.run("/register");
  bob.run("/join #vault");
  alice.run("/mode #vault +k s3cret");
  const carol = core.login("carol", { address: "198.51.100.8", key: keyOf("carol") });
  carol.run("/register");
  carol.run("/join #vault s3cret");
  assert.equal(core.hub.room("#vault")?.members.size, 3);
  bob.quit("dropped");
  carol.quit("timeout");

  // From another address, the account proven again: in.
  const bobBack = core.login("bob", {
    address: "203.0.113.9",
    key: keyOf("bob"),
    resume: { "#vault": 0 },
  }, true);
  assert.deepEqual(welcomed(bobBack.take()), ["#vault"]);
  assert.ok(bobBack.user.rooms.has(core.hub.room("#vault")!));

  // A pass is used once, and a key changed since is not theirs to know.
  const carolBack = core.login("carol", { key: keyOf("carol"), resume: { "#vault": 0 } }, true);
  assert.deepEqual(welcomed(carolBack.take()), ["#vault"]);
  carolBack.quit("dropped");
  alice.run("/mode #vault +k n3w");
  const again = core.login("carol", { key: keyOf("carol"), resume: { "#vault": 0 } }, true);
  assert.deepEqual(errors(again.take()), ["room_bad_key"]);

  // One who never was a member does not resume into it.
  const dan = core.login("dan", { resume: { "#vault": 0 } }, true);
  assert.deepEqual(errors(dan.take()), ["room_bad_key"]);

  // A pass lapses.
  bobBack.quit("dropped");
  core.advance(RESUME_KEY_TTL_MS + 1);
  const late = core.login("bob", { key: keyOf("bob"), resume: { "#vault": 0 } }, true);
  assert.deepEqual(errors(late.take()), ["room_bad_key"]);
});

Deno.test("join checks: a netcat user banned from #lobby reads why, and is not in it", async () => {
  const server = testServer();
  try {
    server.hub.room("#lobby")?.modes.bans.push({ mask: "mal*!*@*", by: "test", at: 0 });
    const nc = await LineSocket.connect(server);
    try {
      await nc.write("mallory\n");
      const seen = await nc.readUntilText("You are banned from #lobby.");
      assert.ok(!/#lobby\./.test(seen.slice(0, seen.lastIndexOf("banned"))), seen);
      assert.equal(server.hub.user("mallory")?.rooms.size, 0);
    } finally {
      nc.close();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("join checks: a resume pass is the proven account's from anywhere, and the passes are capped", () => {
  const sink = { deliver() {}, close() {} };
  const room = new Room("#vault");
  room.modes.key = "s3cret";
  const passes = new ResumeKeys();
  const owner = new User("kai", sink, "192.0.2.1");
  owner.verified = true;
  passes.remember(owner, room, 0);
  // Another address, the nick proven again: in. Unproven from there: not.
  const guest = new User("kai", sink, "198.51.100.2");
  assert.equal(passes.take(guest, room, 1), undefined);
  const proven = new User("kai", sink, "198.51.100.2");
  proven.verified = true;
  assert.equal(passes.take(proven, room, 1)?.key, "s3cret");
  assert.equal(passes.size, 0);
  // A room without a key leaves nothing; past the cap the oldest pass goes.
  passes.remember(owner, new Room("#open"), 0);
  assert.equal(passes.size, 0);
  const verified = (nick: string) =>
    Object.assign(new User(nick, sink, "192.0.2.9"), { verified: true });
  for (let i = 0; i <= MAX_RESUME_KEYS; i++) passes.remember(verified(`u${i}`), room, 0);
  assert.equal(passes.size, MAX_RESUME_KEYS);
  assert.equal(passes.take(verified("u0"), room, 1), undefined);
  assert.equal(passes.take(verified(`u${MAX_RESUME_KEYS}`), room, 1)?.key, "s3cret");
});
