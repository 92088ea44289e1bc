/**
 * Issue 13, verified marks in the terminal client: a nick whose owner proved it is shown with
 * ` ✓` (` (v)` in the mono theme) in the welcome's member lists, `joined`, `/who` and join
 * lines; the welcome says how the user's own nick was proven. The frame check keeps only marks
 * on listed members. Last, the marks as they come from a real server.
 */

import assert from "node:assert/strict";
import { Palette, type ThemeName } from "../client/colors.ts";
import { Renderer, VERIFIED_MARK, VERIFIED_MARK_ASCII } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { parseServerFrame } from "../client/server_frame.ts";
import { IdentityKey } from "../client/identity_key.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { command, hello, JsonClient, testServer } from "./helpers/wire.ts";

function renderer(theme: ThemeName = "dark"): Renderer {
  return new Renderer(new RoomState("alice"), {
    palette: new Palette(false, theme),
    timestamps: "none",
  });
}

function text(frame: ServerFrame, theme: ThemeName = "dark"): string {
  return renderer(theme).frame(frame)?.text ?? "";
}

Deno.test("verified marks: member lists and join lines mark proven nicks, and only them", () => {
  const welcome: ServerFrame = {
    type: "welcome",
    v: 1,
    nick: "alice",
    server: "test",
    rooms: [{
      room: "#lobby",
      topic: "",
      members: ["bob", "carol", "alice"],
      count: 3,
      verified: ["bob", "alice"],
    }],
    limits: { maxFrame: 65536, maxUsers: 10 },
  };
  assert.match(text(welcome), /In #lobby with you: bob ✓, carol\./);
  assert.match(text(welcome, "mono"), /In #lobby with you: bob \(v\), carol\./);
  const joined: ServerFrame = {
    type: "joined",
    room: "#rust",
    topic: "",
    members: ["dave", "alice"],
    count: 2,
    verified: ["dave"],
  };
  assert.match(text(joined), /with you: dave ✓\./);
  const who: ServerFrame = {
    type: "who",
    room: "#rust",
    members: ["dave", "erin"],
    verified: ["erin"],
  };
  assert.match(text(who), /dave, erin ✓\./);
  const join: ServerFrame = { type: "join", room: "#lobby", nick: "bob", ts: 0, verified: true };
  assert.equal(text(join), "* bob ✓ joined #lobby");
  assert.equal(text(join, "mono"), "* bob (v) joined #lobby");
  assert.equal(text({ ...join, verified: undefined }), "* bob joined #lobby");
  assert.equal(VERIFIED_MARK, " ✓");
  assert.equal(VERIFIED_MARK_ASCII, " (v)");
});

Deno.test("verified marks: the welcome says how your own nick was proven", () => {
  const base: ServerFrame = {
    type: "welcome",
    v: 1,
    nick: "alice",
    server: "test",
    rooms: [],
    limits: { maxFrame: 65536, maxUsers: 10 },
  };
  assert.doesNotMatch(text(base), /registered/);
  assert.match(
    text({ ...base, account: { kind: "key", fingerprint: "SHA256:abcdefghijklmnopqrstuvwxyz" } }),
    /\* Your nick is registered to you: proven by your key SHA256:abcdefghijkl\./,
  );
  assert.match(
    text({ ...base, account: { kind: "password" } }),
    /proven by its account password\./,
  );
});

Deno.test("verified marks: the frame check keeps verified, need and account, and refuses a mark on nobody", () => {
  const who = parseServerFrame({ type: "who", room: "#a", members: ["bob"], verified: ["bob"] });
  assert.deepEqual(who, {
    ok: true,
    frame: { type: "who", room: "#a", members: ["bob"], verified: ["bob"] },
  });
  const stray = parseServerFrame({ type: "who", room: "#a", members: ["bob"], verified: ["eve"] });
  assert.equal(stray.ok, false);
  const join = parseServerFrame({ type: "join", room: "#a", nick: "bob", ts: 1, verified: true });
  assert.ok(join.ok && join.frame.type === "join" && join.frame.verified === true);
  const error = parseServerFrame({
    type: "error",
    code: "nick_registered",
    message: "m",
    need: "password",
  });
  assert.ok(error.ok && error.frame.type === "error" && error.frame.need === "password");
  assert.equal(
    parseServerFrame({ type: "error", code: "nick_registered", message: "m", need: "x" }).ok,
    false,
  );
});

Deno.test("verified marks from a real server: a key owner's join and /who are marked", async () => {
  const server = testServer();
  const key = await (await IdentityKey.generate()).key.forServer("test");
  const keyLogin = async () => {
    const client = await hello(server.addr.port, { nick: "bob", key: key.publicLine });
    const { nonce } = await client.expect("challenge");
    await client.send({ type: "prove", sig: await key.prove(nonce) });
    await client.expect("welcome");
    return client;
  };
  const owner = await keyLogin();
  assert.notEqual((await command(owner, "/register")).type, "error");
  await owner.send({ type: "quit" });
  await owner.expectEof();
  owner.close();
  const watcher = await JsonClient.login(server, "alice");
  const back = await keyLogin();
  const view = renderer();
  const join = await watcher.expect("join");
  const checked = parseServerFrame(join);
  assert.ok(checked.ok);
  assert.equal(view.frame(checked.frame)?.text, "* bob ✓ joined #lobby");
  const who = await command(watcher, "/who");
  const checkedWho = parseServerFrame(who);
  assert.ok(checkedWho.ok);
  assert.equal(view.frame(checkedWho.frame)?.text, "* In #lobby with you: bob ✓.");
  back.close();
  watcher.close();
  await server.shutdown();
});
