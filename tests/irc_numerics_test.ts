/**
 * Every numeric the IRC front end sends (contract Appendix A), as exact lines: parameter order
 * and standard texts as modern-irc documents them. One case per numeric, and a check that no
 * numeric in the table is left without a case. Also the `005` tokens and lines, and the CAP
 * replies (LS with and without 302, `*` continuation, REQ all or nothing).
 */

import assert from "node:assert/strict";
import {
  AWAY_MAX_LENGTH,
  MAX_REASON_LENGTH,
  MAX_ROOMS_PER_USER,
  NICK_MAX_LENGTH,
  ROOM_NAME_MAX_LENGTH,
  TOPIC_MAX_LENGTH,
} from "../config/limits.ts";
import { IRC_SERVER_NAME_MAX_BYTES } from "../config/irc_limits.ts";
import {
  capListLines,
  capLsLines,
  capLsVersion,
  capReqReply,
  parseCapReq,
} from "../protocol/irc/caps.ts";
import { isupportLines, isupportTokens, isupportValue } from "../protocol/irc/isupport.ts";
import { encodeLine, type IrcLine, utf8Length } from "../protocol/irc/line.ts";
import { NUMERIC, numeric, serverReply } from "../protocol/irc/numerics.ts";

const S = "irc.test";
const wire = (line: IrcLine) => encodeLine({ source: S, ...line });

