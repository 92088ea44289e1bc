/**
 * One IRC line in and out (protocol/irc/line.ts): parsing with its byte limits (irctest's
 * boundary cases), tag (un)escaping, invalid UTF-8, and an encoder whose lines always fit 512
 * bytes and always parse back to what was meant.
 */

import assert from "node:assert/strict";
import {
  encodeLine,
  escapeTagValue,
  type IrcMessage,
  parseLine,
  type ParseResult,
  serverTime,
  truncateUtf8,
  unescapeTagValue,
  utf8Length,
} from "../protocol/irc/line.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const parse = (s: string) => parseLine(bytes(s));

function message(r: ParseResult): IrcMessage {
  assert.equal(r.kind, "message", JSON.stringify(r));
  if (r.kind !== "message") throw new Error("unreachable");
  return r.message;
}

function plain(m: IrcMessage) {
  return { tags: Object.fromEntries(m.tags), command: m.command, params: [...m.params] };
}

Deno.test("parse: command upper-cased, source ignored, trailing and middle params", () => {
  assert.deepEqual(plain(message(parse("privmsg #a :hello there"))), {
    tags: {},
    command: "PRIVMSG",
    params: ["#a", "hello there"],
  });
  assert.deepEqual(plain(message(parse(":nick!u@h PRIVMSG #a hi"))).params, ["#a", "hi"]);
  // An empty trailing parameter is a parameter (irssi sends `JOIN :` to probe for CAP).
  assert.deepEqual(plain(message(parse("PRIVMSG #a :"))).params, ["#a", ""]);
  assert.deepEqual(plain(message(parse("JOIN :"))).params, [""]);
  // Extra and trailing spaces separate nothing.
  assert.deepEqual(plain(message(parse("PRIVMSG   #a   b  "))).params, ["#a", "b"]);
  assert.deepEqual(plain(message(parse("PING x\r"))).params, ["x"], "CR stripped");
  assert.deepEqual(plain(message(parse("USER u 0 * ::real: name"))).params, [
    "u",
    "0",
    "*",
    ":real: name",
  ]);
  // ASCII-only upper case: a non-ASCII command keeps its length and letters.
  assert.equal(message(parse("ßjoin x")).command, "ßJOIN");
  assert.equal(message(parse("001 x")).command, "001");
});

Deno.test("parse: fifteen parameters at most, the fifteenth takes the rest", () => {
  const words = Array.from({ length: 17 }, (_, i) => `p${i}`);
  const m = message(parse("CMD " + words.join(" ")));
  assert.equal(m.params.length, 15);
  assert.deepEqual(m.params.slice(0, 14), words.slice(0, 14));
  assert.equal(m.params[14], "p14 p15 p16");
  const colon = message(parse("CMD " + words.slice(0, 14).join(" ") + " :last one"));
  assert.equal(colon.params[14], "last one");
});

Deno.test("parse: empty lines and lines without a command are nothing", () => {
  for (const s of ["", "\r", "   ", ":source", ":source   ", "@a=b", "@a=b "]) {
    assert.deepEqual(parse(s), { kind: "empty" }, JSON.stringify(s));
  }
});

Deno.test("parse: tags unescaped per message-tags (spec examples and invalid escapes)", () => {
  const m = message(parse(
    "@+example=raw+:=,escaped\\:\\s\\\\;label=abc;flag;draft/multiline-concat;e=;=x;t=a\\b\\ :n NOTICE #c :m",
  ));
  assert.deepEqual(Object.fromEntries(m.tags), {
    "+example": "raw+:=,escaped; \\",
    label: "abc",
    flag: "",
    "draft/multiline-concat": "",
    e: "",
    t: "ab",
  });
  assert.equal(unescapeTagValue("\\r\\n\\s\\:\\\\"), "\r\n ;\\");
  assert.equal(unescapeTagValue("test\\"), "test", "lone trailing backslash dropped");
  assert.equal(unescapeTagValue("\\b"), "b", "unknown escape keeps the character");
  assert.equal(escapeTagValue("raw+:=,escaped; \\"), "raw+:=,escaped\\:\\s\\\\");
  assert.equal(escapeTagValue("a\r\nb\x00c"), "a\\r\\nbc");
  for (const v of ["", "x", " ;\\\r\n", "\\s", "é 😀;"]) {
    assert.equal(unescapeTagValue(escapeTagValue(v)), v, JSON.stringify(v));
  }
});

Deno.test("parse: exactly 510 bytes pass, 511 are too long (irctest testLineAtLimit/BeyondLimit)", () => {
  const atLimit = "PING " + "x".repeat(512 - 7);
  assert.equal(atLimit.length, 510);
  assert.equal(message(parse(atLimit + "\r")).params[0].length, 505);
  assert.equal(message(parse(atLimit)).params[0].length, 505);
  const beyond = "PING " + "x".repeat(512 - 6);
  assert.equal(beyond.length, 511);
  assert.deepEqual(parse(beyond + "\r"), { kind: "too_long", part: "body", tags: new Map() });
  // Bytes, not characters: 505 bytes of "é" (2 bytes each) would be 252 characters.
  const multi = "PING " + "é".repeat(252) + "x"; // 5 + 504 + 1 = 510 bytes
  assert.equal(utf8Length(multi), 510);
  assert.equal(parse(multi).kind, "message");
  assert.equal(parse(multi + "x").kind, "too_long");
});

