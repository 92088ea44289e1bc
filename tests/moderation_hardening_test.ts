/**
 * "Hardening II", moderation and the store under trouble, each pinned by a test: checks that
 * wrote (an expired ban deleted at the door), /oper guessing across connections, a full disk
 * (store errors that name it, /ban that killed the operator, what keeps working), nicks shaped
 * like addresses, address blocks, and mutes that did not survive a restart.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MAX_AUTH_FAILURES, MAX_OPER_FAILURES } from "../config/limits.ts";
import {
  addressBlock,
  type Ban,
  BanList,
  type Mute,
  MuteList,
  type RecordTable,
} from "../core/moderation.ts";
import { nickKey } from "../core/nick.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { describeStoreError } from "../store/store_error.ts";
import { command, hello, JsonClient, LineSocket, testServer } from "./helpers/wire.ts";

const secret = (value: string) => ({ matches: (c: string | undefined) => c === value });
const code = (frame: ServerFrame) => (frame.type === "error" ? frame.code : frame.type);
const text = (frame: ServerFrame) =>
  frame.type === "error" ? frame.message : frame.type === "info" ? frame.text : "";

/** Sends a room message and returns its answer (ack or error), matched by ref. */
async function say(client: JsonClient, body: string, room = "#lobby"): Promise<ServerFrame> {
  const ref = `m${Math.random().toString(36).slice(2)}`;
  await client.send({ type: "msg", room, text: body, ref });
  while (true) {
    const frame = await client.next("the answer to a message");
    if (frame === null) throw new Error("EOF waiting for the answer to a message");
    if ("ref" in frame && frame.ref === ref) return frame;
  }
}

/** A store whose every write throws, as on a disk that takes nothing. */
class UnwritableStore {
  writes = 0;
  readonly bans: RecordTable<Ban>;
  readonly mutes: RecordTable<Mute>;
  constructor(bans: Ban[] = [], mutes: Mute[] = []) {
    const write = (): never => {
      this.writes++;
      throw new Error(describeStoreError(new Error("database or disk is full")));
    };
    this.bans = { load: () => bans, save: write, delete: write };
    this.mutes = { load: () => mutes, save: write, delete: write };
  }
}

Deno.test("ban and mute checks never write: expired entries are ignored, not deleted", () => {
  const now = 1_000_000;
  const store = new UnwritableStore(
    [
      { kind: "address", target: "10.0.0.1", until: now - 1, reason: "", by: "op" },
      { kind: "nick", target: nickKey("ghost"), until: now, reason: "", by: "op" },
      { kind: "nick", target: nickKey("villain"), until: 0, reason: "forever", by: "op" },
    ],
    [{ kind: "nick", target: nickKey("quiet"), until: now - 5, by: "op" }],
  );
  const bans = new BanList(store, { mutes: store });
  assert.equal(bans.find(null, "10.0.0.1", now), undefined);
  assert.equal(bans.find("ghost", "10.0.0.2", now), undefined);
  assert.equal(bans.find("Villain", "10.0.0.2", now)?.reason, "forever");
  assert.deepEqual(bans.active(now).map((b) => b.target), [nickKey("villain")]);
  assert.equal(bans.mutes.mutedUntil("quiet", "10.0.0.3", now), 0);
  assert.equal(store.writes, 0, "no check wrote anything");
});