const cases: [IrcLine, string][] = [
  [
    numeric.welcome("alice", "irc.test", "alice"),
    "001 alice :Welcome to the irc.test Network, alice",
  ],
  [
    numeric.yourHost("alice", S, "sockchat-0.1.0"),
    "002 alice :Your host is irc.test, running version sockchat-0.1.0",
  ],
  [
    numeric.created("alice", "Tue, 01 Dec 2026 00:00:00 GMT"),
    "003 alice :This server was created Tue, 01 Dec 2026 00:00:00 GMT",
  ],
  [
    numeric.myInfo("alice", S, "sockchat-0.1.0", "io", "biklmnotv", "bklov"),
    "004 alice irc.test sockchat-0.1.0 io biklmnotv bklov",
  ],
  [
    numeric.isupport("alice", ["CASEMAPPING=ascii", "CHANTYPES=#", "UTF8ONLY"]),
    "005 alice CASEMAPPING=ascii CHANTYPES=# UTF8ONLY :are supported by this server",
  ],
  [numeric.uModeIs("alice", "+"), "221 alice +"],
  [numeric.uModeIs("alice", "+io"), "221 alice +io"],
  [
    numeric.luserClient("alice", 3, 0, 1),
    "251 alice :There are 3 users and 0 invisible on 1 servers",
  ],
  [numeric.luserOp("alice", 1), "252 alice 1 :operator(s) online"],
  [numeric.luserUnknown("alice", 2), "253 alice 2 :unknown connection(s)"],
  [numeric.luserChannels("alice", 4), "254 alice 4 :channels formed"],
  [numeric.luserMe("alice", 3, 0), "255 alice :I have 3 clients and 0 servers"],
  [numeric.localUsers("alice", 3, 1000), "265 alice 3 1000 :Current local users 3, max 1000"],
  [numeric.globalUsers("alice", 3, 1000), "266 alice 3 1000 :Current global users 3, max 1000"],
  [numeric.away("alice", "bob", "gone fishing"), "301 alice bob :gone fishing"],
  [
    numeric.userhost("alice", ["bob*=+~bob@1a2b.sc", "carol=-~tcp@3c4d.sc"]),
    "302 alice :bob*=+~bob@1a2b.sc carol=-~tcp@3c4d.sc",
  ],
  [numeric.userhost("alice", []), "302 alice :"],
  [numeric.ison("alice", ["bob", "Carol"]), "303 alice :bob Carol"],
  [numeric.ison("alice", []), "303 alice :"],
  [numeric.unaway("alice"), "305 alice :You are no longer marked as being away"],
  [numeric.nowAway("alice"), "306 alice :You have been marked as being away"],
  [
    numeric.whoisUser("alice", "bob", "~bob", "1a2b.sc", "Bob B"),
    "311 alice bob ~bob 1a2b.sc * :Bob B",
  ],
  [numeric.whoisServer("alice", "bob", S, "sockchat"), "312 alice bob irc.test :sockchat"],
  [numeric.whoisOperator("alice", "bob"), "313 alice bob :is an IRC operator"],
  [
    numeric.whowasUser("alice", "bob", "~bob", "1a2b.sc", "Bob B"),
    "314 alice bob ~bob 1a2b.sc * :Bob B",
  ],
  [numeric.endOfWho("alice", "coolni*"), "315 alice coolni* :End of WHO list"],
  [
    numeric.whoisIdle("alice", "bob", 12, 1700000000),
    "317 alice bob 12 1700000000 :seconds idle, signon time",
  ],
  [numeric.endOfWhois("alice", "bob"), "318 alice bob :End of /WHOIS list"],
  [
    numeric.whoisChannels("alice", "bob", ["@#rust", "+#go", "#lobby"]),
    "319 alice bob :@#rust +#go #lobby",
  ],
  [numeric.listStart("alice"), "321 alice Channel :Users  Name"],
  [numeric.list("alice", "#rust", 5, "[+nt] Rust talk"), "322 alice #rust 5 :[+nt] Rust talk"],
  [numeric.list("alice", "#rust", 5, ""), "322 alice #rust 5 :"],
  [numeric.listEnd("alice"), "323 alice :End of /LIST"],
  [
    numeric.channelModeIs("alice", "#rust", "+klnt", ["sekrit", "10"]),
    "324 alice #rust +klnt sekrit 10",
  ],
  [numeric.channelModeIs("alice", "#rust", "+n", []), "324 alice #rust +n"],
  [numeric.creationTime("alice", "#rust", 1700000000), "329 alice #rust 1700000000"],
  [numeric.whoisAccount("alice", "bob", "Bob"), "330 alice bob Bob :is logged in as"],
  [numeric.noTopic("alice", "#rust"), "331 alice #rust :No topic is set"],
  [numeric.topic("alice", "#rust", "Rust talk"), "332 alice #rust :Rust talk"],
  [numeric.topic("alice", "#rust", "one"), "332 alice #rust :one"],
  [numeric.topicWhoTime("alice", "#rust", "bob", 1700000000), "333 alice #rust bob 1700000000"],
  [numeric.inviteList("alice", "#rust"), "336 alice #rust"],
  [numeric.endOfInviteList("alice"), "337 alice :End of /INVITE list"],
  [
    numeric.whoisActually("alice", "bob", "192.0.2.7"),
    "338 alice bob 192.0.2.7 :Is actually using host",
  ],
  [numeric.inviting("alice", "bob", "#rust"), "341 alice bob #rust"],
  [
    numeric.version("alice", "sockchat-0.1.0", S, "Deno chat server"),
    "351 alice sockchat-0.1.0 irc.test :Deno chat server",
  ],
  [numeric.info("alice", "sockchat 0.1.0"), "371 alice :sockchat 0.1.0"],
  [numeric.endOfInfo("alice"), "374 alice :End of INFO list"],
  [
    numeric.whoReply("alice", {
      channel: "#rust",
      user: "~bob",
      host: "1a2b.sc",
      server: S,
      nick: "bob",
      flags: "H*@",
      realname: "Bob B",
    }),
    "352 alice #rust ~bob 1a2b.sc irc.test bob H*@ :0 Bob B",
  ],
  [
    numeric.namReply("alice", "#rust", ["@alice", "+bob", "carol"]),
    "353 alice = #rust :@alice +bob carol",
  ],
  [
    numeric.whoSpcRpl("alice", ["743", "#rust", "~bob", "1a2b.sc", "bob", "H@", "Bob"], "Bob B"),
    "354 alice 743 #rust ~bob 1a2b.sc bob H@ Bob :Bob B",
  ],
  [numeric.whoSpcRpl("alice", ["745", "bob", "0"]), "354 alice 745 bob 0"],
  [numeric.endOfNames("alice", "#rust"), "366 alice #rust :End of /NAMES list"],
  [numeric.endOfNames("alice", "*"), "366 alice * :End of /NAMES list"],
  [
    numeric.banList("alice", "#rust", "*!*@1a2b.sc", "bob", 1700000000),
    "367 alice #rust *!*@1a2b.sc bob 1700000000",
  ],
  [numeric.endOfBanList("alice", "#rust"), "368 alice #rust :End of channel ban list"],
  [numeric.endOfWhowas("alice", "bob"), "369 alice bob :End of WHOWAS"],
  [numeric.motd("alice", "Be nice."), "372 alice :- Be nice."],
  [numeric.motd("alice", ""), "372 alice :- "],
  [numeric.motdStart("alice", S), "375 alice :- irc.test Message of the day - "],
  [numeric.endOfMotd("alice"), "376 alice :End of /MOTD command."],
  [numeric.youreOper("alice"), "381 alice :You are now an IRC operator"],
  [
    numeric.time("alice", S, "Tuesday December 01 2026 -- 02:00:00 +00:00"),
    "391 alice irc.test :Tuesday December 01 2026 -- 02:00:00 +00:00",
  ],
  [numeric.noSuchNick("alice", "nobody"), "401 alice nobody :No such nick/channel"],
  [numeric.tooManyTargets("alice", "#e"), "407 alice #e :Too many targets"],
  [numeric.noSuchChannel("alice", "inv@lid"), "403 alice inv@lid :No such channel"],
  [numeric.cannotSendToChan("alice", "#rust"), "404 alice #rust :Cannot send to channel"],
  [
    numeric.cannotSendToChan("alice", "#rust", "You are muted for 5 minutes"),
    "404 alice #rust :You are muted for 5 minutes",
  ],
  [numeric.tooManyChannels("alice", "#rust"), "405 alice #rust :You have joined too many channels"],
  [numeric.wasNoSuchNick("alice", "bob"), "406 alice bob :There was no such nickname"],
  [numeric.noOrigin("alice"), "409 alice :No origin specified"],
  [numeric.invalidCapCmd("*", "FOO"), "410 * FOO :Invalid CAP command"],
  [numeric.noRecipient("alice", "PRIVMSG"), "411 alice :No recipient given (PRIVMSG)"],
  [numeric.noTextToSend("alice"), "412 alice :No text to send"],
  [numeric.inputTooLong("*"), "417 * :Input line was too long"],
  [numeric.unknownCommand("alice", "HELP"), "421 alice HELP :Unknown command"],
  [numeric.noMotd("alice"), "422 alice :MOTD File is missing"],
  [numeric.noNicknameGiven("*"), "431 * :No nickname given"],
  [numeric.erroneusNickname("*", "a!b"), "432 * a!b :Erroneous nickname"],
  [numeric.nicknameInUse("*", "alice"), "433 * alice :Nickname is already in use"],
  [
    numeric.nicknameInUse("*", "AIice", "alice"),
    "433 * AIice :Nickname is already in use (looks the same as alice)",
  ],
  [
    numeric.nicknameReserved("*", "alice"),
    "433 * alice :Nickname is registered to a different account",
  ],
  [
    numeric.nicknameReserved("*", "alice", "password"),
    "433 * alice :Nickname is registered: /msg NickServ IDENTIFY alice PASSWORD",
  ],
  [
    numeric.userNotInChannel("alice", "bob", "#rust"),
    "441 alice bob #rust :They aren't on that channel",
  ],
  [numeric.notOnChannel("alice", "#rust"), "442 alice #rust :You're not on that channel"],
  [numeric.userOnChannel("alice", "bob", "#rust"), "443 alice bob #rust :is already on channel"],
  [numeric.notRegistered("*"), "451 * :You have not registered"],
  [numeric.needMoreParams("alice", "JOIN"), "461 alice JOIN :Not enough parameters"],
  [numeric.alreadyRegistered("alice"), "462 alice :You may not reregister"],
  [numeric.passwdMismatch("*"), "464 * :Password incorrect"],
  [numeric.youreBannedCreep("*"), "465 * :You are banned from this server."],
  [numeric.channelIsFull("alice", "#rust"), "471 alice #rust :Cannot join channel (+l)"],
  [numeric.unknownMode("alice", "e"), "472 alice e :is unknown mode char to me"],
  [numeric.inviteOnlyChan("alice", "#rust"), "473 alice #rust :Cannot join channel (+i)"],
  [numeric.bannedFromChan("alice", "#rust"), "474 alice #rust :Cannot join channel (+b)"],
  [numeric.badChannelKey("alice", "#rust"), "475 alice #rust :Cannot join channel (+k)"],
  [numeric.badChanMask("alice", "#a,b"), "476 alice #a,b :Bad Channel Mask"],
  [
    numeric.needReggedNick("alice", "#rust", "Log in to an account to join"),
    "477 alice #rust :Log in to an account to join (account required)",
  ],
  [numeric.banListFull("alice", "#rust", "b"), "478 alice #rust b :Channel list is full"],
  [numeric.noPrivileges("alice"), "481 alice :Permission Denied- You're not an IRC operator"],
  [numeric.chanOPrivsNeeded("alice", "#rust"), "482 alice #rust :You're not channel operator"],
  [numeric.noOperHost("alice"), "491 alice :No O-lines for your host"],
  [numeric.uModeUnknownFlag("alice"), "501 alice :Unknown MODE flag"],
  [numeric.usersDontMatch("alice"), "502 alice :Can't change mode for other users"],
  [numeric.whoisSecure("alice", "bob"), "671 alice bob :is using a secure connection"],
  [
    numeric.invalidModeParam("alice", "#rust", "l", "lots", "Limit must be a number"),
    "696 alice #rust l lots :Limit must be a number",
  ],
  [
    numeric.loggedIn("*", "*!~u@1a2b.sc", "alice"),
    "900 * *!~u@1a2b.sc alice :You are now logged in as alice",
  ],
  [
    numeric.loggedOut("alice", "alice!~u@1a2b.sc"),
    "901 alice alice!~u@1a2b.sc :You are now logged out",
  ],
  [numeric.saslSuccess("*"), "903 * :SASL authentication successful"],
  [numeric.saslFail("*"), "904 * :SASL authentication failed"],
  [numeric.saslTooLong("*"), "905 * :SASL message too long"],
  [numeric.saslAborted("*"), "906 * :SASL authentication aborted"],
  [numeric.saslAlready("alice"), "907 alice :You have already authenticated using SASL"],
  [numeric.saslMechs("*", "PLAIN"), "908 * PLAIN :are available SASL mechanisms"],
];

