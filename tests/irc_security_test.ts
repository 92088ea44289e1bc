/**
 * Security review fixes of the IRC front end: a labeled `BATCH +` waits for its `BATCH -` only
 * when the batch opened; a labeled response past the buffer cap still ends labeled; refused
 * lines (417, invalid UTF-8) are charged to flood control; history lines claim no account or
 * mask of whoever holds the author's nick now.
 */

import assert from "node:assert/strict";
import type { FloodGuardOptions } from "../security/token_bucket.ts";
import type { IrcCap } from "../protocol/irc/caps.ts";
import { LabeledResponses } from "../protocol/irc/labels.ts";
import { encodeLine, type IrcLine, parseLine } from "../protocol/irc/line.ts";
import { capped, RawIrcClient } from "./helpers/irc.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, flood: null, ...extra });
}

/** The lines read up to the answer to a PING sent now (everything before it was answered). */
async function upToPong(irc: RawIrcClient, token = "sync"): Promise<string[]> {
  await irc.send(`PING ${token}`);
  const lines: string[] = [];
  while (true) {
    const line = await irc.readLine("a line before PONG");
    if (line === null) throw new Error(`EOF before PONG; seen:\n${lines.join("\n")}`);
    if (line === `:${S} PONG ${S} :${token}`) return lines;
    lines.push(line);
  }
}

/** Reads lines until EOF; true if the server closed within the wait. */
async function closes(client: RawIrcClient): Promise<boolean> {
  while (true) {
    const line = await client.readLine("EOF");
    if (line === null) return true;
    client.seen.push(line);
  }
}

const MULTILINE = "message-tags batch labeled-response draft/multiline standard-replies";