Deno.test("an expired address ban with a database that cannot be written does not stop the server", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/bans.db`;
  try {
    const seed = new SqliteHistory({ path: db, retention: 100, upkeepIntervalMs: 0 });
    const past = Date.now() - 60_000;
    seed.moderation.bans.save({
      kind: "address",
      target: "127.0.0.1",
      until: past,
      reason: "",
      by: "op",
    });
    seed.moderation.bans.save({
      kind: "nick",
      target: nickKey("ghost"),
      until: past,
      reason: "",
      by: "op",
    });
    seed.close();
    const server = testServer({ db, operSecret: secret("s") });
    // Another program holds the write lock: every write fails (after the busy timeout), as on a
    // full disk, while reads go on. A DELETE needs no new page, so this is how to make one fail.
    const holder = new DatabaseSync(db);
    holder.exec("BEGIN IMMEDIATE");
    try {
      const alice = await JsonClient.login(server, "alice");
      const ghost = await JsonClient.login(server, "ghost");
      assert.equal(code(await command(alice, "/nick ghostly")), "nick");
      assert.equal(code(await command(ghost, "/who")), "who");
      assert.equal(server.hub.userCount, 2, "the door and every check worked without writing");
      alice.close();
      ghost.close();
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    await server.shutdown();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("/oper guesses count per address across connections: then even the right secret is refused", async () => {
  const server = testServer({ operSecret: secret("right") });
  let guesses = 0;
  for (let c = 0; guesses < MAX_AUTH_FAILURES; c++) {
    // Stay under the per-connection limit, which closes the connection: reconnecting is the attack.
    const guesser = await JsonClient.login(server, `guesser${c}`);
    for (let i = 0; i < MAX_OPER_FAILURES - 1 && guesses < MAX_AUTH_FAILURES; i++, guesses++) {
      assert.equal(text(await command(guesser, `/oper wrong${guesses}`)), "Wrong operator secret.");
    }
    guesser.close();
  }
  const patient = await JsonClient.login(server, "patient");
  const refused = await command(patient, "/oper right");
  assert.equal(code(refused), "not_operator");
  assert.match(
    text(refused),
    /^Too many wrong operator secrets from your address; try again in \d+ s\.$/,
  );
  assert.equal(code(await command(patient, "/bans")), "not_operator", "not an operator");
  patient.close();
  await server.shutdown();
});

Deno.test("on a full disk: store errors name it, /ban keeps the operator, and what needs no disk works", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const server = testServer({
      db: `${dir}/full.db`,
      storeFault: "full",
      flood: null,
      operSecret: secret("s"),
    });
    const alice = await JsonClient.login(server, "alice");
    const bob = await JsonClient.login(server, "bob");
    const op = await JsonClient.login(server, "op");
    assert.equal(code(await command(op, "/oper s")), "info");

    // Messages fill what is left of the file, then fail with the cause, not a ROLLBACK error.
    let failed: ServerFrame | null = null;
    for (let i = 0; i < 200 && failed === null; i++) {
      const answer = await say(alice, `${i} ${"x".repeat(1000)}`);
      if (answer.type === "error") failed = answer;
    }
    assert.ok(failed !== null, "the disk filled up");
    assert.equal(code(failed), "store_failed");
    assert.equal(
      text(failed),
      "Your message could not be saved, so it was not sent (the disk is full).",
    );

    // Everything that needs no disk goes on.
    assert.equal(code(await command(alice, "/msg bob still here?")), "ack");
    assert.equal((await bob.expect("dm")).text, "still here?");
    assert.equal(code(await command(alice, "/who")), "who");
    assert.equal(code(await command(alice, "/rooms")), "rooms");
    assert.equal(code(await command(alice, "/join #elsewhere")), "joined");
    assert.equal(code(await command(alice, "/nick alicia")), "nick");
    assert.match(text(await command(alice, "/history 5")), /^\* End of history for #lobby/);
    const late = await JsonClient.login(server, "late");

    // Bans until one cannot be saved: the operator is told why, and stays connected.
    let refusal: ServerFrame | null = null;
    for (let i = 0; i < 100 && refusal === null; i++) {
      const answer = await command(op, `/ban filler${i} 1h ${"r".repeat(190)}`);
      if (answer.type === "error") refusal = answer;
    }
    assert.ok(refusal !== null, "the bans table filled up");
    assert.equal(code(refusal), "store_failed");
    assert.match(
      text(refusal),
      /^The ban could not be saved \(the disk is full\): nick filler\d+ for 1h holds only until the server restarts\.$/,
    );
    // The ban still holds for this run: its target is removed and cannot come back. (A row as
    // long as the one that just failed: a shorter one might still fit in a page.)
    const banned = await command(op, `/ban bob 1h ${"r".repeat(190)}`);
    assert.equal(code(banned), "store_failed");
    assert.equal((await bob.expect("bye")).reason, "banned");
    const again = await hello(server.addr.port, { nick: "bob" });
    assert.equal((await again.expect("error")).code, "banned");
    assert.equal(code(await command(op, "/who")), "who", "the operator is still here");
    for (const c of [alice, bob, op, late, again]) c.close();
    await server.shutdown();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a nick shaped like an address is banned as a nick; nick: and addr: say which", async () => {
  const server = testServer({ operSecret: secret("s"), maxConnsPerIp: 20 });
  const op = await JsonClient.login(server, "op");
  await command(op, "/oper s");
  for (const nick of ["10.0.0.1", "dead:beef", "cafe::1"]) {
    const user = await JsonClient.login(server, nick);
    const reply = await command(op, `/ban ${nick} 1h`);
    assert.match(
      text(reply),
      new RegExp(`^\\* Banned nick ${nick.replaceAll(".", "\\.")} for 1h\\.`),
    );
    assert.equal((await user.expect("bye")).reason, "banned", `${nick} is gone`);
    user.close();
  }
  // The bare form of an address nobody uses as a nick is an address ban; it says so.
  assert.match(
    text(await command(op, "/ban 192.0.2.7 10m")),
    /^\* Banned address 192\.0\.2\.7 for 10m\. \(For a nick of that name instead: \/ban nick:192\.0\.2\.7\.\)$/,
  );
  assert.equal(
    text(await command(op, "/ban nick:nick:odd")),
    "* Banned nick nick:odd permanently.",
  );
  assert.equal(code(await command(op, "/ban addr:dead:beef")), "bad_command");
  assert.equal(code(await command(op, "/ban addr:10.0.0.0/4")), "bad_command");
  const list = text(await command(op, "/bans"));
  assert.match(list, /nick 10\.0\.0\.1 for 1h by op/);
  assert.match(list, /address 192\.0\.2\.7 for 10m by op/);
  assert.equal(text(await command(op, "/unban 10.0.0.1")), "* Unbanned nick 10.0.0.1.");
  assert.equal(text(await command(op, "/unban addr:192.0.2.7")), "* Unbanned address 192.0.2.7.");
  assert.equal(text(await command(op, "/unban nick:dead:beef")), "* Unbanned nick dead:beef.");
  assert.equal(
    text(await command(op, "/unban nick:dead:beef")),
    "* The nick dead:beef was not banned.",
  );
  op.close();
  await server.shutdown();
});

Deno.test("/ban addr:BLOCK bans a CIDR block at the door, and /unban addr:BLOCK lifts it", async () => {
  const server = testServer({ operSecret: secret("s") });
  const op = await JsonClient.login(server, "op");
  await command(op, "/oper s");
  const other = await JsonClient.login(server, "other");
  // Host bits are cleared: 127.0.0.77/24 is the block 127.0.0.0/24.
  assert.equal(
    text(await command(op, "/ban addr:127.0.0.77/24 1h")),
    "* Banned address 127.0.0.0/24 for 1h.",
  );
  assert.equal((await other.expect("bye")).reason, "banned");
  const door = await LineSocket.connect(server);
  assert.match(await door.readLine() ?? "", /"code":"banned"/);
  await door.expectEof();
  assert.equal(
    text(await command(op, "/unban addr:127.0.0.1/24")),
    "* Unbanned address 127.0.0.0/24.",
  );
  const back = await JsonClient.login(server, "back");
  for (const c of [op, other, door, back]) c.close();
  await server.shutdown();
});

Deno.test("address blocks match IPv4, IPv6 and IPv4-mapped addresses by prefix", () => {
  const store = new UnwritableStore();
  const bans = new BanList({ bans: { load: () => [], save() {}, delete() {} } });
  const block = (text: string) => {
    const prefix = addressBlock(text);
    assert.ok(prefix !== null, text);
    return prefix;
  };
  bans.add({ kind: "address", prefix: block("10.0.0.0/8") }, 0, "", "op", 0);
  bans.add({ kind: "address", prefix: block("2001:db8::/32") }, 0, "", "op", 0);
  bans.add({ kind: "address", prefix: block("2001:db8:1:2::9") }, 0, "specific", "op", 0);
  assert.equal(bans.find(null, "10.200.3.4", 1)?.target, "10.0.0.0/8");
  assert.equal(bans.find(null, "::ffff:10.1.2.3", 1)?.target, "10.0.0.0/8");
  assert.equal(bans.find(null, "11.0.0.1", 1), undefined);
  assert.equal(bans.find(null, "2001:db8:ffff::1", 1)?.target, "2001:db8::/32");
  assert.equal(bans.find(null, "2001:db9::1", 1), undefined);
  // A bare IPv6 address bans its /64, and the most specific ban is the one reported.
  assert.equal(bans.find(null, "2001:db8:1:2:abcd::1", 1)?.reason, "specific");
  assert.equal(bans.find(null, "not an address", 1), undefined);
  assert.equal(store.writes, 0);
});

Deno.test("mutes outlive a restart, by nick and by address, and so does lifting them", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/mutes.db`;
  try {
    let server = testServer({ db, operSecret: secret("s") });
    let op = await JsonClient.login(server, "op");
    await command(op, "/oper s");
    let loud = await JsonClient.login(server, "loud");
    assert.equal(text(await command(op, "/mute loud 1h")), "* Muted loud for 1h.");
    for (const c of [op, loud]) c.close();
    await server.shutdown();

    server = testServer({ db, operSecret: secret("s") });
    loud = await JsonClient.login(server, "loud");
    assert.equal(text(await command(loud, "/me is back")), "You are muted for 1h.");
    const alias = await JsonClient.login(server, "someone_else");
    assert.equal(code(await command(alias, "/me tries")), "muted", "the address is muted too");
    op = await JsonClient.login(server, "op");
    await command(op, "/oper s");
    assert.equal(text(await command(op, "/unmute loud")), "* Unmuted loud.");
    for (const c of [op, loud, alias]) c.close();
    await server.shutdown();

    server = testServer({ db });
    loud = await JsonClient.login(server, "loud");
    assert.equal(code(await command(loud, "/me speaks")), "ack", "the unmute was saved too");
    loud.close();
    await server.shutdown();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a mute that cannot be saved still holds for this run, and the operator is told", () => {
  const store = new UnwritableStore();
  const mutes = new MuteList(store);
  const change = mutes.mute("loud", "192.0.2.1", 0, "op");
  assert.equal(change.saveError, "the disk is full");
  assert.equal(mutes.mutedUntil("LOUD", "192.0.2.9", 5), Infinity);
  assert.equal(mutes.mutedUntil("other", "192.0.2.1", 5), Infinity);
});
