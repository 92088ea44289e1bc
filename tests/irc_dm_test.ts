import assert from "node:assert/strict";
import { type Client, kiwi as registered, quitKiwi as quit } from "./helpers/irc_framework.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { JsonClient, LineSocket, testServer, within } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";
import { Palette } from "../client/colors.ts";
import { Renderer } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { parseServerFrame } from "../client/server_frame.ts";

const S = "irc.test";

function ircServer(): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
}

/** A registered raw client with `caps` enabled. */
async function capClient(server: ChatServer, nick: string, caps: string): Promise<RawIrcClient> {
  const irc = await RawIrcClient.open(server);
  await irc.send("CAP LS 302", `NICK ${nick}`, `USER ${nick} 0 * :${nick}`);
  await irc.expect(/ CAP \S+ LS /);
  await irc.send(`CAP REQ :${caps}`, "CAP END");
  await irc.expect(/ 221 /);
  return irc;
}

/** alice and carol on IRC, bob on NDJSON and ned on netcat, all logged in. */
async function fourUsers(server: ChatServer) {
  const alice = await RawIrcClient.login(server, "alice");
  const carol = await RawIrcClient.login(server, "carol");
  const json = await JsonClient.login(server, "bob");
  const nc = await LineSocket.connect(server);
  try {
    await nc.write("ned\n");
    await nc.readUntilText("ned");
  } catch (error) {
    for (const c of [alice, carol, json, nc]) c.close();
    throw error;
  }
  return { alice, carol, json, nc };
}

Deno.test("IRC DMs: ACTION and NOTICE to a nick reach NDJSON as dm action/notice, netcat as text, IRC as sent", async () => {
  const server = ircServer();
  const { alice, carol, json, nc } = await fourUsers(server);
  try {
    await alice.send("PRIVMSG bob :\x01ACTION waves\x01", "NOTICE bob :heads up");
    const action = await json.expect("dm");
    assert.deepEqual([action.from, action.text, action.action], ["alice", "waves", true]);
    const notice = await json.expect("dm");
    assert.deepEqual([notice.text, notice.notice, notice.action], ["heads up", true, undefined]);

    await alice.send("PRIVMSG ned :\x01ACTION nods\x01", "NOTICE ned :fyi");
    await nc.readUntilText("[dm] * alice nods\r\n");
    await nc.readUntilText("[dm] <alice> fyi\r\n");

    await alice.send("PRIVMSG carol :\x01ACTION waves\x01", "NOTICE carol :heads up");
    assert.match(
      await carol.expect(/alice/),
      new RegExp("^:alice!\\S+ PRIVMSG carol :\x01ACTION waves\x01$"),
    );
    assert.match(await carol.expect(/alice/), /^:alice!\S+ NOTICE carol :heads up$/);
  } finally {
    for (const c of [alice, carol, json, nc]) c.close();
    await server.shutdown();
  }
});

Deno.test("IRC DMs: other CTCP reaches IRC readers only, a reply as NOTICE; non-IRC readers get nothing and the sender no error", async () => {
  const server = ircServer();
  const { alice, carol, json, nc } = await fourUsers(server);
  try {
    await alice.send("PRIVMSG carol :\x01VERSION\x01");
    assert.match(
      await carol.expect(/alice/),
      new RegExp("^:alice!\\S+ PRIVMSG carol :?\x01VERSION\x01$"),
    );
    await carol.send("NOTICE alice :\x01VERSION irssi 1.4\x01");
    assert.match(
      await alice.expect(/carol/),
      new RegExp("^:carol!\\S+ NOTICE alice :\x01VERSION irssi 1.4\x01$"),
    );

    await alice.send("PRIVMSG bob :\x01PING 123\x01", "PRIVMSG ned :\x01VERSION\x01");
    await alice.send("PRIVMSG bob :after", "PRIVMSG ned :after");
    // The CTCPs left no trace: the first frame and line the readers get are the next DMs.
    assert.equal((await json.expect("dm")).text, "after");
    let line: string | null = "";
    while (line !== null && !line.startsWith("[dm]")) line = await nc.readLine();
    assert.equal(line, "[dm] <alice> after");
    // And the sender got no error for them: the next line it reads answers this PING.
    await alice.send("PING :done");
    assert.equal(await alice.expect(/./), `:${S} PONG ${S} :done`);

    // echo-message echoes a CTCP as sent, still wrapped.
    const eve = await capClient(server, "eve", "echo-message");
    try {
      await eve.send("PRIVMSG carol :\x01PING 42\x01");
      assert.match(
        await eve.expect(/PRIVMSG/),
        new RegExp("^:eve!\\S+ PRIVMSG carol :\x01PING 42\x01$"),
      );
      assert.match(await carol.expect(/eve/), new RegExp("PRIVMSG carol :\x01PING 42\x01$"));
    } finally {
      eve.close();
    }
  } finally {
    for (const c of [alice, carol, json, nc]) c.close();
    await server.shutdown();
  }
});

