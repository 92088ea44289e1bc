import assert from "node:assert/strict";
import { IRC_MAX_PROFILES } from "../config/irc_limits.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { CapOffer } from "../protocol/irc/caps.ts";
import { IrcProfiles, profileKey } from "../protocol/irc/profile.ts";
import { type IrcServerInfo, IrcSession } from "../protocol/irc/session.ts";
import { Outgoing, OutgoingBatch } from "../protocol/outgoing.ts";
import type { ChatView, SessionPort } from "../protocol/session.ts";
import type { ChatServer } from "../server.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";

// An event is encoded once per wire format: for IRC, once per cap profile (contract §5). The
// first tests drive IrcSession.render as the peer does (the same Outgoing handed to every
// reader), against a real hub, with readers whose port is a stub; the last ones run the whole
// server over real sockets and check the lines every reader gets.

const S = "irc.test";
const INFO: IrcServerInfo = {
  serverName: S,
  version: "sockchat-test",
  startedAt: 0,
  motd: "",
  isupport: [],
};
const OFFER: CapOffer = { sasl: false, multiline: { maxBytes: 4096, maxLines: 100 } };
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TS = Date.UTC(2026, 11, 1, 4, 30);
const TIME = "2026-12-01T04:30:00.000Z";

/** A reader as the peer sees it: a session whose own lines (CAP ACK ...) are collected. */
interface Reader {
  session: IrcSession;
  said: string[];
}

/** A session for a reader named `nick` with `caps` enabled, sharing through `profiles`. */
function reader(
  chat: ChatView,
  profiles: IrcProfiles | null,
  caps: string,
  nick = "reader",
): Reader {
  const said: string[] = [];
  // Only what rendering and CAP use: the rest of the port is never reached by these tests.
  const port: Partial<SessionPort> = {
    chat,
    address: "192.0.2.7",
    user: null,
    maxFrame: 8192,
    needsPassword: false,
    hold: () => true,
    admit: () => true,
    sendRaw: (bytes) => void said.push(decoder.decode(bytes)),
  };
  const session = new IrcSession(port as SessionPort, INFO, OFFER, profiles);
  if (caps !== "") {
    void session.frame(encoder.encode(`CAP REQ :${caps}`));
    assert.match(said.at(-1) ?? "", / ACK /, `caps ${caps} acknowledged`);
  }
  // The welcome makes `nick` the reader's own (its numerics, the frames about itself).
  session.render(
    new Outgoing({
      type: "welcome",
      v: 1,
      nick,
      server: S,
      rooms: [],
      limits: { maxFrame: 8192, maxUsers: 100 },
    }),
  );
  return { session, said };
}

const text = (bytes: Uint8Array) => decoder.decode(bytes);

/** A server with alice (native) in #r, so that her lines carry her real mask. */
async function withAlice(
  body: (chat: ChatView, server: ChatServer) => Promise<void> | void,
): Promise<void> {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
  const alice = await JsonClient.login(server, "alice");
  try {
    await command(alice, "/join #r");
    await body(server.hub, server);
  } finally {
    alice.close();
    await server.shutdown();
  }
}

const msg = (id: number, extra: Partial<Extract<ServerFrame, { type: "msg" }>> = {}) =>
  new Outgoing({ type: "msg", id, room: "#r", from: "alice", text: "hi there", ts: TS, ...extra });

Deno.test("IRC profiles: readers with the same caps share one encoding of a room message", async () => {
  await withAlice((chat) => {
    const profiles = new IrcProfiles(INFO);
    const readers = [1, 2, 3].map((i) =>
      reader(chat, profiles, "server-time message-tags", `r${i}`)
    );
    const out = msg(7);
    const bytes = readers.map((r) => r.session.render(out));
    assert.equal(profiles.encodes, 1, "encoded once for three readers");
    assert.equal(profiles.size, 1);
    assert.ok(bytes.every((b) => b === bytes[0]), "the same bytes handed to each");
    assert.match(
      text(bytes[0]),
      new RegExp(
        `^@(msgid=7;time=${TIME}|time=${TIME};msgid=7) :alice!~\\S+ PRIVMSG #r :hi there\r\n$`,
      ),
    );
    // A committed batch of messages is shared whole, and its frames once each.
    const batch = new OutgoingBatch([msg(8), msg(9)]);
    const together = readers.map((r) => r.session.render(batch));
    assert.equal(profiles.encodes, 3);
    assert.ok(together.every((b) => b === together[0]));
    assert.equal(text(together[0]).split("\r\n").length, 3);
  });
});