Deno.test("every numeric builder gives the exact line of contract Appendix A", () => {
  for (const [line, expected] of cases) {
    assert.equal(wire(line), `:${S} ${expected}\r\n`);
  }
});

Deno.test("every numeric in the table has a case, and every case is a known numeric", () => {
  const tested = new Set(cases.map(([line]) => line.command));
  const known = new Set<string>(Object.values(NUMERIC));
  assert.deepEqual([...known].filter((c) => !tested.has(c)), [], "numerics without a case");
  assert.deepEqual([...tested].filter((c) => !known.has(c)), [], "cases for unknown numerics");
  assert.equal(Object.keys(numeric).length >= known.size, true);
});

Deno.test("human text stays trailing even when it is one word; names never are", () => {
  // A one-word topic is still written with ':': the contract writes human text trailing.
  assert.equal(wire(numeric.topic("a", "#r", "x")), `:${S} 332 a #r :x\r\n`);
  // An empty last name parameter would vanish without ':'; the encoder never lets it.
  assert.equal(wire(numeric.ison("a", [])), `:${S} 303 a :\r\n`);
});

Deno.test("numerics with long text are cut to 512 bytes, keeping the prefix intact", () => {
  const long = wire(numeric.motd("alice", "é".repeat(400)));
  assert.equal(new TextEncoder().encode(long).length <= 512, true);
  assert.ok(long.startsWith(`:${S} 372 alice :- éé`));
  assert.ok(long.endsWith("é\r\n"));
});

