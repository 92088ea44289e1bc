/**
 * Room ban masks are shown as the operator wrote them: `+b evil!*@*` was kept only in its folded
 * form and echoed, listed (367) and shown to netcat users as `evll!*@*`. The folded form is still
 * what a ban matches and is found by (`-b EVIL`, `-b evll`), and a claimed room's bans keep their
 * written form in SQLite; a row from before it existed loads and shows the folded form.
 *
 * @module
 */

import assert from "node:assert/strict";
import { banMask, banShown } from "../core/room_modes.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { one, only } from "./helpers/core.ts";
import { Chat } from "./helpers/claims_chat.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { LineSocket, testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";

/** The mode frame among `frames`, as changes and args. */
function modeOf(frames: ServerFrame[]): [string, string[]] {
  const mode = one(frames, "mode");
  return [mode.changes, [...mode.args]];
}

Deno.test("ban display: the mask is kept as written beside its folded form", () => {
  assert.equal(banShown("evil"), "evil!*@*");
  assert.equal(banMask("evil"), "evll!*@*");
  assert.equal(banShown("Evil!~Foo@Host.Example"), "Evil!~foo@host.example");
  assert.equal(banShown("$a:Evil"), "$a:Evil");
  assert.equal(banShown("203.0.113.0/24"), "*!*@203.0.113.0/24");
  assert.equal(banShown("bad\u200b"), null);
});

Deno.test("ban display: IRC MODE echo, 367 and a netcat member's line show evil!*@*, not evll!*@*", async () => {
  const server: ChatServer = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
  const op = await RawIrcClient.login(server, "opr");
  const nc = await LineSocket.connect(server);
  try {
    await nc.write("dan\n");
    await nc.readUntilText("/quit leaves.\r\n");
    await op.send("JOIN #kb");
    await op.expect(/ 366 opr #kb /);
    await nc.write("/join #kb\n");
    await op.expect(/ JOIN #kb/);
    await op.send("MODE #kb +b evil!*@*");
    assert.match(await op.expect(/ MODE #kb /), /^:opr!\S+ MODE #kb \+b evil!\*@\*$/);
    await op.send("MODE #kb b");
    assert.match(await op.expect(/ 367 /), new RegExp(`^:${S} 367 opr #kb evil!\\*@\\* opr \\d+$`));
    await op.expect(/ 368 /);
    while (true) {
      const line = await nc.readLine("the mode line");
      if (line === null) throw new Error("EOF before the mode line");
      if (!/sets mode/.test(line)) continue;
      assert.match(line, /opr sets mode \+b evil!\*@\* on #kb/);
      break;
    }
    // Lifted by its IRC-case-folded spelling; the echo names the ban as it was written.
    await op.send("MODE #kb -b EVIL!*@*");
    assert.match(await op.expect(/ MODE #kb /), /^:opr!\S+ MODE #kb -b evil!\*@\*$/);
    assert.deepEqual(server.hub.room("#kb")?.modes.bans, []);
  } finally {
    op.close();
    nc.close();
    await server.shutdown();
  }
});

Deno.test("ban display: the NDJSON mode frame and /mode +b show the written mask; any fold-equal spelling lifts it", async () => {
  for (const spelling of ["evil!*@*", "EVIL!*@*", "evll!*@*", "EviI", "evil"]) {
    const chat = new Chat(new MemoryHistory(), "#kb");
    const alice = await chat.login("alice");
    await alice.run("/join #kb");
    assert.deepEqual(modeOf(await alice.run("/mode +b Evil")), ["+b", ["Evil!*@*"]]);
    assert.match(one(await alice.run("/mode +b"), "info").text, /^\* {3}Evil!\*@\* by alice$/m);
    // The same ban again, in another spelling, changes nothing.
    assert.equal(only(await alice.run("/mode +b evll"), "mode").length, 0);
    assert.deepEqual(modeOf(await alice.run(`/mode -b ${spelling}`)), ["-b", ["Evil!*@*"]]);
    assert.deepEqual(chat.hub.room("#kb")?.modes.bans, [], spelling);
  }
});

Deno.test("ban display: matching is by the folded form (a ban on evil still keeps EviI out)", async () => {
  const chat = new Chat(new MemoryHistory(), "#kb");
  const alice = await chat.login("alice");
  await alice.run("/join #kb");
  await alice.run("/mode +b evil");
  const lookalike = await chat.login("EviI");
  const codes = only(await lookalike.run("/join #kb"), "error").map((e) => e.code);
  assert.equal(codes.length, 1);
  assert.match(codes[0], /ban/);
  assert.equal(chat.hub.room("#kb")?.members.has(lookalike.user), false);
});

Deno.test("ban display: a claimed room's ban keeps its written form across a reopened SQLite file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/chat.db`;
  try {
    const first = new SqliteHistory({ path, retention: 1000, upkeepIntervalMs: 0 });
    {
      const chat = new Chat(first, "#kb");
      const alice = await chat.verified("alice");
      await alice.run("/join #kb");
      await alice.run("/register #kb");
      await alice.run("/mode +b Evil!*@*");
      chat.hub.shutdown();
    }
    first.close();
    const second = new SqliteHistory({ path, retention: 1000, upkeepIntervalMs: 0 });
    try {
      const chat = new Chat(second, "#kb");
      const alice = await chat.login("alice");
      await alice.run("/join #kb");
      assert.match(one(await alice.run("/mode +b"), "info").text, /^\* {3}Evil!\*@\* by alice$/m);
      const lookalike = await chat.login("evll");
      assert.equal(only(await lookalike.run("/join #kb"), "error").length, 1, "still banned");
      assert.deepEqual(modeOf(await alice.run("/mode -b EVIL")), ["-b", ["Evil!*@*"]]);
      chat.hub.shutdown();
    } finally {
      second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ban display: a stored ban without its written form still loads and shows the folded one; a written form that is not its mask's is dropped", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/chat.db`;
  try {
    const store = new SqliteHistory({ path, retention: 1000, upkeepIntervalMs: 0 });
    try {
      store.claims.save({
        roomKey: "#kb",
        room: "#kb",
        owner: "alice",
        modes: {
          t: false,
          m: false,
          i: false,
          key: null,
          limit: null,
          bans: [
            { mask: "evll!*@*", by: "x", at: 1 },
            { mask: "bob!*@*", shown: "mallory!*@*", by: "x", at: 2 },
            { mask: "carol!*@*", shown: "Carol!*@*", by: "x", at: 3 },
          ],
        },
        ops: [],
        voices: [],
        created: 1,
      });
      const [record] = store.claims.load();
      assert.deepEqual(record.modes.bans, [
        { mask: "evll!*@*", by: "x", at: 1 },
        { mask: "bob!*@*", by: "x", at: 2 },
        { mask: "carol!*@*", shown: "Carol!*@*", by: "x", at: 3 },
      ]);
      const chat = new Chat(store, "#kb");
      const dan = await chat.login("dan");
      await dan.run("/join #kb");
      const text = one(await dan.run("/mode +b"), "info").text;
      assert.match(text, /^\* {3}evll!\*@\* by x$/m);
      assert.match(text, /^\* {3}Carol!\*@\* by x$/m);
      chat.hub.shutdown();
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