Deno.test("IRC DMs: CTCP to a room other than ACTION is FAIL CTCP_UNSUPPORTED (NOTICE: silently dropped), and not stored", async () => {
  const server = ircServer();
  const alice = await capClient(server, "alice", "standard-replies");
  const plain = await RawIrcClient.login(server, "pat");
  const json = await JsonClient.login(server, "bob");
  try {
    for (const c of [alice, plain]) {
      await c.send("JOIN #lobby");
      await c.expect(/ 366 /);
    }
    await json.expect("join");
    await alice.send("PRIVMSG #lobby :\x01VERSION\x01");
    assert.match(
      await alice.expect(/FAIL/),
      /^:irc\.test FAIL PRIVMSG CTCP_UNSUPPORTED #lobby :/,
    );
    // Without standard-replies the refusal may come as a NOTICE (contract §5.11).
    await plain.send("PRIVMSG #lobby :\x01TIME\x01");
    assert.match(
      await plain.expect(/FAIL|NOTICE/),
      /^:irc\.test (?:FAIL PRIVMSG CTCP_UNSUPPORTED #lobby|NOTICE pat) :/,
    );
    await alice.send("NOTICE #lobby :\x01VERSION x\x01", "PING :done");
    assert.equal(await alice.expect(/./), `:${S} PONG ${S} :done`);
    await alice.send("PRIVMSG #lobby :\x01ACTION stays\x01");
    const msg = await json.expect("msg");
    assert.deepEqual([msg.text, msg.action], ["stays", true]);
    // Not stored: a newcomer's replay of #lobby starts with the ACTION.
    const late = await JsonClient.login(server, "late");
    const replayed = await late.expect("msg");
    assert.deepEqual([replayed.text, replayed.history], ["stays", true]);
    late.close();
  } finally {
    alice.close();
    plain.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC DMs: a message to oneself is delivered; with echo-message also echoed", async () => {
  const server = ircServer();
  const plain = await RawIrcClient.login(server, "solo");
  const echo = await capClient(server, "duo", "echo-message message-tags");
  const labeled = await capClient(server, "tri", "echo-message batch labeled-response");
  try {
    await plain.send("PRIVMSG solo :note to self", "PING :done");
    assert.match(await plain.expect(/solo|PONG/), /^:solo!\S+ PRIVMSG solo :note to self$/);
    assert.equal(await plain.expect(/./), `:${S} PONG ${S} :done`); // once, no error

    await echo.send("PRIVMSG duo :hello me");
    const first = await echo.expect(/PRIVMSG duo/);
    const second = await echo.expect(/PRIVMSG duo/);
    assert.match(first, /^@msgid=(\d+) :duo!\S+ PRIVMSG duo :hello me$/);
    assert.equal(second, first); // delivery and echo: the same message, the same msgid

    // With a label only the echo is labeled (irctest testLabeled{Privmsg,Notice}ResponsesToSelf).
    for (const command of ["PRIVMSG", "NOTICE"]) {
      await labeled.send(`@label=l${command} ${command} tri :to me`);
      const lines = [await labeled.expect(/ tri :/), await labeled.expect(/ tri :/)];
      assert.equal(lines.filter((l) => l.includes(`label=l${command}`)).length, 1, `${lines}`);
      for (const line of lines) assert.match(line, new RegExp(`:tri!\\S+ ${command} tri :to me$`));
    }
  } finally {
    plain.close();
    echo.close();
    labeled.close();
    await server.shutdown();
  }
});

Deno.test("IRC DMs: a multiline batch to a nick is one batch for a multiline reader, lines for others; NDJSON DMs reach IRC", async () => {
  const server = ircServer();
  const alice = await capClient(server, "alice", "batch draft/multiline");
  const ml = await capClient(server, "mel", "batch draft/multiline");
  const plain = await RawIrcClient.login(server, "pat");
  const json = await JsonClient.login(server, "jo");
  try {
    for (const to of ["mel", "pat"]) {
      await alice.send(
        `BATCH +${to} draft/multiline ${to}`,
        `@batch=${to} PRIVMSG ${to} :one`,
        `@batch=${to} PRIVMSG ${to} :two`,
        `BATCH -${to}`,
      );
    }
    assert.match(await ml.expect(/BATCH/), /^:alice!\S+ BATCH \+(\S+) draft\/multiline mel$/);
    assert.match(await ml.expect(/PRIVMSG/), /^@batch=\S+ :alice!\S+ PRIVMSG mel :?one$/);
    assert.match(await ml.expect(/PRIVMSG/), /^@batch=\S+ :alice!\S+ PRIVMSG mel :?two$/);
    await ml.expect(/BATCH -/);
    assert.match(await plain.expect(/PRIVMSG/), /^:alice!\S+ PRIVMSG pat :?one$/);
    assert.match(await plain.expect(/PRIVMSG/), /^:alice!\S+ PRIVMSG pat :?two$/);

    await json.send({ type: "cmd", line: "/msg pat hi", room: "#lobby" });
    assert.match(await plain.expect(/PRIVMSG/), /^:jo!\S+ PRIVMSG pat :?hi$/);
  } finally {
    for (const c of [alice, ml, plain, json]) c.close();
    await server.shutdown();
  }
});

/** irc-framework's client, with the calls these tests use that its type file leaves out. */
type Kiwi = Client & {
  action(target: string, message: string): void;
  notice(target: string, message: string): void;
  ctcpRequest(target: string, type: string, ...params: string[]): void;
};

async function kiwi(server: ChatServer, nick: string): Promise<Kiwi> {
  return await registered(server, nick) as Kiwi;
}

Deno.test("irc-framework DMs: action and notice to NDJSON and back to IRC; CTCP VERSION answered between two IRC clients", async () => {
  const server = ircServer();
  const kim = await kiwi(server, "kim");
  const lee = await kiwi(server, "lee");
  const json = await JsonClient.login(server, "nora");
  try {
    kim.action("nora", "waves");
    kim.notice("nora", "heads up");
    const action = await json.expect("dm");
    assert.deepEqual([action.from, action.text, action.action], ["kim", "waves", true]);
    const notice = await json.expect("dm");
    assert.deepEqual([notice.text, notice.notice], ["heads up", true]);

    const acted = new Promise<{ nick: string; message: string }>((resolve) =>
      lee.once("action", resolve)
    );
    kim.action("lee", "nods");
    const seen = await within(acted, "action");
    assert.deepEqual([seen.nick, seen.message], ["kim", "nods"]);

    // irc-framework answers VERSION itself (with a NOTICE): both legs cross sockchat.
    const answered = new Promise<{ nick: string; message: string }>((resolve) =>
      kim.once("ctcp response", resolve)
    );
    kim.ctcpRequest("lee", "VERSION");
    const version = await within(answered, "ctcp response");
    assert.equal(version.nick, "lee");
    assert.match(version.message, /^VERSION node\.js irc-framework/);

    const heard = new Promise<{ nick: string; message: string }>((resolve) =>
      kim.once("privmsg", resolve)
    );
    await json.send({ type: "cmd", line: "/msg kim hello", room: "#lobby" });
    const dm = await within(heard, "privmsg");
    assert.deepEqual([dm.nick, dm.message], ["nora", "hello"]);
  } finally {
    json.close();
    await quit(kim, "done");
    await quit(lee, "done");
    await server.shutdown();
  }
});

Deno.test("native client: a DM action reads '* bob waves', a DM notice as a DM, a CTCP query not at all", () => {
  const state = new RoomState("alice");
  const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
  const dm = { type: "dm" as const, id: 1, from: "bob", to: "alice", ts: 0 };
  assert.equal(renderer.frame({ ...dm, text: "waves", action: true })?.text, "[dm] * bob waves");
  assert.equal(renderer.frame({ ...dm, text: "fyi", notice: true })?.text, "[dm] <bob> fyi");
  assert.equal(renderer.frame({ ...dm, text: "VERSION", ctcp: true }), null);
  const parsed = parseServerFrame({ ...dm, text: "waves", action: true });
  assert.ok(parsed.ok && parsed.frame.type === "dm" && parsed.frame.action === true);
});