Deno.test("non-numeric server replies: PONG, ERROR, FAIL/WARN/NOTE, ACK, BATCH", () => {
  assert.equal(wire(serverReply.pong(S, "abc")), `:${S} PONG ${S} :abc\r\n`);
  assert.equal(wire(serverReply.pong(S, "")), `:${S} PONG ${S} :\r\n`);
  assert.equal(
    encodeLine(serverReply.error("1a2b.sc", "Quit: bye")),
    "ERROR :Closing Link: 1a2b.sc (Quit: bye)\r\n",
  );
  assert.equal(
    wire(
      serverReply.standard(
        "FAIL",
        "BATCH",
        "MULTILINE_INVALID_TARGET",
        ["#foo", "#bar"],
        "Invalid multiline target",
      ),
    ),
    `:${S} FAIL BATCH MULTILINE_INVALID_TARGET #foo #bar :Invalid multiline target\r\n`,
  );
  assert.equal(
    wire(
      serverReply.standard("NOTE", "*", "HISTORY_GAP", ["#r"], "3 older messages are not shown"),
    ),
    `:${S} NOTE * HISTORY_GAP #r :3 older messages are not shown\r\n`,
  );
  assert.equal(
    encodeLine({ tags: { label: "x" }, source: S, ...serverReply.ack() }),
    `@label=x :${S} ACK\r\n`,
  );
  assert.equal(
    wire(serverReply.batchStart("b1", "chathistory", ["#rust"])),
    `:${S} BATCH +b1 chathistory #rust\r\n`,
  );
  assert.equal(
    wire(serverReply.batchStart("b2", "labeled-response")),
    `:${S} BATCH +b2 labeled-response\r\n`,
  );
  assert.equal(wire(serverReply.batchEnd("b1")), `:${S} BATCH -b1\r\n`);
});

