/**
 * A sockchat message as IRC lines (protocol/irc/split.ts): cut at `\n` and at concat breaks,
 * then to the byte budget at a space, a grapheme or a code point, never inside a UTF-8 sequence
 * or between a base and its combining marks; a multiline batch for multiline readers (irctest
 * testBasic/testBlankLines shapes) and plain lines without blanks for others.
 */

import assert from "node:assert/strict";
import { encodeLine, parseLine, utf8Length } from "../protocol/irc/line.ts";
import {
  messageBudget,
  messageLines,
  splitMessageText,
  type TextPiece,
} from "../protocol/irc/split.ts";
import { mulberry32 } from "./helpers/prng.ts";

const SRC = "alice!~alice@1a2b3c4d5e.sc";

/** Joins pieces back the way a multiline reader does. */
function join(pieces: readonly TextPiece[]): string {
  return pieces.map((p, i) => (i === 0 ? "" : p.concat ? "" : "\n") + p.text).join("");
}

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
/** The graphemes of `s` as [start, end) UTF-16 ranges. */
function graphemeRanges(s: string): [number, number][] {
  return Array.from(segmenter.segment(s), (g) => [g.index, g.index + g.segment.length]);
}

/** A cut at `offset` is allowed: on a grapheme boundary, or inside one too big for `budget`. */
function cutAllowed(s: string, ranges: [number, number][], offset: number, budget: number) {
  const inside = ranges.find(([a, b]) => a < offset && offset < b);
  return inside === undefined || utf8Length(s.slice(inside[0], inside[1])) > budget;
}

Deno.test("budget: 512 minus ':source CMD target :' and CRLF", () => {
  assert.equal(
    messageBudget("a!~a@h", "PRIVMSG", "#r"),
    512 - utf8Length(":a!~a@h PRIVMSG #r :\r\n"),
  );
  assert.equal(messageBudget(SRC, "PRIVMSG", "#rust"), 512 - 45);
});

Deno.test("short text is one piece; \\n always splits and blank lines are kept", () => {
  assert.deepEqual(splitMessageText("hi", 100), [{ text: "hi", concat: false }]);
  assert.deepEqual(splitMessageText("a\n\nb\n", 100), [
    { text: "a", concat: false },
    { text: "", concat: false },
    { text: "b", concat: false },
    { text: "", concat: false },
  ]);
});

Deno.test("over budget: cut after the last space that fits, the space ending the earlier line", () => {
  assert.deepEqual(splitMessageText("hello world again", 12), [
    { text: "hello world ", concat: false },
    { text: "again", concat: true },
  ]);
  assert.deepEqual(splitMessageText("hello world", 8), [
    { text: "hello ", concat: false },
    { text: "world", concat: true },
  ]);
  // No space within budget: cut at the budget (here between ASCII letters).
  assert.deepEqual(splitMessageText("abcdefghij", 4), [
    { text: "abcd", concat: false },
    { text: "efgh", concat: true },
    { text: "ij", concat: true },
  ]);
});

Deno.test("never inside a UTF-8 sequence, never between a base and its combining marks", () => {
  // "é" as e + U+0301 (3 bytes per grapheme); budget 7 fits two graphemes (6 bytes), not 2⅓.
  const decomposed = "e\u0301".repeat(5);
  const parts = splitMessageText(decomposed, 7).map((p) => p.text);
  assert.deepEqual(parts, ["e\u0301e\u0301", "e\u0301e\u0301", "e\u0301"]);
  // 4-byte emoji and a ZWJ family (25 bytes) stay whole.
  const family = "👨‍👩‍👧‍👦";
  assert.equal(utf8Length(family), 25);
  const fam = splitMessageText(`${family}${family}x`, 30).map((p) => p.text);
  assert.deepEqual(fam, [family, family + "x"]);
  const flags = splitMessageText("🇫🇷🇩🇪🇯🇵", 9).map((p) => p.text);
  assert.deepEqual(flags, ["🇫🇷", "🇩🇪", "🇯🇵"], "regional indicator pairs stay pairs");
});

Deno.test("a space carrying a combining mark is not a place to cut", () => {
  // " \u0301" is one grapheme (the mark sits on the space): the last clean space is earlier.
  assert.deepEqual(splitMessageText("ab cd \u0301ef", 8).map((p) => p.text), [
    "ab ",
    "cd \u0301ef",
  ]);
  // Plain ASCII without spaces is cut exactly at the budget, with no segmenter needed.
  assert.deepEqual(splitMessageText("x".repeat(10), 4).map((p) => p.text), ["xxxx", "xxxx", "xx"]);
});

