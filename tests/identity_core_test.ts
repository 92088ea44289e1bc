/**
 * Registered nicks in the chat core (issue 13): key and password accounts, takeover, lockout,
 * operators by key, --require-account and --guests-read, verified marks, /whois, /unregister.
 * Key proofs are built directly (the transports prove keys; the core compares fingerprints).
 */

import assert from "node:assert/strict";
import { Hub, type LoginRequest, type User } from "../core/hub.ts";
import type { KeyProof } from "../core/identity.ts";
import type { AccountLimits } from "../core/accounts.ts";
import { BanList } from "../core/moderation.ts";
import { runCommand } from "../core/commands/chat.ts";
import { type ErrorFrame, PROTOCOL_VERSION, type ServerFrame } from "../protocol/frames.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { ScryptHasher } from "../security/password_hash.ts";
import {
  ACCOUNT_PASSWORD_MAX_LENGTH,
  ACCOUNT_PASSWORD_MIN_LENGTH,
  MAX_ACCOUNTS_PER_KEY,
  MAX_REGISTRATIONS_PER_ADDRESS,
  REGISTRATION_WINDOW_MS,
} from "../config/security_limits.ts";
import { AUTH_LOCKOUT_MS, MAX_AUTH_FAILURES, TAKEOVER_COOLDOWN_MS } from "../config/limits.ts";
import { ManualClock, one, only, RecordingSink, types } from "./helpers/core.ts";