Deno.test("parse: tag data up to 4094 bytes, then 417 (irctest testLengthLimits, testLineTooLong)", () => {
  const maxTagmsg = "@foo=bar;+baz=" + "a".repeat(4081) + " TAGMSG #test";
  assert.equal(maxTagmsg.indexOf("TAGMSG"), 4096);
  const m = message(parse(maxTagmsg));
  assert.equal(m.tags.get("+baz"), "a".repeat(4081));
  assert.equal(m.command, "TAGMSG");

  const excessTagmsg = "@foo=bar;+baz=" + "a".repeat(4082) + " TAGMSG #test";
  assert.deepEqual(parse(excessTagmsg), { kind: "too_long", part: "tags", tags: new Map() });

  const maxPrivmsg = "@foo=bar;+baz=" + "a".repeat(4081) + " PRIVMSG #test " + "b".repeat(496);
  assert.equal(maxPrivmsg.length, 4096 + 510);
  assert.equal(message(parse(maxPrivmsg)).params[1], "b".repeat(496));

  const excessPrivmsg = "@foo=bar;+baz=" + "a".repeat(4082) + " PRIVMSG #test " +
    "b".repeat(495);
  assert.equal(excessPrivmsg.length, 4096 + 510);
  assert.equal(parse(excessPrivmsg).kind, "too_long");

  const monster = "@+clientOnlyTagExample=" + "a".repeat(4096) + " PRIVMSG #xyz hi!";
  assert.equal(parse(monster).kind, "too_long");
  assert.equal(parse("@" + "a".repeat(5000)).kind, "too_long", "tags without a command");

  // A body over 510 with tags in bounds keeps its tags, so a label can be honoured on 417.
  const r = parse("@label=L1 PING " + "x".repeat(506));
  assert.equal(r.kind, "too_long");
  if (r.kind === "too_long") {
    assert.equal(r.part, "body");
    assert.equal(r.tags.get("label"), "L1");
  }
});

Deno.test("parse: invalid UTF-8 is reported with the line decoded lossily", () => {
  const line = Uint8Array.of(
    ...bytes("@label=x PRIVMSG #a :bad "),
    0xff,
    0xc3,
    ...bytes(" end"),
  );
  const r = parseLine(line);
  assert.equal(r.kind, "invalid_utf8");
  if (r.kind === "invalid_utf8") {
    assert.equal(r.message.command, "PRIVMSG");
    assert.equal(r.message.tags.get("label"), "x");
    assert.deepEqual(r.message.params, ["#a", "bad \ufffd\ufffd end"]);
  }
  // Overlong encodings and lone surrogates are invalid too.
  assert.equal(parseLine(Uint8Array.of(...bytes("USER u 0 * :"), 0xc0, 0xaf)).kind, "invalid_utf8");
  assert.equal(
    parseLine(Uint8Array.of(...bytes("NICK "), 0xed, 0xa0, 0x80)).kind,
    "invalid_utf8",
  );
  // A BOM is kept as a character, not silently eaten.
  assert.equal(
    message(parseLine(Uint8Array.of(0xef, 0xbb, 0xbf, ...bytes("PING x")))).command,
    "\ufeffPING",
  );
  // Valid multi-byte text is a message.
  assert.deepEqual(message(parse("PRIVMSG #a :héllo 👋")).params, ["#a", "héllo 👋"]);
});

Deno.test("encode: trailing only when needed, or for human text", () => {
  assert.equal(encodeLine({ command: "PING", params: ["x"] }), "PING x\r\n");
  assert.equal(
    encodeLine({ source: "irc.test", command: "PONG", params: ["irc.test", ""] }),
    ":irc.test PONG irc.test :\r\n",
  );
  assert.equal(
    encodeLine({ source: "n!~u@h", command: "PRIVMSG", params: ["#a", ":)"] }),
    ":n!~u@h PRIVMSG #a ::)\r\n",
  );
  assert.equal(
    encodeLine({ source: "n!~u@h", command: "PRIVMSG", params: ["#a", "two words"] }),
    ":n!~u@h PRIVMSG #a :two words\r\n",
  );
  assert.equal(
    encodeLine({ source: "s", command: "001", params: ["a", "Welcome"], trailing: true }),
    ":s 001 a :Welcome\r\n",
  );
  assert.equal(encodeLine({ source: "s", command: "ACK", params: [] }), ":s ACK\r\n");
});

