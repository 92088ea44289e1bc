import assert from "node:assert/strict";
import { Client, kiwi as kiwiClient, quitKiwi } from "./helpers/irc_framework.ts";
import type { ChatServer, ServerOptions } from "../server.ts";
import { JsonClient, plainLogin, testServer, within } from "./helpers/wire.ts";

// irc-framework 4.14.0 (Kiwi IRC's library) next to netcat and NDJSON users: messages both ways,
// room modes and kicks as the library reports them, the one nick-folding rule from both sides,
// and a ping timeout. Each client closes cleanly under the sanitizers.

/** The events these tests read, as irc-framework emits them. */
interface MessageEvent {
  nick: string;
  target: string;
  message: string;
  type: string;
}
interface ModeEvent {
  target: string;
  nick: string;
  modes: { mode: string; param?: string }[];
}
interface KickEvent {
  kicked: string;
  nick: string;
  channel: string;
  message: string;
}

function ircServer(options: ServerOptions = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" }, ...options });
}

/** An irc-framework client registered as `nick` (pings off unless asked). */
function kiwi(
  server: ChatServer,
  nick: string,
  extra: Record<string, unknown> = {},
): Promise<Client> {
  return kiwiClient(server, nick, { extra });
}

/** Quits (if still connected) and waits for the socket to close. */
async function done(client: Client, connected = true): Promise<void> {
  if (connected) await quitKiwi(client, "done");
}

/** The next event `name` that passes `test`. */
function next<T>(client: Client, name: string, test: (event: T) => boolean = () => true) {
  return new Promise<T>((resolve) => {
    const listener = (event: T) => {
      if (test(event)) resolve(event);
    };
    client.on(name, listener as (event: never) => void);
  });
}

/** Joins `room` and waits for the library's own join event. */
async function joinRoom(client: Client, nick: string, room: string): Promise<void> {
  const joined = next<{ nick: string; channel: string }>(
    client,
    "join",
    (e) => e.nick === nick && e.channel === room,
  );
  client.join(room);
  await within(joined, `${nick} joins ${room}`);
}

/** irc-framework's `Connection.write`. */
type Writer = (line: string, callback?: () => void) => void;

Deno.test("irc-framework and a netcat user chat both ways in #lobby", async () => {
  const server = ircServer();
  const client = await kiwi(server, "kiwi");
  const nc = await plainLogin(server, "nell");
  try {
    await joinRoom(client, "kiwi", "#lobby");
    await nc.readUntilText("kiwi");
    const heard = next<MessageEvent>(client, "message", (e) => e.nick === "nell");
    await nc.write("hello from netcat\n");
    const message = await within(heard, "netcat's message");
    assert.deepEqual([message.target, message.message, message.type], [
      "#lobby",
      "hello from netcat",
      "privmsg",
    ]);
    client.say("#lobby", "hello from irc");
    const line = await nc.readUntilText("hello from irc");
    assert.match(line, /kiwi/);
  } finally {
    nc.close();
    await done(client);
    await server.shutdown();
  }
});

Deno.test("irc-framework sees room modes and voice, and a moderated room silences it", async () => {
  const server = ircServer();
  const owner = await kiwi(server, "owner");
  const json = await JsonClient.login(server, "jo");
  try {
    await joinRoom(owner, "owner", "#quiet");
    await json.send({ type: "cmd", line: "/join #quiet", room: "#lobby" });
    await json.expect("joined");

    // The creator is @, and its MODE +m reaches the library as a mode event.
    const moded = next<ModeEvent>(owner, "mode", (e) => e.target === "#quiet");
    owner.raw("MODE #quiet +m");
    const mode = await within(moded, "mode +m");
    assert.deepEqual(mode.modes.map((m) => m.mode), ["+m"]);
    const seen = await json.expect("mode");
    assert.equal(seen.room, "#quiet");

    // jo is neither voiced nor an operator: refused in a moderated room.
    await json.send({ type: "msg", room: "#quiet", text: "may I?", ref: "m1" });
    const refused = await json.expect("error");
    assert.equal(refused.code, "room_moderated");

    // Voice from IRC (MODE +v) lets jo speak; the library hears it.
    const voiced = next<ModeEvent>(owner, "mode", (e) => e.modes.some((m) => m.mode === "+v"));
    owner.raw("MODE #quiet +v jo");
    assert.equal((await within(voiced, "mode +v")).modes[0].param, "jo");
    const heard = next<MessageEvent>(owner, "message", (e) => e.nick === "jo");
    await json.send({ type: "msg", room: "#quiet", text: "now I may", ref: "m2" });
    assert.equal((await within(heard, "voiced message")).message, "now I may");
  } finally {
    json.close();
    await done(owner);
    await server.shutdown();
  }
});