Deno.test("labeled BATCH +: a batch that does not open is answered at once, labeled (no wait for BATCH -)", async () => {
  const server = ircServer();
  const a = await capped(server, "lab1", MULTILINE);
  const b = await capped(server, "lab2", "message-tags batch labeled-response standard-replies");
  try {
    // No target: 461 now (it came only after a later BATCH -abc).
    await a.send("@label=A1 BATCH +abc draft/multiline");
    assert.deepEqual(await upToPong(a), [`@label=A1 :${S} 461 lab1 BATCH :Not enough parameters`]);
    // A reference too long: the FAIL now (it never came).
    await a.send(`@label=A3 BATCH +${"x".repeat(70)} draft/multiline #r`);
    assert.deepEqual(await upToPong(a), [
      `@label=A3 :${S} FAIL BATCH MULTILINE_INVALID :Batch reference too long`,
    ]);
    // Without draft/multiline, BATCH is an unknown command: its 421 is labeled (it was held).
    await b.send("@label=B1 BATCH +abc draft/multiline #r");
    assert.deepEqual(await upToPong(b), [`@label=B1 :${S} 421 lab2 BATCH :Unknown command`]);

    // A batch that opens still waits: its echo (here its FAIL) answers the label at BATCH -.
    await a.send("JOIN #r");
    await a.expect(/ 366 lab1 #r /);
    await a.send("@label=C1 BATCH +ok draft/multiline #r");
    assert.deepEqual(await upToPong(a, "open"), []);
    await a.send("@batch=ok PRIVMSG #elsewhere :wrong target");
    assert.deepEqual(await upToPong(a, "failed"), [
      `@label=C1 :${S} FAIL BATCH MULTILINE_INVALID_TARGET #r #elsewhere :Invalid multiline target`,
    ]);
    // A batch dropped by another BATCH + (refused, unlabeled) ends the first label's wait.
    await a.send("@label=D1 BATCH +one draft/multiline #r", "BATCH +two draft/multiline #r");
    assert.deepEqual(await upToPong(a, "dropped"), [
      `:${S} FAIL BATCH MULTILINE_INVALID :Another multiline batch is already open`,
      `@label=D1 :${S} ACK`,
    ]);
  } finally {
    a.close();
    b.close();
    await server.shutdown();
  }
});

/** A labeled-response reader's labels, with a buffer cap of `maxBytes`. */
function labels(caps: IrcCap[], maxBytes: number): LabeledResponses {
  return new LabeledResponses({ serverName: S, caps: new Set(caps), maxBytes });
}

const line = (n: number): IrcLine => ({ source: S, command: "NOTICE", params: ["me", `l${n}`] });
const begin = (l: LabeledResponses, text: string) =>
  l.begin(parseLine(new TextEncoder().encode(text)));

Deno.test("labeled response past the buffer cap: streamed in a labeled batch that ends when it is done", () => {
  const l = labels(["batch", "labeled-response"], 60);
  assert.deepEqual(begin(l, "@label=big WHO #r"), []);
  assert.deepEqual(l.reply([line(1)]), []); // held: under the cap
  const spilled = l.reply([line(2), line(3)]).map(encodeLine);
  // Past the cap: the old code sent these unlabeled and never labeled anything for "big".
  const id = /^@label=big :irc\.test BATCH \+(\S+) labeled-response\r\n$/.exec(spilled[0])?.[1];
  assert.ok(id !== undefined, spilled[0]);
  assert.deepEqual(spilled.slice(1), [
    `@batch=${id} :${S} NOTICE me l1\r\n`,
    `@batch=${id} :${S} NOTICE me l2\r\n`,
    `@batch=${id} :${S} NOTICE me l3\r\n`,
  ]);
  // The rest streams in the same batch, which closes when the command is done.
  assert.deepEqual(l.reply([line(4)]).map(encodeLine), [`@batch=${id} :${S} NOTICE me l4\r\n`]);
  assert.deepEqual(l.settle().map(encodeLine), [`:${S} BATCH -${id}\r\n`]);
  // The next labeled command is labeled as usual.
  begin(l, "@label=small PING x");
  assert.deepEqual(l.reply([line(5)]), []);
  assert.deepEqual(l.settle().map(encodeLine), [`@label=small :${S} NOTICE me l5\r\n`]);
});

Deno.test("labeled response past the cap when the connection closes: its batch is closed before ERROR", () => {
  const l = labels(["batch", "labeled-response"], 30);
  begin(l, "@label=big WHO #r");
  const spilled = l.reply([line(1), line(2)]).map(encodeLine);
  const id = /BATCH \+(\S+) labeled-response/.exec(spilled[0])?.[1];
  assert.ok(id !== undefined, spilled[0]);
  const error: IrcLine = { command: "ERROR", params: ["Closing Link"], trailing: true };
  assert.deepEqual(l.reply([error]).map(encodeLine), [
    `:${S} BATCH -${id}\r\n`,
    "ERROR :Closing Link\r\n",
  ]);
});

const FLOOD: FloodGuardOptions = { messageBurst: 20, messagesPerSecond: 5, maxLagMs: 1000 };

Deno.test("too-long lines (417) are charged to flood control: looping them is an Excess Flood", async () => {
  const server = ircServer({ flood: FLOOD });
  const irc = await RawIrcClient.login(server, "longer");
  try {
    // The old session answered 417 without charging: 300 of them never met the guard.
    const long = `PRIVMSG #r :${"a".repeat(600)}`;
    await irc.send(long);
    await irc.expect(/^:irc\.test 417 longer :Input line was too long$/);
    await irc.send(...Array.from({ length: 300 }, () => long));
    assert.match(await irc.expect(/^ERROR /), /\(Excess Flood\)$/);
    assert.ok(await closes(irc));
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("lines that are not UTF-8 are charged to flood control: looping them is an Excess Flood", async () => {
  const server = ircServer({ flood: FLOOD });
  const irc = await RawIrcClient.login(server, "badutf");
  try {
    const bad = new Uint8Array([...new TextEncoder().encode("PRIVMSG #r :"), 0xff, 0xfe, 13, 10]);
    await irc.write(bad);
    await irc.expect(/ FAIL PRIVMSG INVALID_UTF8 /);
    const all = new Uint8Array(bad.length * 300);
    for (let i = 0; i < 300; i++) all.set(bad, i * bad.length);
    await irc.write(all);
    assert.match(await irc.expect(/^ERROR /), /\(Excess Flood\)$/);
    assert.ok(await closes(irc));
  } finally {
    irc.close();
    await server.shutdown();
  }
});

Deno.test("a labeled PONG (answered with an ACK) is charged to flood control: looping it is an Excess Flood", async () => {
  const server = ircServer({ flood: FLOOD });
  const irc = await capped(server, "ponger", "batch labeled-response");
  try {
    // A PONG is free (it answers our PING); the old session let labeled ones be free too.
    await irc.send(...Array.from({ length: 300 }, (_, i) => `@label=p${i} PONG :x`));
    assert.match(await irc.expect(/^ERROR /), /\(Excess Flood\)$/);
    assert.ok(await closes(irc));
  } finally {
    irc.close();
    await server.shutdown();
  }
});

const HISTORY_CAPS = "message-tags batch server-time account-tag draft/chathistory echo-message";

Deno.test("history lines name no account and no mask of whoever holds the author's nick now", async () => {
  const server = ircServer();
  const reader = await capped(server, "reader9", HISTORY_CAPS);
  const zed = await capped(server, "zed9", HISTORY_CAPS);
  try {
    await reader.send("JOIN #acct");
    await reader.expect(/ 366 reader9 #acct /);
    await zed.send("JOIN #acct");
    await zed.expect(/ 366 zed9 #acct /);
    await zed.send("PRIVMSG #acct :said as a guest");
    assert.doesNotMatch(await reader.expect(/said as a guest/), /account=/);
    // The guest registers the nick: its old words are still a guest's.
    await zed.send("PRIVMSG NickServ :REGISTER correcthorse9");
    await zed.expect(/ 900 /);

    await reader.send("CHATHISTORY LATEST #acct * 10");
    const said = await reader.expect(/said as a guest/);
    // The old code tagged it account=zed9 (the nick's holder now) with the holder's cloak.
    assert.doesNotMatch(said, /account=/);
    assert.match(said, / :zed9!~sc@gone\.sc PRIVMSG #acct :said as a guest$/);
    await reader.expect(/ BATCH -/);

    // A JOIN's replay (a reader without draft/chathistory) is the same.
    const late = await capped(server, "late9", "message-tags batch server-time account-tag");
    try {
      await late.send("JOIN #acct");
      const replayed = await late.expect(/said as a guest/);
      assert.doesNotMatch(replayed, /account=/);
      assert.match(replayed, / :zed9!~sc@gone\.sc PRIVMSG #acct :said as a guest$/);
      // A live line from the registered holder still carries the account.
      await zed.send("PRIVMSG #acct :now registered");
      assert.match(await late.expect(/now registered/), /account=zed9/);
    } finally {
      late.close();
    }
  } finally {
    reader.close();
    zed.close();
    await server.shutdown();
  }
});

Deno.test("MODE: changes with a parameter past MODES=4 are ignored; an unknown letter is 472", async () => {
  const server = ircServer();
  const op = await RawIrcClient.login(server, "opal");
  try {
    await op.send("JOIN #r");
    await op.expect(/ 366 opal #r /);
    // The old code set all six bans.
    await op.send("MODE #r +bbbbbb aa!*@* ab!*@* ac!*@* ad!*@* ae!*@* af!*@*");
    assert.match(
      await op.expect(/ MODE #r /),
      / MODE #r \+bbbb aa!\*@\* ab!\*@\* ac!\*@\* ad!\*@\*$/,
    );
    await op.send("MODE #r b");
    const bans: string[] = [];
    while (true) {
      const line = await op.expect(/ 36[78] /);
      if (/ 368 /.test(line)) break;
      bans.push(line.split(" ")[4]);
    }
    assert.deepEqual(bans, ["aa!*@*", "ab!*@*", "ac!*@*", "ad!*@*"]);
    // An unknown letter: 472 naming it (it was a NOTICE).
    await op.send("MODE #r +tz");
    assert.deepEqual(await upToPong(op), [`:${S} 472 opal z :is unknown mode char to me`]);
  } finally {
    op.close();
    await server.shutdown();
  }
});

Deno.test("KICK of a nick not in the room is 441, of a nick nobody holds 401; a non-operator still 482", async () => {
  const server = ircServer();
  const op = await RawIrcClient.login(server, "opal");
  const other = await RawIrcClient.login(server, "outsider");
  try {
    await op.send("JOIN #r");
    await op.expect(/ 366 opal #r /);
    // The old code answered with the core's NOTICE "outsider is not in #r.".
    await op.send("KICK #r outsider");
    assert.deepEqual(await upToPong(op), [
      `:${S} 441 opal outsider #r :They aren't on that channel`,
    ]);
    await op.send("KICK #r nobody");
    assert.deepEqual(await upToPong(op), [`:${S} 401 opal nobody :No such nick/channel`]);
    await other.send("JOIN #r");
    await other.expect(/ 366 outsider #r /);
    await other.send("KICK #r nobody");
    assert.match((await upToPong(other)).join("\n"), / 482 outsider #r /);
  } finally {
    op.close();
    other.close();
    await server.shutdown();
  }
});

Deno.test("a DM to someone away is answered with 301 RPL_AWAY once per away spell; NDJSON reads the line only", async () => {
  const server = ircServer();
  const alice = await RawIrcClient.login(server, "alice");
  const bob = await RawIrcClient.login(server, "bob");
  const json = await JsonClient.login(server, "jay");
  try {
    await bob.send("AWAY :at lunch");
    await bob.expect(/ 306 bob /);
    // The old session sent the core's NOTICE "* bob is away: at lunch".
    await alice.send("PRIVMSG bob :hi");
    assert.deepEqual(await upToPong(alice), [`:${S} 301 alice bob :at lunch`]);
    await alice.send("PRIVMSG bob :still there?");
    assert.deepEqual(await upToPong(alice, "again"), [], "told once per away spell");
    // A labeled DM: the 301 is part of its labeled response, with the echo.
    const labeled = await capped(server, "lara", "batch labeled-response echo-message");
    try {
      await labeled.send("@label=w1 PRIVMSG bob :hello?");
      const lines = await upToPong(labeled);
      assert.match(lines[0], /^@label=w1 :irc\.test BATCH \+(\S+) labeled-response$/);
      assert.match(lines[1], /^@batch=\S+ :lara!\S+ PRIVMSG bob :hello\?$/);
      assert.match(lines[2], /^@batch=\S+ :irc\.test 301 lara bob :at lunch$/);
      assert.match(lines[3], /^:irc\.test BATCH -/);
      assert.equal(lines.length, 4);
    } finally {
      labeled.close();
    }
    // An NDJSON sender reads the sentence; the nick IRC needs is not sent to it.
    await command(json, "/msg bob hello");
    const info = await json.expect("info");
    assert.equal(info.text, "* bob is away: at lunch");
    assert.equal("awayOf" in info, false);
  } finally {
    alice.close();
    bob.close();
    json.close();
    await server.shutdown();
  }
});