Deno.test("005: the contract's tokens, values from the core's limits, all ASCII", () => {
  const tokens = isupportTokens({ serverName: "my server é", maxRoomBans: 100 });
  assert.deepEqual(tokens, [
    `AWAYLEN=${AWAY_MAX_LENGTH}`,
    "CASEMAPPING=ascii",
    `CHANLIMIT=#:${MAX_ROOMS_PER_USER}`,
    "CHANMODES=b,k,l,imnt",
    `CHANNELLEN=${ROOM_NAME_MAX_LENGTH + 1}`,
    "CHANTYPES=#",
    "CHATHISTORY=100",
    "draft/CHATHISTORY=100",
    "CLIENTTAGDENY=*",
    "EXTBAN=$,a",
    `KICKLEN=${MAX_REASON_LENGTH}`,
    "MAXLIST=b:100",
    "MODES=4",
    "MSGREFTYPES=msgid,timestamp",
    "NAMELEN=100",
    "NETWORK=my-server-\\xC3\\xA9",
    `NICKLEN=${NICK_MAX_LENGTH}`,
    "PREFIX=(ov)@+",
    "TARGMAX=NAMES:,LIST:,WHOIS:1,KICK:4,USERHOST:5,PRIVMSG:4,NOTICE:4,TAGMSG:4",
    `TOPICLEN=${TOPIC_MAX_LENGTH}`,
    "USERLEN=16",
    "UTF8ONLY",
    "WHOX",
  ]);
  // The contract's numbers, so a change to a core limit shows up here as well.
  assert.ok(tokens.includes("NICKLEN=32") && tokens.includes("CHANNELLEN=33"));
  assert.ok(tokens.includes("TOPICLEN=300") && tokens.includes("AWAYLEN=200"));
  for (const t of tokens) assert.match(t, /^[\x21-\x7e]+$/, t);
  assert.equal(isupportValue("a=b\\c d"), "a\\x3Db\\x5Cc\\x20d");
});

Deno.test("005: lines of at most 13 tokens, each under 512 bytes, the text trailing", () => {
  const tokens = isupportTokens({ serverName: S, maxRoomBans: 100 });
  const lines = isupportLines(S, "alice", tokens);
  assert.deepEqual(lines.map((l) => l.params.length - 2), [13, 10]);
  assert.deepEqual(lines.flatMap((l) => l.params.slice(1, -1)), tokens);
  assert.equal(
    wire(lines[1]),
    `:${S} 005 alice MSGREFTYPES=msgid,timestamp NAMELEN=100 NETWORK=irc.test NICKLEN=32 ` +
      "PREFIX=(ov)@+ " +
      "TARGMAX=NAMES:,LIST:,WHOIS:1,KICK:4,USERHOST:5,PRIVMSG:4,NOTICE:4,TAGMSG:4 TOPICLEN=300 " +
      "USERLEN=16 UTF8ONLY WHOX :are supported by this server\r\n",
  );
  // The longest names (a 32-character nick of 4-byte characters, a 63-byte server name) still
  // fit 512, with the text whole.
  const nick = "😀".repeat(NICK_MAX_LENGTH);
  const server = "s".repeat(IRC_SERVER_NAME_MAX_BYTES);
  const tight = isupportLines(
    server,
    nick,
    isupportTokens({ serverName: server, maxRoomBans: 100 }),
  );
  assert.ok(tight.length >= 2);
  for (const l of tight) {
    const line = encodeLine({ source: server, ...l });
    assert.ok(utf8Length(line) <= 512);
    assert.ok(line.endsWith(" :are supported by this server\r\n"));
    assert.ok(l.params.length - 2 <= 13 && l.params.length - 2 >= 1);
  }
  assert.deepEqual(tight.flatMap((l) => l.params.slice(1, -1)).length, 23);
});

