/**
 * What room operators and modes look like in each front end (issue 15, contract §7.8): the
 * terminal client and netcat show `@`/`+` before nicks in joined and /who lists, `* alice sets
 * mode +m on #rust`, `* bob was kicked from #rust by alice (reason)` and `* alice invites you to
 * #rust (/join #rust)`; the client's frame checker takes the new frames and fields and refuses
 * bad ones. The netcat test runs over a real server.
 */

import assert from "node:assert/strict";
import { Palette } from "../client/colors.ts";
import { Renderer } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { parseServerFrame } from "../client/server_frame.ts";
import { renderPlain } from "../protocol/plain/render.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { command, JsonClient, LineSocket, plainUntil, testServer } from "./helpers/wire.ts";

const NOON = new Date(2025, 0, 31, 12, 5, 9).getTime();

/** A renderer for `me`, in #lobby and #rust, without colour or timestamps. */
function terminal(me = "carol"): Renderer {
  const state = new RoomState(me);
  state.apply({
    type: "welcome",
    v: 1,
    nick: me,
    server: "test",
    rooms: [{ room: "#lobby", topic: "", members: [me], count: 1 }],
    limits: { maxFrame: 65536, maxUsers: 10 },
  });
  return new Renderer(state, { palette: new Palette(false), timestamps: "none", now: () => NOON });
}

const JOINED: ServerFrame = {
  type: "joined",
  room: "#rust",
  topic: "",
  members: ["alice", "bob", "dave", "carol"],
  count: 4,
  ops: ["alice"],
  voiced: ["bob"],
  modes: "+nt",
};
const MODE: ServerFrame = {
  type: "mode",
  room: "#rust",
  by: "alice",
  changes: "+m",
  args: [],
  ts: NOON,
};
const OP: ServerFrame = { ...MODE, changes: "+o-k", args: ["bob", "*"] };
const KICK: ServerFrame = {
  type: "leave",
  room: "#rust",
  nick: "bob",
  reason: "kicked_room",
  by: "alice",
  message: "spamming",
  ts: NOON,
};
const INVITE: ServerFrame = { type: "invite", room: "#rust", by: "alice", to: "carol", ts: NOON };

Deno.test("room modes render: the terminal client marks ops and voiced and shows modes, kicks and invites", () => {
  const renderer = terminal();
  assert.match(renderer.frame(JOINED)?.text ?? "", /with you: @alice, \+bob, dave\./);
  const who: ServerFrame = {
    type: "who",
    room: "#rust",
    members: ["alice", "bob", "carol"],
    ops: ["alice"],
    voiced: ["bob"],
  };
  assert.match(renderer.frame(who)?.text ?? "", /@alice, \+bob/);
  assert.match(renderer.frame(MODE)?.text ?? "", /\* alice sets mode \+m on #rust$/);
  assert.match(renderer.frame(OP)?.text ?? "", /\* alice sets mode \+o-k bob \* on #rust$/);
  assert.match(
    renderer.frame(KICK)?.text ?? "",
    /\* bob was kicked from #rust by alice \(spamming\)$/,
  );
  const invite = renderer.frame(INVITE);
  assert.equal(invite?.text, "* alice invites you to #rust (/join #rust)");
  assert.equal(invite?.bell, true, "an invitation is addressed to the user");
  assert.match(terminal("bob").frame(KICK)?.text ?? "", /\* You were kicked from #rust by alice/);
});

Deno.test("room modes render: netcat reads the same lines in plain text", () => {
  assert.equal(renderPlain(JOINED), "* You are in #rust with @alice, +bob, dave, carol.");
  assert.equal(renderPlain(MODE), "* alice sets mode +m on #rust");
  assert.equal(renderPlain(OP), "* alice sets mode +o-k bob * on #rust");
  assert.equal(renderPlain(KICK), "* bob was kicked from #rust by alice (spamming)");
  assert.equal(renderPlain(INVITE), "* alice invites you to #rust (/join #rust)");
  assert.equal(
    renderPlain({ type: "who", room: "#rust", members: ["alice", "bob"], ops: ["alice"] }),
    "* In #rust: @alice, bob",
  );
});

Deno.test("room modes render: the client's frame checker keeps the new frames and fields, and refuses bad ones", () => {
  for (const frame of [JOINED, MODE, OP, KICK, INVITE]) {
    assert.deepEqual(parseServerFrame(JSON.parse(JSON.stringify(frame))), { ok: true, frame });
  }
  const bad = [
    { ...JOINED, ops: ["mallory"] }, // a mark beside nobody listed
    { ...JOINED, modes: "+n t" },
    { ...MODE, changes: "+m\x1b[31m" },
    { ...MODE, args: ["a b"] },
    { ...MODE, args: Array(33).fill("x") },
    { ...INVITE, to: "" },
    { ...KICK, by: 5 },
  ];
  for (const frame of bad) assert.equal(parseServerFrame(frame).ok, false, JSON.stringify(frame));
  const code = { type: "error", code: "room_banned", message: "You are banned from #rust." };
  assert.ok(parseServerFrame(code).ok);
});

Deno.test("room modes render: a netcat user creates a room, is its operator, and sees modes, kicks and invites", async () => {
  const server = testServer();
  const nc = await LineSocket.connect(server);
  await nc.write("nc\n");
  await nc.readUntilText("/quit leaves.");
  const bob = await JsonClient.login(server, "bob");
  await nc.write("/join #rust\n");
  await plainUntil(nc, /^\* You are in #rust/);
  const joined = await command(bob, "/join #rust") as Extract<ServerFrame, { type: "joined" }>;
  assert.deepEqual(joined.ops, ["nc"]);
  await nc.write("/who\n");
  assert.equal(await plainUntil(nc, /^\* In #rust:/), "* In #rust: @nc, bob");
  await nc.write("/mode +m\n");
  assert.equal(await plainUntil(nc, /sets mode/), "* nc sets mode +m on #rust");
  const mode = await bob.expect("mode");
  assert.deepEqual([mode.by, mode.changes, mode.room], ["nc", "+m", "#rust"]);
  await nc.write("/kick #rust bob enough\n");
  assert.equal(await plainUntil(nc, /kicked/), "* bob was kicked from #rust by nc (enough)");
  const leave = await bob.expect("leave");
  assert.deepEqual([leave.reason, leave.by, leave.message], ["kicked_room", "nc", "enough"]);
  await command(bob, "/join #go");
  await command(bob, "/invite nc #go");
  assert.equal(await plainUntil(nc, /invites you/), "* bob invites you to #go (/join #go)");
  bob.close();
  nc.close();
  await server.shutdown();
});