Deno.test("IRC profiles: different caps get different, correct lines; reader-only caps do not split a profile", async () => {
  await withAlice((chat) => {
    const profiles = new IrcProfiles(INFO);
    const bare = reader(chat, profiles, "");
    const timed = reader(chat, profiles, "server-time");
    // echo-message and multi-prefix change only the reader's own lines: same profile as `timed`.
    const timedEcho = reader(chat, profiles, "server-time echo-message multi-prefix");
    const out = msg(7);
    const lines = [bare, timed, timedEcho].map((r) => text(r.session.render(out)));
    assert.match(lines[0], /^:alice!~\S+ PRIVMSG #r :hi there\r\n$/);
    assert.match(lines[1], new RegExp(`^@time=${TIME} :alice!~\\S+ PRIVMSG #r :hi there\r\n$`));
    assert.equal(lines[2], lines[1]);
    assert.equal(profiles.encodes, 2, "one encoding per profile");
    assert.equal(profiles.size, 2);
    assert.equal(
      profileKey(new Set(["server-time", "echo-message", "multi-prefix"])),
      profileKey(new Set(["server-time"])),
    );
    assert.notEqual(profileKey(new Set(["server-time"])), profileKey(new Set()));
  });
});

Deno.test("IRC profiles: every shared frame type reads exactly as the reader's own rendering", async () => {
  await withAlice((chat) => {
    // Away: with away-notify, a JOIN of hers is followed by her AWAY line.
    const alice = chat.user("alice");
    assert.ok(alice !== undefined);
    alice.away = "brb";
    const frames: ServerFrame[] = [
      { type: "msg", id: 5, room: "#r", from: "alice", text: "plain", ts: TS },
      { type: "msg", id: 6, room: "#r", from: "alice", text: "waves", ts: TS, action: true },
      { type: "msg", id: 7, room: "#r", from: "alice", text: "hear ye", ts: TS, notice: true },
      { type: "msg", id: 8, room: "#r", from: "alice", text: "one\ntwo\n\nthree", ts: TS },
      { type: "msg", id: 9, room: "#r", from: "alice", text: "é".repeat(400), ts: TS },
      { type: "join", room: "#r", nick: "alice", ts: TS },
      { type: "leave", room: "#r", nick: "alice", reason: "part", message: "bye all", ts: TS },
      { type: "leave", room: "#r", nick: "alice", reason: "part", ts: TS },
      {
        type: "leave",
        room: "#r",
        nick: "bob",
        reason: "kicked_room",
        by: "alice",
        message: "out",
        ts: TS,
      },
      { type: "leave", room: "#r", nick: "bob", reason: "quit", message: "later", ts: TS },
      { type: "leave", room: "#r", nick: "carol", reason: "timeout", ts: TS },
      { type: "topic", room: "#r", topic: "new topic", by: "alice", ts: TS },
      { type: "nick", old: "bob", new: "bobby", ts: TS },
      { type: "mode", room: "#r", by: "alice", changes: "+ov", args: ["bob", "carol"], ts: TS },
      { type: "mode", room: "#r", by: "alice", changes: "+m", args: [], ts: TS },
    ];
    const capSets = [
      "",
      "server-time",
      "message-tags",
      "server-time message-tags account-tag extended-join",
      "batch draft/multiline message-tags server-time",
      "draft/multiline",
      "away-notify server-time",
      "account-notify setname extended-join",
      "echo-message multi-prefix userhost-in-names labeled-response standard-replies",
    ];
    for (const caps of capSets) {
      const profiles = new IrcProfiles(INFO);
      const shared = reader(chat, profiles, caps);
      const own = reader(chat, null, caps);
      for (const frame of frames) {
        const out = new Outgoing(frame);
        const before = profiles.encodes;
        assert.equal(
          text(shared.session.render(out)),
          text(own.session.render(out)),
          `${frame.type} ${JSON.stringify(frame)} with caps "${caps}"`,
        );
        assert.equal(profiles.encodes, before + 1, `${frame.type} was shared`);
      }
    }
  });
});

Deno.test("IRC profiles: a QUIT seen in two rooms is shown once per reader, again after a JOIN", async () => {
  await withAlice((chat) => {
    const profiles = new IrcProfiles(INFO);
    const readers = [reader(chat, profiles, "", "r1"), reader(chat, profiles, "", "r2")];
    const quit = (room: string) =>
      new Outgoing({ type: "leave", room, nick: "bob", reason: "quit", ts: TS });
    const first = quit("#a");
    const second = quit("#b");
    for (const r of readers) {
      assert.match(text(r.session.render(first)), /^:bob!\S+ QUIT :Quit\r\n$/);
      assert.equal(r.session.render(second).length, 0, "the second room's QUIT is not shown");
    }
    assert.equal(profiles.encodes, 1, "nothing encoded for a QUIT nobody is shown");
    const join = new Outgoing({ type: "join", room: "#a", nick: "bob", ts: TS });
    for (const r of readers) r.session.render(join);
    const again = quit("#a");
    for (const r of readers) {
      assert.match(text(r.session.render(again)), /QUIT :Quit\r\n$/, "bob came back and quit");
    }
  });
});

Deno.test("IRC profiles: past the profile cap, readers are rendered one by one, still correctly", async () => {
  assert.equal(IRC_MAX_PROFILES, 32);
  await withAlice((chat) => {
    const profiles = new IrcProfiles(INFO, { max: 2 });
    const a = reader(chat, profiles, "");
    const b = reader(chat, profiles, "server-time");
    const c = reader(chat, profiles, "message-tags");
    const c2 = reader(chat, profiles, "message-tags");
    const out = msg(11);
    const [ba, bb, bc, bc2] = [a, b, c, c2].map((r) => r.session.render(out));
    assert.equal(profiles.size, 2, "no third profile");
    assert.equal(profiles.encodes, 2, "the third profile's readers render for themselves");
    assert.match(text(ba), /^:alice!\S+ PRIVMSG #r :hi there\r\n$/);
    assert.match(text(bb), /^@time=\S+ :alice!/);
    assert.match(text(bc), /^@msgid=11 :alice!\S+ PRIVMSG #r :hi there\r\n$/);
    assert.equal(text(bc2), text(bc));
    assert.notEqual(bc2, bc, "each rendered its own");
  });
});

Deno.test("IRC profiles: frames about the reader, answering its command, or replayed stay its own", async () => {
  await withAlice((chat) => {
    const profiles = new IrcProfiles(INFO);
    const me = reader(chat, profiles, "server-time message-tags", "alice");
    const frames: ServerFrame[] = [
      { type: "msg", id: 3, room: "#r", from: "alice", text: "mine", ts: TS },
      { type: "msg", id: 4, room: "#r", from: "bob", text: "old", ts: TS, history: true },
      { type: "topic", room: "#r", topic: "t", by: "bob", ts: TS, ref: "i9" },
      { type: "topic", room: "#r", topic: "t", by: "", ts: TS },
      { type: "nick", old: "bob", new: "bobby", ts: TS, ref: "i3" },
      { type: "mode", room: "#r", by: "bob", changes: "+m", args: [], ts: TS, ref: "i4" },
      { type: "join", room: "#r", nick: "alice", ts: TS },
      { type: "ack", id: 3, room: "#r", ts: TS, ref: "i1" },
      { type: "invite", room: "#r", by: "bob", to: "alice", ts: TS },
      { type: "info", text: "hello" },
      { type: "error", code: "not_in_room", message: "You are not in #x." },
    ];
    for (const frame of frames) me.session.render(new Outgoing(frame));
    assert.equal(profiles.encodes, 0, "none of them went through a shared encoding");
    // The topic as asked for names the reader: a numeric, as its own renderer makes it.
    assert.match(
      text(
        me.session.render(new Outgoing({ type: "topic", room: "#r", topic: "t", by: "", ts: TS })),
      ),
      /^:irc\.test 332 alice #r :t\r\n$/,
    );
  });
});

/** Registers `nick` with `caps` (none: no CAP at all) and joins `#r`. */
async function ircReader(server: ChatServer, nick: string, caps: string): Promise<RawIrcClient> {
  const irc = await RawIrcClient.open(server);
  if (caps !== "") await irc.send(`CAP REQ :${caps}`);
  await irc.send(`NICK ${nick}`, `USER ${nick} 0 * :${nick}`);
  if (caps !== "") {
    await irc.expect(/ ACK /);
    await irc.send("CAP END");
  }
  await irc.expect(/ 221 /);
  await irc.send("JOIN #r");
  await irc.expect(/ 366 /);
  return irc;
}

Deno.test("IRC profiles over sockets: each reader gets its profile's lines, the sender its own echo", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
  const clients: RawIrcClient[] = [];
  try {
    const sender = await ircReader(server, "sender", "echo-message server-time message-tags");
    clients.push(sender);
    const bare = await ircReader(server, "bare", "");
    clients.push(bare);
    const tagged = await ircReader(server, "tagged", "server-time message-tags");
    clients.push(tagged);
    const tagged2 = await ircReader(server, "tagged2", "server-time message-tags multi-prefix");
    clients.push(tagged2);
    const joins = await ircReader(server, "joins", "extended-join");
    clients.push(joins);
    await sender.send("PRIVMSG #r :hello all");
    const echo = await sender.expect(/PRIVMSG #r/);
    assert.match(echo, /^@\S*msgid=(\d+)\S* :sender!~sender@\S+ PRIVMSG #r :hello all$/);
    const id = /msgid=(\d+)/.exec(echo)?.[1];
    assert.match(await bare.expect(/PRIVMSG #r/), /^:sender!~sender@\S+ PRIVMSG #r :hello all$/);
    const line = await tagged.expect(/PRIVMSG #r/);
    assert.match(line, new RegExp(`msgid=${id}[; ]`), "the echo and the others' line share msgid");
    assert.match(line, /time=\d{4}-\d\d-\d\dT[\d:.]+Z/);
    assert.equal(await tagged2.expect(/PRIVMSG #r/), line, "same profile, same line");
    assert.match(await joins.expect(/PRIVMSG #r/), /^:sender!\S+ PRIVMSG #r :hello all$/);
    // A JOIN, as each profile writes it.
    const late = await ircReader(server, "late", "");
    clients.push(late);
    assert.match(await joins.expect(/ JOIN /), /^:late!~late@\S+ JOIN #r \* :late$/);
    assert.match(await bare.expect(/ JOIN /), /^:late!~late@\S+ JOIN #r$/);
    assert.match(await tagged.expect(/ JOIN /), /^@time=\S+ :late!~late@\S+ JOIN #r$/);
    // A TOPIC: the setter's answers its own command; the others share theirs.
    await late.send("TOPIC #r :fresh");
    assert.match(await late.expect(/ TOPIC /), /^:late!\S+ TOPIC #r :fresh$/);
    assert.match(await bare.expect(/ TOPIC /), /^:late!\S+ TOPIC #r :fresh$/);
    assert.match(await tagged2.expect(/ TOPIC /), /^@time=\S+ :late!\S+ TOPIC #r :fresh$/);
    // A QUIT reaches every profile once.
    await late.send("QUIT :gone");
    for (const c of [bare, tagged, joins]) {
      assert.match(await c.expect(/ QUIT /), /^(@time=\S+ )?:late!\S+ QUIT :Quit: gone$/);
    }
  } finally {
    for (const c of clients) c.close();
    await server.shutdown();
  }
});

Deno.test("IRC profiles over sockets: a labeled command's answers keep their label; readers sharing the profile get none", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
  const clients: RawIrcClient[] = [];
  try {
    // labeled-response and echo-message change only the sender's own lines: the same profile.
    const base = "batch server-time message-tags";
    const sender = await ircReader(server, "sender", `${base} labeled-response echo-message`);
    clients.push(sender);
    const peer = await ircReader(server, "peer", base);
    clients.push(peer);
    await sender.send("@label=L1 PRIVMSG #r :labeled hello");
    const echo = await sender.expect(/PRIVMSG #r/);
    assert.match(echo, /^@\S*label=L1\S* :sender!\S+ PRIVMSG #r :labeled hello$/);
    const seen = await peer.expect(/PRIVMSG #r/);
    assert.match(seen, /^@\S+ :sender!\S+ PRIVMSG #r :labeled hello$/);
    assert.doesNotMatch(seen, /label=/);
    assert.equal(
      seen.replace(/^@(\S+) .*$/, "$1").split(";").sort().join(";"),
      echo.replace(/^@(\S+) .*$/, "$1").split(";").filter((t) => !t.startsWith("label="))
        .sort().join(";"),
      "the same msgid and time, only the label differs",
    );
    await sender.send("@label=L2 TOPIC #r :labeled topic");
    assert.match(
      await sender.expect(/ TOPIC /),
      /^@\S*label=L2\S* :sender!\S+ TOPIC #r :labeled topic$/,
    );
    const topic = await peer.expect(/ TOPIC /);
    assert.match(topic, /^@time=\S+ :sender!\S+ TOPIC #r :labeled topic$/);
  } finally {
    for (const c of clients) c.close();
    await server.shutdown();
  }
});