Deno.test("irc-framework: a room operator kicks a sockchat user, and is kicked by one", async () => {
  const server = ircServer();
  const op = await kiwi(server, "opal");
  const json = await JsonClient.login(server, "jade");
  const victim = await kiwi(server, "vic");
  try {
    await joinRoom(op, "opal", "#ring");
    await json.send({ type: "cmd", line: "/join #ring", room: "#lobby" });
    await json.expect("joined");
    await joinRoom(victim, "vic", "#ring");

    // IRC op kicks the NDJSON user: both sides see it, with the reason.
    const kicked = next<KickEvent>(op, "kick", (e) => e.kicked === "jade");
    op.raw("KICK #ring jade :too loud");
    const kick = await within(kicked, "kick of jade");
    assert.deepEqual([kick.nick, kick.channel, kick.message], ["opal", "#ring", "too loud"]);
    const left = await json.expect("leave");
    assert.equal(left.room, "#ring");

    // An NDJSON user made operator kicks an IRC user: the library gets the kick of itself.
    await json.send({ type: "cmd", line: "/join #ring", room: "#lobby" });
    await json.expect("joined");
    const opped = next<ModeEvent>(op, "mode", (e) => e.modes.some((m) => m.mode === "+o"));
    op.raw("MODE #ring +o jade");
    await within(opped, "mode +o jade");
    const out = next<KickEvent>(victim, "kick", (e) => e.kicked === "vic");
    await json.send({ type: "cmd", line: "/kick #ring vic bye now", room: "#ring" });
    const self = await within(out, "vic kicked");
    assert.deepEqual([self.nick, self.channel], ["jade", "#ring"]);
  } finally {
    json.close();
    await done(victim);
    await done(op);
    await server.shutdown();
  }
});

Deno.test("nick folding: one rule from both sides (IRC vs sockchat)", async () => {
  const server = ircServer();
  const json = await JsonClient.login(server, "Bob");
  const client = new Client();
  try {
    // IRC asks for a case variant of a sockchat user's nick: 433, as CASEMAPPING=ascii says.
    const inUse = new Promise<{ nick: string }>((resolve) => client.once("nick in use", resolve));
    client.connect({
      host: "127.0.0.1",
      port: server.addresses.irc?.port,
      nick: "bOB",
      username: "b",
      gecos: "b",
      auto_reconnect: false,
      ping_interval: 0,
    });
    assert.equal((await within(inUse, "nick in use")).nick, "bOB");
    const registered = new Promise<{ nick: string }>((resolve) =>
      client.once("registered", resolve)
    );
    client.raw("NICK Kiwi");
    assert.equal((await within(registered, "registered as Kiwi")).nick, "Kiwi");

    // sockchat asks for a case variant of the IRC user's nick: nick_taken.
    const late = await JsonClient.login(server, "someone");
    try {
      await late.send({ type: "cmd", line: "/nick KIWI", room: "#lobby", ref: "n1" });
      const refused = await late.expect("error");
      assert.equal(refused.code, "nick_taken");
    } finally {
      late.close();
    }
  } finally {
    json.close();
    await done(client);
    await server.shutdown();
  }
});

Deno.test("irc-framework that stops answering PING is dropped with a ping timeout", async () => {
  const server = ircServer({ idleTimeoutMs: 600 });
  const client = await kiwi(server, "sleepy");
  const watcher = await kiwi(server, "watch");
  try {
    await joinRoom(client, "sleepy", "#nap");
    await joinRoom(watcher, "watch", "#nap");
    // The library answers PING itself (misc.js: connection.write("PONG ...")): its answers are
    // swallowed, so the server hears nothing back.
    const conn = (client as unknown as { connection: { write: Writer } }).connection;
    const write = conn.write.bind(conn);
    conn.write = (line, callback) => /^PONG\b/.test(line) ? callback?.() : write(line, callback);
    const quit = next<{ nick: string; message: string }>(
      watcher,
      "quit",
      (e) => e.nick === "sleepy",
    );
    const closed = new Promise((resolve) => client.once("close", resolve));
    const event = await within(quit, "sleepy's quit", 5_000);
    assert.match(event.message, /ping/i);
    await within(closed, "sleepy closed");
  } finally {
    await done(watcher);
    await server.shutdown();
  }
});
