/**
 * IRCv3 standard-replies (contract §4.2, §5.11): a core error with no numeric is `FAIL <CMD>
 * <CODE> [target] :<sentence>` for a client with the cap and a NOTICE with the sentence for
 * others; FAILs a spec mandates go to everyone; standard numerics are never replaced.
 */

import assert from "node:assert/strict";
import { errorFrame } from "../protocol/frames.ts";
import { type ErrorContext, errorLines, standardRepliesFor } from "../protocol/irc/errors.ts";
import { encodeLine, type IrcLine } from "../protocol/irc/line.ts";
import { serverReply } from "../protocol/irc/numerics.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, flood: null, ...extra });
}

/** Registers `nick`, with `caps` enabled first when given. */
async function connect(server: ChatServer, nick: string, caps = ""): Promise<RawIrcClient> {
  const irc = await RawIrcClient.open(server);
  if (caps !== "") {
    await irc.send("CAP LS 302", `CAP REQ :${caps}`);
    assert.match(await irc.expect(/ CAP \S+ (?:ACK|NAK) /), / ACK /, `${caps} offered`);
    await irc.send("CAP END");
  }
  await irc.register(nick);
  return irc;
}

/** Joins `room` and waits for the end of its names. */
async function joined(irc: RawIrcClient, room: string): Promise<void> {
  await irc.send(`JOIN ${room}`);
  await irc.expect(/ 366 /);
}

/** The line for a rate-limited PRIVMSG to #r, rendered for a reader with or without the cap. */
function rateLimited(standardReplies: boolean): string[] {
  const ctx: ErrorContext = {
    serverName: S,
    client: "ann",
    cloak: "x.sc",
    asked: "ann",
    about: { command: "PRIVMSG", target: "#r" },
    standardReplies,
  };
  const frame = errorFrame("rate_limited", "You are sending too fast.", { ref: "i1" });
  return errorLines(frame, ctx).map((line) => encodeLine(line).trimEnd());
}

Deno.test("a rate-limited message: FAIL PRIVMSG RATE_LIMITED #r with standard-replies, else a NOTICE", () => {
  assert.deepEqual(rateLimited(true), [
    `:${S} FAIL PRIVMSG RATE_LIMITED #r :You are sending too fast.`,
  ]);
  assert.deepEqual(rateLimited(false), [`:${S} NOTICE ann :You are sending too fast.`]);
});

Deno.test("FAILs a spec mandates go to every client; standard numerics are never replaced", () => {
  const base: ErrorContext = {
    serverName: S,
    client: "ann",
    cloak: "x.sc",
    asked: "ann",
    about: { command: "CHATHISTORY", target: "#r" },
    standardReplies: false,
  };
  const busy = errorFrame("store_failed", "The history could not be read.", { ref: "i1" });
  assert.deepEqual(errorLines(busy, base).map((line) => encodeLine(line).trimEnd()), [
    `:${S} FAIL CHATHISTORY STORE_FAILED :The history could not be read.`,
  ]);
  const banned = errorFrame("room_banned", "You are banned from #r.", { ref: "i2" });
  const about = { command: "JOIN", target: "#r" };
  assert.deepEqual(
    errorLines(banned, { ...base, about, standardReplies: true }).map((line) => line.command),
    ["474"],
  );
});

Deno.test("the session's own FAILs: NOTICEs without standard-replies, unless a spec mandates them", () => {
  const fail = (command: string, code: string, context: string[]): IrcLine => ({
    source: S,
    ...serverReply.standard("FAIL", command, code, context, "Why."),
  });
  const ctcp = fail("PRIVMSG", "CTCP_UNSUPPORTED", ["#r"]);
  const mandated = [
    fail("BATCH", "MULTILINE_INVALID", []),
    fail("CHATHISTORY", "INVALID_TARGET", ["LATEST", "#r"]),
    fail("SETNAME", "INVALID_REALNAME", []),
    fail("*", "INVALID_UTF8", []),
  ];
  const pong: IrcLine = { source: S, ...serverReply.pong(S, "x") };
  const shown = (lines: IrcLine[]) => lines.map((line) => encodeLine(line).trimEnd());
  assert.deepEqual(shown(standardRepliesFor([ctcp, ...mandated, pong], "ann", false)), [
    `:${S} NOTICE ann :Why.`,
    ...shown(mandated),
    `:${S} PONG ${S} :x`,
  ]);
  assert.deepEqual(
    standardRepliesFor([ctcp, ...mandated, pong], "ann", true),
    [ctcp, ...mandated, pong],
  );
});

Deno.test("muted: TOPIC is FAIL TOPIC MUTED #r with standard-replies and a NOTICE without; a room message stays 404", async () => {
  const server = ircServer({ operSecret: { matches: (given) => given === "s" } });
  const op = await JsonClient.login(server, "op");
  const ann = await connect(server, "ann", "standard-replies");
  const bea = await connect(server, "bea");
  try {
    await command(op, "/oper s");
    await joined(ann, "#r");
    await joined(bea, "#r");
    await command(op, "/mute ann 10m");
    await command(op, "/mute bea 10m");
    await ann.send("TOPIC #r :hush");
    assert.match(await ann.expect(/ FAIL /), /^:irc\.test FAIL TOPIC MUTED #r :You are muted .+$/);
    await bea.send("TOPIC #r :hush");
    assert.match(await bea.expect(/ NOTICE bea :You are muted/), /^:irc\.test NOTICE bea :/);
    // 404 is the standard answer to a refused room message: both get it, FAIL or not.
    await ann.send("PRIVMSG #r :hello?");
    assert.match(await ann.expect(/ 404 /), /^:irc\.test 404 ann #r :You are muted /);
    await bea.send("PRIVMSG #r :hello?");
    assert.match(await bea.expect(/ 404 /), /^:irc\.test 404 bea #r :You are muted /);
    for (const irc of [ann, bea]) {
      await irc.send("PING end");
      await irc.expect(/PONG/);
    }
    assert.ok(!ann.seen.some((line) => / NOTICE ann :You are muted/.test(line)));
    assert.ok(!bea.seen.some((line) => / FAIL /.test(line)));
  } finally {
    op.close();
    ann.close();
    bea.close();
    await server.shutdown();
  }
});

Deno.test("a message the store refused: FAIL PRIVMSG STORE_FAILED #r with standard-replies, else a NOTICE", async () => {
  const dir = await Deno.makeTempDir();
  const server = ircServer({ db: `${dir}/chat.db`, storeFault: "read-only" });
  const ann = await connect(server, "ann", "standard-replies");
  const bea = await connect(server, "bea");
  try {
    await joined(ann, "#r");
    await joined(bea, "#r");
    await ann.send("PRIVMSG #r :lost");
    assert.match(
      await ann.expect(/ FAIL /),
      /^:irc\.test FAIL PRIVMSG STORE_FAILED #r :Your message could not be saved, so it was not sent \(.+\)\.$/,
    );
    await bea.send("PRIVMSG #r :lost");
    assert.match(
      await bea.expect(/ NOTICE bea :Your message/),
      /^:irc\.test NOTICE bea :Your message could not be saved, so it was not sent \(.+\)\.$/,
    );
  } finally {
    ann.close();
    bea.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