Deno.test("encode: tags escaped, in order, bare keys for empty values", () => {
  assert.equal(
    encodeLine({
      tags: { label: "a b;c", batch: "m7", "draft/multiline-concat": "", time: serverTime(1500) },
      source: "n!~u@h",
      command: "PRIVMSG",
      params: ["#a", "x"],
    }),
    "@label=a\\sb\\:c;batch=m7;draft/multiline-concat;time=1970-01-01T00:00:01.500Z :n!~u@h PRIVMSG #a x\r\n",
  );
  assert.equal(encodeLine({ tags: {}, command: "PING", params: ["x"] }), "PING x\r\n");
  // Tags past 4094 bytes of tag data are left out rather than overflowing the limit.
  const big = encodeLine({
    tags: { label: "L", huge: "y".repeat(4100), msgid: "9" },
    command: "PING",
    params: ["x"],
  });
  assert.equal(big, "@label=L;msgid=9 PING x\r\n");
});

Deno.test("encode: CR, LF and NUL never reach a parameter; middle params stay one token", () => {
  assert.equal(
    encodeLine({ command: "NOTICE", params: ["a", "one\r\ntwo\x00three"] }),
    "NOTICE a :one  two three\r\n",
  );
  assert.equal(
    encodeLine({ command: "X", params: ["", "a b", ":c", "d\ne", "last"] }),
    "X * a_b _c d_e last\r\n",
  );
  const back = message(parseLine(bytes(
    encodeLine({ command: "X", params: ["", "a b", ":c", "last words"] }).slice(0, -2),
  )));
  assert.deepEqual(back.params, ["*", "a_b", "_c", "last words"]);
});

Deno.test("encode: the body is cut to 512 bytes at a code point, the last param only", () => {
  // irctest testLineAtLimit: PING with 505 x's gets a PONG cut to fit, keeping ≥ 450 x's.
  const pong = encodeLine({
    source: "irc.test",
    command: "PONG",
    params: ["irc.test", "x".repeat(505)],
  });
  assert.equal(utf8Length(pong), 512);
  assert.ok(pong.endsWith("x\r\n"));
  assert.equal(pong, ":irc.test PONG irc.test " + "x".repeat(512 - 26) + "\r\n");
  // Multi-byte: never half a character. "€" is 3 bytes; 512-2-len(":s NOTICE a :")=497 → 165 €.
  const euro = encodeLine({
    source: "s",
    command: "NOTICE",
    params: ["a", "€".repeat(300)],
    trailing: true,
  });
  assert.equal(euro, ":s NOTICE a :" + "€".repeat(165) + "\r\n");
  assert.equal(utf8Length(euro), 13 + 495 + 2);
  // Emoji (surrogate pairs, 4 bytes): 497 / 4 = 124.
  const emoji = encodeLine({
    source: "s",
    command: "NOTICE",
    params: ["a", "😀".repeat(200)],
    trailing: true,
  });
  assert.equal(emoji, ":s NOTICE a :" + "😀".repeat(124) + "\r\n");
  // Tags do not count toward the 512.
  const tagged = encodeLine({
    tags: { msgid: "1".repeat(100) },
    command: "PING",
    params: ["x".repeat(600)],
  });
  assert.equal(utf8Length(tagged), 1 + 6 + 100 + 1 + 512);
  // Every encoded line parses back within the inbound limit.
  const r = parseLine(bytes(pong.slice(0, -2)));
  assert.equal(r.kind, "message");
});

Deno.test("utf8Length and truncateUtf8 agree with TextEncoder", () => {
  for (const s of ["", "a", "é", "€", "😀", "aé€😀", "\ud800", "x\udc00y", "🏳️‍🌈"]) {
    assert.equal(utf8Length(s), bytes(s).length, JSON.stringify(s));
  }
  const s = "aé€😀b";
  for (let max = 0; max <= 11; max++) {
    const cut = truncateUtf8(s, max);
    assert.ok(bytes(cut).length <= max);
    assert.ok(s.startsWith(cut));
    assert.equal(new TextDecoder().decode(bytes(cut)), cut, "no broken sequence");
  }
  assert.equal(truncateUtf8(s, 7), "aé€");
  assert.equal(truncateUtf8(s, 9), "aé€");
  assert.equal(truncateUtf8(s, 10), "aé€😀");
});

Deno.test("round trip: encode then parse gives the same command, params and tags", () => {
  const cases: { tags?: Record<string, string>; command: string; params: string[] }[] = [
    { tags: { label: "x y", msgid: "4711" }, command: "PRIVMSG", params: ["#r", "hi there"] },
    { tags: { "draft/multiline-concat": "" }, command: "NOTICE", params: ["bob", ""] },
    { command: "MODE", params: ["#r", "+ov", "alice", "bob"] },
    { command: "PRIVMSG", params: ["#r", ":colon first"] },
  ];
  for (const c of cases) {
    const wire = encodeLine({ source: "n!~u@h", ...c });
    const m = message(parseLine(bytes(wire.slice(0, -2))));
    assert.deepEqual(plain(m), { tags: c.tags ?? {}, command: c.command, params: c.params });
  }
});