const offer = { sasl: true, multiline: { maxBytes: 4096, maxLines: 100 } };

Deno.test("CAP LS: 302 shows values, plain LS does not; sasl only with accounts", () => {
  assert.deepEqual(capLsLines(S, "*", offer, 302).map(wire), [
    `:${S} CAP * LS :cap-notify server-time message-tags echo-message batch labeled-response ` +
    "draft/chathistory sasl=PLAIN account-tag account-notify extended-join away-notify multi-prefix " +
    "userhost-in-names invite-notify setname draft/multiline=max-bytes=4096,max-lines=100 " +
    "standard-replies\r\n",
  ]);
  assert.deepEqual(capLsLines(S, "*", offer, 0).map(wire), [
    `:${S} CAP * LS :cap-notify server-time message-tags echo-message batch labeled-response ` +
    "draft/chathistory sasl account-tag account-notify extended-join away-notify multi-prefix " +
    "userhost-in-names invite-notify setname draft/multiline standard-replies\r\n",
  ]);
  const noSasl = capLsLines(S, "*", { ...offer, sasl: false }, 302).map(wire).join("");
  assert.ok(!noSasl.includes("sasl"));
});

Deno.test("CAP LS: past 510 bytes it continues with '*' on every line but the last", () => {
  // With the longest real names the list fits one line (473 bytes); names past the limits force
  // the split so its format can be checked.
  assert.equal(
    capLsLines("s".repeat(IRC_SERVER_NAME_MAX_BYTES), "😀".repeat(NICK_MAX_LENGTH), offer, 302)
      .length,
    1,
  );
  const server = "s".repeat(200);
  const nick = "😀".repeat(32);
  const lines = capLsLines(server, nick, offer, 302);
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0].params.slice(0, 3), [nick, "LS", "*"]);
  assert.deepEqual(lines[1].params.slice(0, 2), [nick, "LS"]);
  assert.notEqual(lines[1].params[2], "*");
  for (const l of lines) assert.ok(utf8Length(encodeLine({ source: server, ...l })) <= 512);
  const all = lines.flatMap((l) => l.params.at(-1)?.split(" ") ?? []);
  assert.equal(all.length, 18);
  assert.ok(all.includes("draft/multiline=max-bytes=4096,max-lines=100"), "a cap is never cut");
});

Deno.test("CAP REQ: all or nothing, exact list echoed, -cap disables", () => {
  assert.deepEqual(parseCapReq(" batch  server-time ", offer, 302), {
    kind: "ack",
    list: "batch  server-time",
    enable: ["batch", "server-time"],
    disable: [],
  });
  assert.deepEqual(parseCapReq("-echo-message batch", offer, 302), {
    kind: "ack",
    list: "-echo-message batch",
    enable: ["batch"],
    disable: ["echo-message"],
  });
  for (const bad of ["batch foo", "foo", "", "   ", "sasl=PLAIN", "chghost", "-foo"]) {
    assert.deepEqual(parseCapReq(bad, offer, 302), { kind: "nak", list: bad.trim() }, bad);
  }
  assert.equal(parseCapReq("sasl", { ...offer, sasl: false }, 302).kind, "nak");
  assert.equal(parseCapReq("sasl", offer, 302).kind, "ack");
  assert.equal(parseCapReq("-cap-notify", offer, 302).kind, "nak", "302 keeps cap-notify");
  assert.equal(parseCapReq("-cap-notify", offer, 0).kind, "ack");
  assert.equal(
    wire(capReqReply("*", parseCapReq("batch foo", offer, 302))),
    `:${S} CAP * NAK :batch foo\r\n`,
  );
  assert.equal(
    wire(capReqReply("alice", parseCapReq("batch", offer, 302))),
    `:${S} CAP alice ACK :batch\r\n`,
  );
  assert.equal(capLsVersion("302"), 302);
  assert.equal(capLsVersion(undefined), 0);
  assert.equal(capLsVersion("abc"), 0);
  assert.deepEqual(capListLines(S, "alice", []).map(wire), [`:${S} CAP alice LIST :\r\n`]);
  assert.deepEqual(capListLines(S, "alice", ["batch", "sasl"]).map(wire), [
    `:${S} CAP alice LIST :batch sasl\r\n`,
  ]);
});