const ALICE_KEY: KeyProof = {
  source: "ssh",
  fingerprint: "SHA256:aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};
const MALLORY_KEY: KeyProof = {
  source: "ssh",
  fingerprint: "SHA256:malloryBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
};
const NATIVE_KEY: KeyProof = {
  source: "sockchat",
  fingerprint: "SHA256:nativeCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
};
const PASSWORD = "correct-horse";

/** A hub with accounts in a memory store and a cheap scrypt, and helpers to drive it. */
class Chat {
  readonly clock = new ManualClock();
  readonly store: MemoryHistory;
  readonly hub: Hub;
  readonly hasher: ScryptHasher;
  readonly bans: BanList;
  readonly audit: { event: string; fields: Record<string, string | number> }[] = [];
  #hosts = 0;

  constructor(
    options: {
      store?: MemoryHistory;
      operKeys?: string[];
      requireAccount?: boolean;
      guestsRead?: boolean;
      maxHashes?: number;
      accountLimits?: Partial<AccountLimits>;
      maxUsers?: number;
    } = {},
  ) {
    this.store = options.store ?? new MemoryHistory();
    this.hasher = new ScryptHasher({
      parameters: { N: 1024, r: 8, p: 1 },
      maxInProgress: options.maxHashes,
    });
    this.hub = new Hub({
      maxUsers: options.maxUsers ?? 100,
      maxFrame: 65536,
      serverName: "sockchat-test",
      store: this.store,
      replayBudgetBytes: 1 << 18,
      now: this.clock.now,
      bans: this.bans = new BanList(this.store.moderation, { mutes: this.store.moderation }),
      operSecret: { matches: (s) => s === "opensesame" },
      audit: (event, fields) => this.audit.push({ event, fields }),
      accounts: this.store,
      hasher: this.hasher,
      operKeys: new Set(options.operKeys ?? []),
      requireAccount: options.requireAccount,
      guestsRead: options.guestsRead,
      accountLimits: options.accountLimits,
    });
  }

  /** A login attempt from its own address unless the request names one. */
  async attempt(
    nick: string,
    request: Partial<LoginRequest> = {},
  ): Promise<{ sink: RecordingSink; user?: User; error?: ErrorFrame }> {
    const sink = new RecordingSink();
    const result = await this.hub.login(sink, {
      version: PROTOCOL_VERSION,
      nick,
      address: `192.0.2.${++this.#hosts}`,
      ...request,
    });
    return result.ok ? { sink, user: result.user } : { sink, error: result.error };
  }

  /** Logs in (throws if refused). */
  async login(nick: string, request: Partial<LoginRequest> = {}): Promise<Member> {
    const { sink, user, error } = await this.attempt(nick, request);
    if (user === undefined) throw new Error(`login of ${nick} refused: ${error?.message}`);
    return new Member(this.hub, user, sink);
  }

  /** The refusal of a login (throws if it is let in). */
  async refusal(nick: string, request: Partial<LoginRequest> = {}): Promise<ErrorFrame> {
    const { error } = await this.attempt(nick, request);
    if (error === undefined) throw new Error(`login of ${nick} was let in`);
    return error;
  }
}

/** A logged-in user. */
class Member {
  constructor(readonly hub: Hub, readonly user: User, readonly sink: RecordingSink) {}

  /** Runs a command line and waits for it to be done; returns the frames it brought. */
  async run(line: string, room = "#lobby"): Promise<ServerFrame[]> {
    this.sink.take();
    await runCommand(this.hub, this.user, line, room, "r1");
    return this.sink.take();
  }

  /** The one error among `frames`. */
  static error(frames: ServerFrame[]): ErrorFrame {
    return one(frames, "error");
  }

  /** The text of the info frames among `frames`. */
  static info(frames: ServerFrame[]): string {
    return only(frames, "info").map((f) => f.text).join("\n");
  }
}

Deno.test("identity: a nick registered to a key is refused to another key, to a password user and to no key", async () => {
  const chat = new Chat();
  const alice = await chat.login("alice", { key: ALICE_KEY });
  const registered = Member.info(await alice.run("/register"));
  assert.match(registered, /alice is now registered to an SSH key \(SHA256:aliceAAAAAAA\)/);
  await alice.run("/quit");
  for (
    const request of [
      { key: MALLORY_KEY },
      { accountPassword: "whatever123" },
      {},
    ] as Partial<LoginRequest>[]
  ) {
    const error = await chat.refusal("alice", request);
    assert.equal(error.code, "nick_registered");
    assert.equal(error.need, "key");
    assert.ok(!error.fatal, "the client may pick another nick");
    assert.match(error.message, /registered to an SSH key/);
  }
  // Folded as nicks are: case and lookalikes (Cyrillic А) are the same nick.
  assert.equal((await chat.refusal("ALICE", { key: MALLORY_KEY })).code, "nick_registered");
  assert.equal((await chat.refusal("\u0410lice", { key: MALLORY_KEY })).code, "nick_registered");
  // Its owner's key gets in, and the welcome says how.
  const back = await chat.login("alice", { key: ALICE_KEY });
  const welcome = one(back.sink.take(), "welcome");
  assert.deepEqual(welcome.account, { kind: "key", fingerprint: ALICE_KEY.fingerprint });
});

Deno.test("identity: /nick to a registered nick is refused with nick_registered, unless it is yours", async () => {
  const chat = new Chat();
  const alice = await chat.login("alice", { key: ALICE_KEY });
  await alice.run("/register");
  const carol = await chat.login("carol");
  await carol.run(`/register ${PASSWORD}`);
  await alice.run("/nick alice2");
  await carol.run("/nick carol2");
  const mallory = await chat.login("mallory", { key: MALLORY_KEY });
  const toKey = Member.error(await mallory.run("/nick alice"));
  assert.equal(toKey.code, "nick_registered");
  assert.equal(toKey.need, "key");
  const toPassword = Member.error(await mallory.run("/nick Carol"));
  assert.equal(toPassword.code, "nick_registered");
  assert.equal(toPassword.need, "password");
  assert.match(toPassword.message, /\/identify carol PASSWORD/);
  assert.equal(mallory.user.nick, "mallory");
  // The key's owner may take it back with /nick; verified again.
  await alice.run("/nick alice");
  assert.equal(alice.user.nick, "alice");
  assert.ok(alice.user.verified);
  // Leaving it for an unregistered nick leaves the mark behind.
  await alice.run("/nick elsewhere");
  assert.ok(!alice.user.verified);
});

Deno.test("identity: the owner logging in takes the nick over from a live session, which is told it was replaced", async () => {
  const chat = new Chat();
  const stale = await chat.login("alice", { key: ALICE_KEY });
  await stale.run("/register");
  const bob = await chat.login("bob");
  bob.sink.take();
  // Held for the cooldown: a stale session, not another live client of the account.
  chat.clock.advance(TAKEOVER_COOLDOWN_MS);
  const fresh = await chat.login("alice", { key: ALICE_KEY });
  const bye = one(stale.sink.take(), "bye");
  assert.equal(bye.reason, "replaced");
  assert.match(bye.message, /owner of the nickname alice logged in elsewhere/);
  assert.equal(stale.sink.closedWith, "replaced");
  assert.ok(!stale.user.online);
  assert.equal(chat.hub.user("alice"), fresh.user);
  const seen = bob.sink.take();
  assert.equal(one(seen, "leave").reason, "replaced");
  const join = one(seen, "join");
  assert.equal(join.verified, true);
  assert.ok(chat.audit.some((a) => a.event === "replaced" && a.fields.nick === "alice"));
});

Deno.test("identity: a password account is registered, proven in the hello or by /identify, and refused without it", async () => {
  const chat = new Chat();
  const dave = await chat.login("dave");
  assert.match(
    Member.info(await dave.run(`/register ${PASSWORD}`)),
    /dave is now registered to your password/,
  );
  assert.ok(dave.user.verified);
  // The store holds a salted scrypt hash, never the password.
  const [record] = chat.store.accounts.load();
  assert.equal(record.kind, "password");
  assert.ok(record.kind === "password" && record.hash.startsWith("scrypt$N=1024,r=8,p=1$"));
  assert.ok(!JSON.stringify(record).includes(PASSWORD));
  await dave.run("/quit");

  const missing = await chat.refusal("dave");
  assert.equal(missing.code, "nick_registered");
  assert.equal(missing.need, "password");
  const wrong = await chat.refusal("dave", { accountPassword: "not the one" });
  assert.equal(wrong.code, "bad_account_password");
  assert.ok(!wrong.fatal);
  const back = await chat.login("dave", { accountPassword: PASSWORD });
  assert.deepEqual(one(back.sink.take(), "welcome").account, { kind: "password" });
  assert.ok(back.user.verified);

  // /identify from another nick takes dave over, replacing the session holding it.
  const other = await chat.login("guest1");
  const wrongIdentify = Member.error(await other.run("/identify dave nope-nope"));
  assert.equal(wrongIdentify.code, "bad_account_password");
  chat.clock.advance(TAKEOVER_COOLDOWN_MS);
  const frames = await other.run(`/identify dave ${PASSWORD}`);
  assert.match(Member.info(frames), /You are identified as dave/);
  assert.equal(one(frames, "nick").new, "dave");
  assert.equal(other.user.nick, "dave");
  assert.ok(other.user.verified);
  assert.equal(one(back.sink.take(), "bye").reason, "replaced");
  // /identify of a nick nobody registered.
  assert.equal(Member.error(await other.run("/identify nobody secret99")).code, "not_registered");
});

Deno.test("identity: wrong account passwords lock the address out, across connections, for the window", async () => {
  const chat = new Chat();
  const erin = await chat.login("erin");
  await erin.run(`/register ${PASSWORD}`);
  await erin.run("/quit");
  const address = "198.51.100.7";
  for (let i = 1; i < MAX_AUTH_FAILURES; i++) {
    const error = await chat.refusal("erin", { address, accountPassword: `wrong-${i}` });
    assert.equal(error.code, "bad_account_password");
    assert.ok(!error.fatal, `attempt ${i} may retry`);
  }
  const last = await chat.refusal("erin", { address, accountPassword: "wrong-last" });
  assert.equal(last.code, "bad_account_password");
  assert.ok(last.fatal);
  assert.match(last.message, /Too many wrong account passwords/);
  // Even the right password is refused from there now, and nothing is hashed for it.
  const locked = await chat.refusal("erin", { address, accountPassword: PASSWORD });
  assert.ok(locked.fatal);
  // /identify from that address is locked out too.
  const guest = await chat.login("someone", { address });
  assert.match(Member.error(await guest.run(`/identify erin ${PASSWORD}`)).message, /Too many/);
  // Another address is not.
  await chat.login("erin", { address: "203.0.113.9", accountPassword: PASSWORD });
  assert.ok(
    chat.audit.filter((a) => a.event === "bad_account_password").length >= MAX_AUTH_FAILURES,
  );
  // After the window, the address may try again.
  chat.clock.advance(AUTH_LOCKOUT_MS);
  const again = await chat.refusal("erin", { address, accountPassword: "wrong-again" });
  assert.ok(!again.fatal);
});

Deno.test("identity: account password length limits at their boundaries", async () => {
  const chat = new Chat();
  const frank = await chat.login("frank");
  const short = "x".repeat(ACCOUNT_PASSWORD_MIN_LENGTH - 1);
  assert.match(Member.error(await frank.run(`/register ${short}`)).message, /at least 8/);
  const long = "y".repeat(ACCOUNT_PASSWORD_MAX_LENGTH + 1);
  assert.match(Member.error(await frank.run(`/register ${long}`)).message, /at most 128/);
  assert.match(Member.error(await frank.run("/register two words")).message, /one word/);
  assert.equal(chat.hub.account("frank"), undefined);
  const longest = "é".repeat(ACCOUNT_PASSWORD_MAX_LENGTH);
  await frank.run(`/register ${longest}`);
  assert.equal(chat.hub.account("frank")?.kind, "password");
  const gina = await chat.login("gina");
  await gina.run(`/register ${"z".repeat(ACCOUNT_PASSWORD_MIN_LENGTH)}`);
  assert.equal(chat.hub.account("gina")?.kind, "password");
});

Deno.test("identity: /register without a key says to use a password; a registered nick cannot be registered again", async () => {
  const chat = new Chat();
  const hal = await chat.login("hal");
  assert.match(Member.error(await hal.run("/register")).message, /\/register PASSWORD/);
  await hal.run(`/register ${PASSWORD}`);
  assert.match(Member.info(await hal.run("/register")), /registered to you already/);
  const native = await chat.login("ivy", { key: NATIVE_KEY });
  assert.match(Member.info(await native.run("/register")), /a sockchat key/);
  assert.equal(chat.hub.account("IVY")?.source, "sockchat");
});

Deno.test("identity: a key listed in --oper-keys is an operator at login, audit-logged; other keys are not", async () => {
  const chat = new Chat({ operKeys: [ALICE_KEY.fingerprint] });
  const alice = await chat.login("alice", { key: ALICE_KEY });
  assert.ok(alice.user.operator);
  assert.match(Member.info(alice.sink.take()), /you are an operator/);
  const oper = chat.audit.find((a) => a.event === "oper_key");
  assert.deepEqual(oper?.fields, {
    nick: "alice",
    address: alice.user.address,
    fingerprint: ALICE_KEY.fingerprint,
  });
  const mallory = await chat.login("mallory", { key: MALLORY_KEY });
  assert.ok(!mallory.user.operator);
  const plain = await chat.login("plain");
  assert.ok(!plain.user.operator);
  // The operator acts at once: a kick works without /oper.
  await alice.run("/kick plain");
  assert.equal(plain.sink.closedWith, "kicked");
});

Deno.test("identity: --require-account without --guests-read keeps guests out of rooms and quiet until registered", async () => {
  const chat = new Chat({ requireAccount: true });
  const guest = await chat.login("guest");
  const welcome = guest.sink.frames();
  assert.deepEqual(one(welcome, "welcome").rooms, []);
  assert.match(Member.info(welcome), /requires an account: you are in no room/);
  const refusedJoin = Member.error(await guest.run("/join #lobby"));
  assert.equal(refusedJoin.code, "account_required");
  assert.match(refusedJoin.message, /can enter rooms here/);
  assert.equal(Member.error(await guest.run("/msg x hi")).code, "account_required");
  guest.sink.take();
  chat.hub.say(guest.user, "#lobby", "hello?", "s1");
  assert.equal(Member.error(guest.sink.take()).code, "account_required");
  // /help works for a guest.
  assert.match(Member.info(await guest.run("/help")), /\/register \[PASSWORD/);
  // Registering lets them in: the lobby, and talk.
  const frames = await guest.run(`/register ${PASSWORD}`);
  assert.equal(one(frames, "joined").room, "#lobby");
  chat.hub.say(guest.user, "#lobby", "hello!", "s2");
  await chat.hub.flush();
  assert.deepEqual(types(guest.sink.take()), ["ack"]);
});

Deno.test("identity: on a --require-account server a key in --oper-keys is an operator who needs no account", async () => {
  const chat = new Chat({ requireAccount: true, operKeys: [ALICE_KEY.fingerprint] });
  const alice = await chat.login("alice", { key: ALICE_KEY });
  const welcome = alice.sink.frames();
  assert.equal(one(welcome, "welcome").rooms[0]?.room, "#lobby");
  assert.doesNotMatch(Member.info(welcome), /requires an account/);
  const guest = await chat.login("guest");
  await alice.run("/bans");
  assert.ok(!alice.sink.take().some((f) => f.type === "error"));
  chat.hub.say(alice.user, "#lobby", "rules apply", "s1");
  await chat.hub.flush();
  assert.equal(one(alice.sink.take(), "ack").ref, "s1");
  assert.ok(guest.user.rooms.size === 0);
});

Deno.test("identity: --require-account --guests-read: guests are in the lobby and read, but cannot talk", async () => {
  const chat = new Chat({ requireAccount: true, guestsRead: true });
  const owner = await chat.login("owner", { key: ALICE_KEY });
  await owner.run("/register");
  const guest = await chat.login("guest");
  assert.equal(one(guest.sink.frames(), "welcome").rooms[0].room, "#lobby");
  assert.match(Member.info(guest.sink.take()), /you can read, but only registered users can talk/);
  chat.hub.say(owner.user, "#lobby", "welcome all", "s1");
  await chat.hub.flush();
  assert.equal(one(guest.sink.take(), "msg").text, "welcome all");
  chat.hub.say(guest.user, "#lobby", "me too", "s2");
  assert.equal(Member.error(guest.sink.take()).code, "account_required");
  assert.equal(Member.error(await guest.run("/me waves")).code, "account_required");
  // Joining more rooms to read is allowed.
  assert.equal(one(await guest.run("/join #other"), "joined").room, "#other");
});

Deno.test("identity: verified marks in the welcome, joined, who and join frames", async () => {
  const chat = new Chat();
  const alice = await chat.login("alice", { key: ALICE_KEY });
  await alice.run("/register");
  const bob = await chat.login("bob");
  const welcome = one(bob.sink.take(), "welcome");
  assert.deepEqual(welcome.rooms[0].members, ["alice", "bob"]);
  assert.deepEqual(welcome.rooms[0].verified, ["alice"]);
  assert.equal(welcome.account, undefined);
  const who = one(await bob.run("/who"), "who");
  assert.deepEqual(who.verified, ["alice"]);
  await alice.run("/join #x");
  const joined = one(await bob.run("/join #x"), "joined");
  assert.deepEqual(joined.verified, ["alice"]);
  // A join frame carries verified: true only for a verified nick.
  alice.sink.take();
  await alice.run("/leave #x");
  await alice.run("/join #x");
  assert.equal(one(bob.sink.take(), "join").verified, true);
  await bob.run("/leave #x");
  await bob.run("/join #x");
  assert.equal(one(alice.sink.take(), "join").verified, undefined);
});

Deno.test("identity: /whois says registered or not, the kind and a short fingerprint, rooms, idle and away", async () => {
  const chat = new Chat();
  const alice = await chat.login("alice", { key: ALICE_KEY });
  await alice.run("/register");
  await alice.run("/away lunch");
  const bob = await chat.login("bob");
  chat.clock.advance(90_000);
  const text = Member.info(await bob.run("/whois alice"));
  assert.match(text, /alice is registered to an SSH key SHA256:aliceAAAAAAA, proven/);
  assert.match(text, /idle 1 min/);
  assert.match(text, /in #lobby/);
  assert.match(text, /lunch/);
  assert.match(Member.info(await bob.run("/whois bob")), /bob is not registered/);
  await alice.run("/quit");
  assert.match(
    Member.info(await bob.run("/whois alice")),
    /alice is registered to an SSH key .*nobody has that nick now/,
  );
});

Deno.test("identity: /unregister releases your own nick; an operator's /unregister NICK releases anyone's", async () => {
  const chat = new Chat();
  const alice = await chat.login("alice", { key: ALICE_KEY });
  await alice.run("/register");
  const bob = await chat.login("bob");
  assert.equal(Member.error(await bob.run("/unregister alice")).code, "not_operator");
  assert.equal(Member.error(await bob.run("/unregister")).code, "not_registered");
  assert.match(Member.info(await alice.run("/unregister")), /no longer registered/);
  assert.equal(chat.hub.account("alice"), undefined);
  assert.ok(!alice.user.verified);
  // A lost key: an operator releases the nick, and its holder is told.
  await alice.run("/register");
  const oper = await chat.login("oper");
  await oper.run("/oper opensesame");
  const released = Member.info(await oper.run("/unregister alice"));
  assert.match(released, /alice is no longer registered \(it was registered to an SSH key\)/);
  assert.match(Member.info(alice.sink.take()), /oper released your nick alice/);
  assert.ok(chat.audit.some((a) => a.event === "unregister" && a.fields.by === "oper"));
  await alice.run("/quit");
  await chat.login("alice", { key: MALLORY_KEY });
});

Deno.test("identity: accounts outlive the hub: a new hub over the same store knows them", async () => {
  const store = new MemoryHistory();
  const first = new Chat({ store });
  await (await first.login("alice", { key: ALICE_KEY })).run("/register");
  await (await first.login("dave")).run(`/register ${PASSWORD}`);
  const second = new Chat({ store });
  assert.equal((await second.refusal("alice")).code, "nick_registered");
  assert.equal((await second.refusal("dave")).need, "password");
  await second.login("dave", { accountPassword: PASSWORD });
});

Deno.test("identity: hashes in progress are capped; beyond the cap a login is told to try again", async () => {
  const chat = new Chat({ maxHashes: 1 });
  const dave = await chat.login("dave");
  await dave.run(`/register ${PASSWORD}`);
  await dave.run("/quit");
  const slow = chat.attempt("dave", { accountPassword: PASSWORD });
  assert.equal(chat.hasher.inProgress, 1);
  const busy = await chat.refusal("dave", { accountPassword: PASSWORD });
  assert.equal(busy.code, "rate_limited");
  assert.ok(!busy.fatal);
  assert.ok((await slow).user !== undefined);
  assert.equal(chat.hasher.inProgress, 0);
});

Deno.test("identity: one key registers at most MAX_ACCOUNTS_PER_KEY nicks; releasing one frees a place", async () => {
  const chat = new Chat();
  // Each nick from its own address, so only the per-key cap can stop them.
  const squatter = await chat.login("squat0", { key: MALLORY_KEY });
  for (let i = 0; i < MAX_ACCOUNTS_PER_KEY; i++) {
    const done = Member.info(await squatter.run("/register"));
    assert.match(done, /is now registered/, `registration ${i + 1}`);
    await squatter.run(`/nick squat${i + 1}`);
  }
  const refused = Member.error(await squatter.run("/register"));
  assert.equal(refused.code, "bad_command");
  assert.match(refused.message, /Your key owns 5 nicks already.*\/unregister one/);
  assert.equal(chat.hub.account(`squat${MAX_ACCOUNTS_PER_KEY}`), undefined);
  // Another key is not held back.
  const alice = await chat.login("alice", { key: ALICE_KEY });
  assert.match(Member.info(await alice.run("/register")), /now registered/);
  // Releasing one of the five lets the squatter's key register one more.
  const squat1 = await chat.login("squat1", { key: MALLORY_KEY });
  assert.match(Member.info(await squat1.run("/unregister")), /no longer registered/);
  assert.match(Member.info(await squatter.run("/register")), /now registered/);
});

Deno.test("identity: an address registers at most MAX_REGISTRATIONS_PER_ADDRESS nicks an hour", async () => {
  const chat = new Chat({ accountLimits: { perKey: 1000 } });
  const address = "203.0.113.9";
  const keys = Array.from({ length: MAX_REGISTRATIONS_PER_ADDRESS + 1 }, (_, i) => ({
    source: "sockchat" as const,
    fingerprint: `SHA256:bulk${i}`,
  }));
  for (let i = 0; i < MAX_REGISTRATIONS_PER_ADDRESS; i++) {
    const member = await chat.login(`bulk${i}`, { key: keys[i], address });
    assert.match(Member.info(await member.run("/register")), /now registered/, `${i + 1}`);
  }
  const last = await chat.login("bulkmore", { key: keys[MAX_REGISTRATIONS_PER_ADDRESS], address });
  const refused = Member.error(await last.run("/register"));
  assert.equal(refused.code, "rate_limited");
  assert.match(refused.message, /registered 10 nicks this hour.*try again in 3600 s/);
  // A password registration from that address is refused before it is hashed.
  const viaPassword = Member.error(await last.run(`/register ${PASSWORD}`));
  assert.equal(viaPassword.code, "rate_limited");
  assert.equal(chat.hasher.inProgress, 0);
  // Another address is not held back; an hour later this one may register again.
  const other = await chat.login("elsewhere", { key: keys[0] });
  assert.match(Member.info(await other.run("/register")), /now registered/);
  chat.clock.advance(REGISTRATION_WINDOW_MS);
  assert.match(Member.info(await last.run("/register")), /now registered/);
});

Deno.test("identity: the server holds at most its cap of accounts in all", async () => {
  const chat = new Chat({ accountLimits: { total: 3 } });
  for (const nick of ["one", "two", "three"]) {
    const member = await chat.login(nick);
    assert.match(Member.info(await member.run(`/register ${PASSWORD}`)), /now registered/);
  }
  const late = await chat.login("four");
  const refused = Member.error(await late.run(`/register ${PASSWORD}`));
  assert.equal(refused.code, "server_full");
  assert.match(refused.message, /holds 3 registered nicks/);
  const keyed = await chat.login("five", { key: ALICE_KEY });
  assert.equal(Member.error(await keyed.run("/register")).code, "server_full");
});

Deno.test("identity: one address hashes one /register PASSWORD at a time, leaving the rest for logins", async () => {
  const chat = new Chat({ maxHashes: 4 });
  const address = "203.0.113.20";
  const members = await Promise.all(
    ["reg1", "reg2", "reg3"].map((nick) => chat.login(nick, { address })),
  );
  // Three connections from one address register at once: one hashes, the others are told.
  const runs = members.map((member) => member.run(`/register ${PASSWORD}`));
  assert.equal(chat.hasher.inProgress, 1);
  const answers = await Promise.all(runs);
  const texts = answers.map((frames) =>
    frames.map((f) => f.type === "error" ? f.code : f.type).join(",")
  );
  assert.deepEqual(texts.filter((t) => t === "rate_limited").length, 2, texts.join(" | "));
  const busy = Member.error(answers.find((f) => f.some((x) => x.type === "error"))!);
  assert.match(busy.message, /being registered already/);
  // Done: the address may register again.
  assert.match(Member.info(await members[1].run(`/register ${PASSWORD}`)), /now registered/);
});

Deno.test("identity: the owner takes over a stale session on a full server (the takeover frees its slot)", async () => {
  const chat = new Chat({ maxUsers: 3 });
  const stale = await chat.login("alice", { key: ALICE_KEY });
  assert.match(Member.info(await stale.run("/register")), /now registered/);
  await chat.login("bob");
  await chat.login("carol");
  // Full: a newcomer is refused, the owner is not.
  assert.equal((await chat.refusal("dave")).code, "server_full");
  chat.clock.advance(TAKEOVER_COOLDOWN_MS);
  const back = await chat.login("alice", { key: ALICE_KEY });
  assert.equal(back.user.nick, "alice");
  assert.ok(types(stale.sink.take()).includes("bye"), "the stale session was told");
  assert.equal(chat.hub.userCount, 3);
  // Someone else's proven key on a full server is still refused, and replaces nobody.
  const refused = await chat.refusal("alice", { key: MALLORY_KEY });
  assert.equal(refused.code, "server_full");
  assert.equal(chat.hub.userCount, 3);
  assert.ok(!types(back.sink.take()).includes("bye"));
});

Deno.test("identity: a takeover that would be refused (a banned nick) leaves the session holding it alone", async () => {
  const chat = new Chat();
  const holder = await chat.login("dave");
  assert.match(Member.info(await holder.run(`/register ${PASSWORD}`)), /now registered/);
  const owner = await chat.login("davesphone");
  const key = await chat.login("erin", { key: ALICE_KEY });
  assert.match(Member.info(await key.run("/register")), /now registered/);
  await key.run("/nick erin2");
  // Banned while online (added straight to the list, so nobody is kicked).
  chat.bans.add({ kind: "nick", nick: "dave" }, 0, "test", "op", chat.clock.now());
  chat.bans.add({ kind: "nick", nick: "erin" }, 0, "test", "op", chat.clock.now());
  holder.sink.take();
  const identified = Member.error(await owner.run(`/identify dave ${PASSWORD}`));
  assert.equal(identified.code, "banned");
  assert.ok(!types(holder.sink.take()).includes("bye"), "dave's session was not replaced");
  assert.equal(chat.hub.userCount, 3);
  // The same for /nick by a key's owner: erin2 (proven key) back to erin, held by nobody, is
  // banned; and to a nick another session holds.
  const erinHolder = await chat.login("erin", { key: ALICE_KEY }).catch(() => null);
  assert.equal(erinHolder, null, "erin is banned");
  assert.equal(Member.error(await key.run("/nick erin")).code, "banned");
});