Deno.test("a single grapheme over budget is cut between code points, never mid-sequence", () => {
  const zalgo = "a" + "\u0300".repeat(300); // one grapheme of 601 bytes
  const parts = splitMessageText(zalgo, 100);
  assert.equal(join(parts), zalgo);
  for (const p of parts) {
    assert.ok(utf8Length(p.text) <= 100);
    assert.equal(new TextDecoder().decode(new TextEncoder().encode(p.text)), p.text);
  }
  assert.equal(parts[0].text, "a" + "\u0300".repeat(49), "1 + 49 × 2 = 99 bytes");
  // A budget under one character still makes progress, one code point at a time.
  assert.deepEqual(splitMessageText("😀😀", 2).map((p) => p.text), ["😀", "😀"]);
});

Deno.test("every split rejoins to the original, fits the budget, cuts only between graphemes", () => {
  const rng = mulberry32(15);
  const alphabet = [
    "a",
    "b",
    " ",
    " ",
    "é",
    "e\u0301",
    "\u0301", // a lone mark: after a space it joins the space
    "\u200d", // a lone joiner
    "€",
    "😀",
    "👨‍👩‍👧",
    "🇫",
    "\n",
    "ß",
    "字",
  ];
  for (let n = 0; n < 400; n++) {
    let text = "";
    const len = rng.int(0, 120);
    for (let i = 0; i < len; i++) text += rng.pick(alphabet);
    const budget = rng.int(8, 60);
    const pieces = splitMessageText(text, budget);
    assert.equal(join(pieces), text, JSON.stringify({ text, budget }));
    const ranges = graphemeRanges(text);
    let offset = 0;
    pieces.forEach((p, i) => {
      if (i > 0 && !p.concat) offset++; // the "\n"
      assert.ok(utf8Length(p.text) <= budget, JSON.stringify({ p, budget }));
      assert.ok(!p.text.includes("\n"));
      assert.ok(!(p.concat && p.text === ""), "no blank concat piece");
      assert.ok(
        cutAllowed(text, ranges, offset, budget),
        `piece ${i}: ${JSON.stringify({ text, budget })}`,
      );
      offset += p.text.length;
    });
  }
});

Deno.test("breaks reproduce a multiline sender's composition (irctest testBasic)", () => {
  // hello / "#how is " / concat "everyone?": the core text and the offset of the concat join.
  const text = "hello\n#how is everyone?";
  const breaks = [text.indexOf("everyone?")];
  assert.deepEqual(splitMessageText(text, 400, breaks), [
    { text: "hello", concat: false },
    { text: "#how is ", concat: false },
    { text: "everyone?", concat: true },
  ]);
  const lines = messageLines({
    source: SRC,
    command: "PRIVMSG",
    target: "#test",
    text,
    breaks,
    msgid: "42",
    tags: { time: "2026-12-01T02:00:00.000Z", account: "alice" },
    batchId: "m42",
  }).map(encodeLine);
  assert.deepEqual(lines, [
    `@msgid=42;time=2026-12-01T02:00:00.000Z;account=alice :${SRC} BATCH +m42 draft/multiline #test\r\n`,
    `@batch=m42 :${SRC} PRIVMSG #test :hello\r\n`,
    `@batch=m42 :${SRC} PRIVMSG #test :#how is \r\n`,
    `@batch=m42;draft/multiline-concat :${SRC} PRIVMSG #test :everyone?\r\n`,
    `:${SRC} BATCH -m42\r\n`,
  ]);
  // The fallback keeps the composition, msgid on the first line only, no concat tag.
  const plain = messageLines({
    source: SRC,
    command: "PRIVMSG",
    target: "#test",
    text,
    breaks,
    msgid: "42",
    tags: { time: "2026-12-01T02:00:00.000Z" },
  }).map(encodeLine);
  assert.deepEqual(plain, [
    `@msgid=42;time=2026-12-01T02:00:00.000Z :${SRC} PRIVMSG #test :hello\r\n`,
    `@time=2026-12-01T02:00:00.000Z :${SRC} PRIVMSG #test :#how is \r\n`,
    `@time=2026-12-01T02:00:00.000Z :${SRC} PRIVMSG #test :everyone?\r\n`,
  ]);
  // Invalid breaks (out of range, inside a surrogate pair, at a newline) are ignored.
  assert.deepEqual(splitMessageText("a😀b", 100, [2, -1, 99, 0]), [{
    text: "a😀b",
    concat: false,
  }]);
  assert.deepEqual(splitMessageText("a\nb", 100, [1, 2]), [
    { text: "a", concat: false },
    { text: "b", concat: false },
  ]);
});

