/**
 * Nicks IRC can carry (contract §0): `!`, `@`, `*` and `?` nowhere, and `:`, `$`, `&`, `~`, `%`
 * and `+` not first, refused as `nick_invalid` with a sentence on every front end; `NickServ`
 * and `ChanServ`, folded, reserved for services; accounts registered before these rules keep
 * their nick.
 */

import assert from "node:assert/strict";
import { ircNickProblem, nickKey, nickProblem, serviceNick } from "../core/nick.ts";
import { Hub } from "../core/hub.ts";
import { BanList } from "../core/moderation.ts";
import { PROTOCOL_VERSION } from "../protocol/frames.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { CoreHarness, one, RecordingSink } from "./helpers/core.ts";
import { JsonClient, LineSocket, lineWith, testServer } from "./helpers/wire.ts";

const ANYWHERE = /may not contain !, @, \* or \? \(IRC uses them in addresses and masks\)\./;
const FIRST = /may not start with :, \$, &, ~, % or \+ \(IRC reads them as prefixes\)\./;
const SERVICE = /is the name of a service .*; pick another nickname\./;

Deno.test("nickProblem: IRC's address and mask characters nowhere, its prefixes not first", () => {
  for (const bad of ["al!ce", "al@ce", "al*ce", "al?ce", "alice!", "alice?", "?alice", "@alice"]) {
    assert.match(nickProblem(bad) ?? "", ANYWHERE, bad);
  }
  for (const bad of [":alice", "$alice", "&alice", "~alice", "%alice", "+alice"]) {
    assert.match(nickProblem(bad) ?? "", FIRST, bad);
  }
  // Further in, they are fine: IRC only reads them as prefixes at the start.
  for (const good of ["a:b", "a$b", "a&b", "al~ce", "50%", "c++", "alice", "[bot]", "a^b"]) {
    assert.equal(nickProblem(good), null, good);
  }
  // The older rules still speak first.
  assert.equal(nickProblem("*alice"), "A nickname may not start with #, /, * or !.");
  assert.equal(nickProblem("#alice"), "A nickname may not start with #, /, * or !.");
  assert.equal(ircNickProblem("alice"), null);
});

Deno.test("nickProblem: NickServ and ChanServ are services', however they are spelled", () => {
  for (const nick of ["NickServ", "nickserv", "NICKSERV", "NIckServ", "N1ckServ", "ChanServ"]) {
    assert.match(nickProblem(nick) ?? "", SERVICE, nick);
  }
  assert.equal(serviceNick("nickSERV"), "NickServ");
  assert.equal(serviceNick("chanserv"), "ChanServ");
  assert.equal(serviceNick("NickServer"), null);
  assert.equal(nickProblem("NickServer"), null);
  // Being registered does not win a service's name.
  assert.match(nickProblem("nickserv", { registered: true }) ?? "", SERVICE);
});

Deno.test("core: a login or /nick with such a nick is refused nick_invalid, with the sentence", () => {
  const chat = new CoreHarness();
  for (
    const [nick, why] of [["al!ce", ANYWHERE], ["+bob", FIRST], ["NickServ", SERVICE]] as const
  ) {
    const refused = chat.refusal(nick);
    assert.equal(refused.code, "nick_invalid", nick);
    assert.match(refused.message, why, nick);
  }
  const alice = chat.login("alice");
  for (
    const [nick, why] of [["ali?e", ANYWHERE], ["~alice", FIRST], ["chanserv", SERVICE]] as const
  ) {
    alice.run(`/nick ${nick}`, "n");
    const error = one(alice.take(), "error");
    assert.equal(error.code, "nick_invalid", nick);
    assert.match(error.message, why, nick);
    assert.equal(error.ref, "n");
  }
  assert.equal(alice.user.nick, "alice");
});

Deno.test("core: an account registered before the IRC rules keeps its nick; nobody new gets one", async () => {
  const store = new MemoryHistory();
  const fingerprint = "SHA256:plusbobAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  store.accounts.save({
    key: nickKey("+bob"),
    nick: "+bob",
    created: 1,
    kind: "key",
    fingerprint,
    source: "ssh",
  });
  const hub = new Hub({
    maxUsers: 10,
    maxFrame: 65536,
    serverName: "test",
    store,
    replayBudgetBytes: 1 << 18,
    bans: new BanList(store.moderation, { mutes: store.moderation }),
    accounts: store,
  });
  const login = (nick: string, proven: boolean) =>
    hub.login(new RecordingSink(), {
      version: PROTOCOL_VERSION,
      nick,
      address: "192.0.2.1",
      ...(proven ? { key: { source: "ssh" as const, fingerprint } } : {}),
    });
  const owner = await login("+bob", true);
  assert.ok(owner.ok, JSON.stringify(owner));
  assert.equal(owner.user.nick, "+bob");
  const other = await login("+carl", true);
  assert.ok(!other.ok);
  assert.equal(other.error.code, "nick_invalid");
  assert.match(other.error.message, FIRST);
});

Deno.test("wire: NDJSON and netcat logins with such nicks are refused with the sentence", async () => {
  const server = testServer();
  const sockets: LineSocket[] = [];
  try {
    const json = new JsonClient(
      await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    );
    sockets.push(json);
    await json.send({ type: "hello", v: 1, nick: "b@d" });
    const error = await json.expect("error");
    assert.equal(error.code, "nick_invalid");
    assert.match(error.message, ANYWHERE);
    const nc = await LineSocket.connect(server);
    sockets.push(nc);
    await nc.write("%op\n");
    assert.match(await lineWith(nc, "may not start"), FIRST);
    await nc.write("ChanServ\n");
    assert.match(await lineWith(nc, "service"), SERVICE);
  } finally {
    for (const s of sockets) s.close();
    await server.shutdown();
  }
});
