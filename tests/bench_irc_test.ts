import assert from "node:assert/strict";
import type { StampedText } from "../bench/loadgen/frame_scan.ts";
import { ircKind, pingToken, readIrcStamp } from "../bench/loadgen/irc_scan.ts";
import { stampedIrcLine } from "../bench/loadgen/sender.ts";
import { ngircdConfig } from "../bench/ngircd.ts";
import { median, ratio } from "../bench/targets.ts";

// When ngircd is installed the bench drives it over IRC, reading its lines by their bytes. These
// tests feed the scanner lines as ngircd writes them, so that a misreading fails here instead of
// making the ngircd column count nothing.

const bytes = (line: string) => new TextEncoder().encode(line);

Deno.test("the bench IRC scanner tells ngircd's lines apart", () => {
  const cases: [string, string][] = [
    [
      ":bench.sockchat.invalid 001 c0 :Welcome to the Internet Relay Network c0!~c0@localhost\r",
      "registered",
    ],
    [":bench.sockchat.invalid 366 c0 #lobby :End of NAMES list\r", "joined"],
    [":c1!~c1@localhost JOIN :#lobby\r", "join"],
    [":c1!~c1@localhost PRIVMSG #lobby :0.1.2.xxxx\r", "msg"],
    [":c1!~c1@localhost QUIT :Client closed connection\r", "leave"],
    ["PING :bench.sockchat.invalid\r", "ping"],
    [":bench.sockchat.invalid 353 c0 = #lobby :c0 c1\r", "other"],
    [":bench.sockchat.invalid NOTICE c0 :PRIVMSG in a notice\r", "other"],
  ];
  for (const [line, kind] of cases) {
    const b = bytes(line);
    assert.equal(ircKind(b, 0, b.length), kind, line);
  }
  assert.equal(pingToken("PING :bench.sockchat.invalid\r"), ":bench.sockchat.invalid");
});

Deno.test("a stamped PRIVMSG is read back as relayed, and other texts carry no stamp", () => {
  const sent = stampedIrcLine(3, 41, 123456789, 64);
  assert.ok(sent.endsWith("\r\n"));
  const text = sent.slice("PRIVMSG #lobby :".length, -2);
  assert.equal(text.length, 64);
  // ngircd relays it with the sender's prefix in front; the scanner gets the line without LF.
  const relayed = bytes(`xx:c3!~c3@localhost PRIVMSG #lobby :${text}\r`);
  const stamp: StampedText = { sender: -1, seq: -1, sentAtMicros: -1 };
  assert.ok(readIrcStamp(relayed, 2, relayed.length, stamp));
  assert.deepEqual(stamp, { sender: 3, seq: 41, sentAtMicros: 123456789 });
  const chat = bytes(":bob!~bob@localhost PRIVMSG #lobby :hello there\r");
  assert.equal(readIrcStamp(chat, 0, chat.length, stamp), false);
  const bare = bytes(":bob!~bob@localhost PRIVMSG #lobby\r");
  assert.equal(readIrcStamp(bare, 0, bare.length, stamp), false);
});

Deno.test("the bench IRC scanner reads sockchat's lines: message tags first, a text without a colon", () => {
  // sockchat's IRC port, to a client with server-time and message-tags: tags before the prefix,
  // and a text without spaces written as a plain last parameter (no ':'), as IRC allows.
  const text = "2.17.987654321.xxxxxxxx";
  const line = bytes(
    `@msgid=9;time=2026-12-01T04:30:00.000Z :c2!~c2@ab12.sc PRIVMSG #lobby ${text}\r`,
  );
  assert.equal(ircKind(line, 0, line.length), "msg");
  const stamp: StampedText = { sender: -1, seq: -1, sentAtMicros: -1 };
  assert.ok(readIrcStamp(line, 0, line.length, stamp));
  assert.deepEqual(stamp, { sender: 2, seq: 17, sentAtMicros: 987654321 });
  const join = bytes("@time=2026-12-01T04:30:00.000Z :c3!~c3@ab12.sc JOIN #lobby * :c3\r");
  assert.equal(ircKind(join, 0, join.length), "join");
  const quit = bytes("@time=2026-12-01T04:30:00.000Z :c3!~c3@ab12.sc QUIT :Quit\r");
  assert.equal(ircKind(quit, 0, quit.length), "leave");
});

Deno.test("the bench's ngircd configuration lifts every limit the bench can lift", () => {
  const config = ngircdConfig(16667, "/tmp/x", { name: "bench", password: "pw" }, 1000);
  for (
    const line of [
      "Listen = 127.0.0.1",
      "Ports = 16667",
      "MaxConnectionsIP = 0",
      "MaxJoins = 0",
      "MaxPenaltyTime = 0",
      "DNS = no",
      "Ident = no",
      "PAM = no",
      "OperCanUseMode = yes",
      "IncludeDir = /tmp/x/conf.d",
      "Password = pw",
    ]
  ) {
    assert.ok(config.includes(`\t${line}\n`), line);
  }
  assert.ok(!config.includes("ServerUID"), "only root names a user to run as");
  assert.ok(ngircdConfig(1, "/tmp/x", { name: "b", password: "p" }, 0).includes("ServerUID = 0"));
});

Deno.test("the targets table's medians and ratios", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2);
  assert.ok(Number.isNaN(median([])));
  assert.equal(ratio(1.17, 0.44), "2.66×");
  assert.equal(ratio(1, 0), "n/a");
  assert.equal(ratio(Number.NaN, 1), "n/a");
});