Deno.test("blank lines: kept in the batch, dropped from the fallback (irctest testBlankLines)", () => {
  const text = "\n#how is everyone?";
  const breaks = [text.indexOf("everyone?")];
  const batch = messageLines({
    source: SRC,
    command: "PRIVMSG",
    target: "#test",
    text,
    breaks,
    msgid: "9",
    batchId: "m9",
  }).map(encodeLine);
  assert.deepEqual(batch.slice(1, -1), [
    `@batch=m9 :${SRC} PRIVMSG #test :\r\n`,
    `@batch=m9 :${SRC} PRIVMSG #test :#how is \r\n`,
    `@batch=m9;draft/multiline-concat :${SRC} PRIVMSG #test :everyone?\r\n`,
  ]);
  const plain = messageLines({
    source: SRC,
    command: "PRIVMSG",
    target: "#test",
    text,
    breaks,
    msgid: "9",
  })
    .map(encodeLine);
  assert.deepEqual(plain, [
    `@msgid=9 :${SRC} PRIVMSG #test :#how is \r\n`,
    `:${SRC} PRIVMSG #test :everyone?\r\n`,
  ]);
});

Deno.test("one short line is one PRIVMSG even for a multiline reader", () => {
  assert.deepEqual(
    messageLines({
      source: SRC,
      command: "NOTICE",
      target: "bob",
      text: "hi there",
      msgid: "3",
      batchId: "m3",
    })
      .map(encodeLine),
    [`@msgid=3 :${SRC} NOTICE bob :hi there\r\n`],
  );
});

Deno.test("a 2 KB line becomes lines of ≤ 512 bytes, UTF-8 intact, concat on continuations", () => {
  const words: string[] = [];
  for (let i = 0; words.join(" ").length < 2048; i++) words.push(i % 3 ? "mot" + i : "élève€😀");
  const text = words.join(" ");
  const batch = messageLines({
    source: SRC,
    command: "PRIVMSG",
    target: "#rust",
    text,
    msgid: "5",
    batchId: "m5",
  });
  const inner = batch.slice(1, -1);
  assert.ok(inner.length >= 5);
  let rejoined = "";
  for (const line of inner) {
    const wire = encodeLine(line);
    const body = wire.slice(wire.indexOf(" ") + 1); // after the tags
    assert.ok(utf8Length(body) <= 512, `${utf8Length(body)} bytes`);
    const parsed = parseLine(new TextEncoder().encode(wire.slice(0, -2)));
    assert.equal(parsed.kind, "message");
    if (parsed.kind !== "message") continue;
    assert.equal(parsed.message.params[1], line.params[1], "nothing cut by the encoder");
    rejoined += parsed.message.params[1];
  }
  assert.equal(rejoined, text);
  assert.ok(inner.slice(1).every((l) => l.tags?.["draft/multiline-concat"] === ""));
  assert.ok(inner.slice(0, -1).every((l) => l.params[1].endsWith(" ")), "cut after spaces");
  const plain = messageLines({
    source: SRC,
    command: "PRIVMSG",
    target: "#rust",
    text,
    msgid: "5",
    tags: { time: "T" },
  });
  assert.equal(plain.length, inner.length);
  assert.deepEqual(plain[0].tags, { msgid: "5", time: "T" });
  assert.ok(plain.slice(1).every((l) => l.tags?.msgid === undefined && l.tags?.time === "T"));
  assert.ok(plain.every((l) => utf8Length(encodeLine({ ...l, tags: undefined })) <= 512));
});

Deno.test("/me: every line an ACTION within budget, never a multiline batch", () => {
  const text = "waves " + "x".repeat(600) + "\nand leaves";
  const lines = messageLines({
    source: SRC,
    command: "PRIVMSG",
    target: "#r",
    text,
    action: true,
    batchId: "m1",
  });
  // The space after "waves" is the last one within budget: the word ends the first line.
  assert.deepEqual(lines.map((l) => l.params[1].length - 9), [6, 461, 139, 10]);
  for (const l of lines) {
    assert.equal(l.command, "PRIVMSG");
    assert.ok(l.params[1].startsWith("\x01ACTION ") && l.params[1].endsWith("\x01"));
    assert.ok(utf8Length(encodeLine(l)) <= 512);
  }
  assert.equal(utf8Length(encodeLine(lines[1])), 512, "the budget is used to the byte");
  assert.equal(lines[3].params[1], "\x01ACTION and leaves\x01");
});
