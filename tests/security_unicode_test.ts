import assert from "node:assert/strict";
import { NICK_MAX_COMBINING_RUN, TEXT_MAX_COMBINING_RUN } from "../config/security_limits.ts";
import { isLatinLookalike, LATIN_LOOKALIKES, toLatinLookalikes } from "../security/confusables.ts";
import {
  caseFold,
  nickSafetyProblem,
  nickSkeleton,
  sanitizeMessageText,
} from "../security/unicode.ts";

const ACUTE = "\u0301";

Deno.test("ordinary nicks in many scripts are accepted", () => {
  for (
    const nick of [
      "alice",
      "Bob_42",
      "José",
      "Nguyễn",
      "Алиса",
      "вася99",
      "Ελένη",
      "田中",
      "ไทย",
      "अंकित",
      "Սոնա",
      "❤️bob",
      "👩🏽",
    ]
  ) {
    assert.equal(nickSafetyProblem(nick), null, nick);
  }
});

Deno.test("direction-changing characters are refused in nicks", () => {
  for (const c of ["\u202e", "\u202a", "\u2066", "\u2069", "\u200f", "\u200e", "\u061c"]) {
    assert.equal(
      nickSafetyProblem(`ali${c}ce`),
      "A nickname may not contain characters that change the direction of text.",
      `U+${c.codePointAt(0)?.toString(16)}`,
    );
  }
});

Deno.test("invisible and formatting characters are refused in nicks", () => {
  const invisible = [
    "\u200b", // zero-width space
    "\u200c", // zero-width non-joiner
    "\u200d", // zero-width joiner
    "\u2060", // word joiner
    "\ufeff", // zero-width no-break space
    "\u00ad", // soft hyphen
    "\u034f", // combining grapheme joiner
    "\u3164", // Hangul filler
    "\u2800", // Braille blank
    "\u{e0041}", // tag letter A
    "\ufe0f", // variation selector after a letter, not an emoji
    "\ue000", // private use
  ];
  for (const c of invisible) {
    assert.match(
      nickSafetyProblem(`ali${c}ce`) ?? "",
      /invisible or formatting/,
      `U+${c.codePointAt(0)?.toString(16)}`,
    );
  }
  assert.equal(nickSafetyProblem("bob\u{1f469}\u200d\u{1f4bb}")?.includes("invisible"), true);
});

Deno.test("controls and spaces of every kind are refused in nicks", () => {
  for (const c of ["\x1b", "\x00", "\x7f", "\x85", "\u00a0", "\u3000", "\u2028", " ", "\t"]) {
    assert.equal(
      nickSafetyProblem(`a${c}b`),
      "A nickname may not contain spaces or control characters.",
      JSON.stringify(c),
    );
  }
});

Deno.test("combining marks: none leading, at most three on one letter", () => {
  assert.match(nickSafetyProblem(`${ACUTE}alice`) ?? "", /may not start with a combining mark/);
  // x has no precomposed accented forms, so NFC leaves every mark in place.
  const ok = "x" + "\u0300\u0301\u0302".slice(0, NICK_MAX_COMBINING_RUN);
  assert.equal(nickSafetyProblem(`al${ok}`), null);
  assert.equal(
    nickSafetyProblem(`al${ok}\u0303`),
    "A nickname may have at most 3 accents or marks on one letter.",
  );
});

Deno.test("a nick may not mix Latin, Greek, Cyrillic or Armenian letters", () => {
  assert.equal(
    nickSafetyProblem("\u0430lice"),
    "A nickname may not mix Latin and Cyrillic letters, which look alike; use one alphabet.",
  );
  assert.match(nickSafetyProblem("\u03bfscar") ?? "", /mix Latin and Greek letters/);
  assert.match(nickSafetyProblem("\u0585\u043e") ?? "", /mix Cyrillic and Armenian letters/);
  assert.equal(nickSafetyProblem("tanaka田中"), null, "Han beside Latin is not a lookalike");
  assert.equal(nickSafetyProblem("вася_99"), null, "digits and _ belong to no script");
});

Deno.test("the skeleton makes lookalikes collide, across and within scripts", () => {
  const same: [string, string][] = [
    ["\u0430lice", "alice"], // Cyrillic а
    ["\u0430l\u0456c\u0435", "alice"], // Cyrillic а, і, е
    ["\u041d\u0415\u0425", "hex"], // Cyrillic НЕХ
    ["\u0391\u03a1\u0395\u03a7", "apex"], // Greek ΑΡΕΧ
    ["\u03bf\u03bd\u03b5\u03b7", "ovεn"], // Greek ο ν (ε is not in the table)
    ["\u029c\u1d07\u029f\u029f\u1d0f", "hello"], // small capitals
    ["\u0585\u057d\u0570", "ouh"], // Armenian
    ["ａｌｉｃｅ", "alice"], // fullwidth
    ["\u{1d41a}\u{1d425}\u{1d422}\u{1d41c}\u{1d41e}", "alice"], // mathematical bold
    ["ALICE", "alice"],
    ["İstanbul", "istanbul"],
    ["STRASSE", "straße"],
    ["ẞ", "ss"],
    ["ﬁsh", "fish"],
    [`alic${"e" + ACUTE}`, "alice"],
    ["al\u0131ce", "alice"], // dotless i
    ["\u2764\ufe0fbob", "\u2764bob"], // emoji presentation selector
    ["\u03f9\u0391\u03a4", "cat"], // Greek lunate sigma, which NFKC turns into Σ
  ];
  for (const [a, b] of same) {
    assert.equal(nickSkeleton(a), nickSkeleton(b), `${a} / ${b}`);
  }
});

Deno.test("the skeleton keeps apart what looks different", () => {
  const different: [string, string][] = [
    ["ali", "all"],
    ["bob1", "bobl"],
    ["o0", "oo"],
    ["\u0410\u043b\u0438\u0441\u0430", "alisa"], // Алиса: л and и look nothing like l and i
    ["\u0397\u03bb\u03b9\u03bf\u03c2", "\u03b7\u03bb\u03b9\u03bf\u03c2"], // Ηλιος / ηλιος
    ["田中", "田申"],
  ];
  for (const [a, b] of different) {
    assert.notEqual(nickSkeleton(a), nickSkeleton(b), `${a} / ${b}`);
  }
  assert.equal(nickSkeleton("НИНА"), nickSkeleton("нина"), "Cyrillic case still folds");
  assert.equal(nickSkeleton("ΑΘΗΝΑ"), nickSkeleton("ΑΘΗΝΑ".toLowerCase().toUpperCase()));
});

Deno.test("the lookalike table maps each character to one basic Latin letter", () => {
  const seen = new Set<string>();
  for (const [latin, alikes] of Object.entries(LATIN_LOOKALIKES)) {
    assert.match(latin, /^[a-z]$/);
    for (const alike of alikes) {
      assert.ok(!seen.has(alike), `U+${alike.codePointAt(0)?.toString(16)} listed twice`);
      assert.ok((alike.codePointAt(0) ?? 0) > 0x7f, "no ASCII on the left");
      seen.add(alike);
      assert.equal(toLatinLookalikes(alike), latin);
    }
  }
  assert.equal(isLatinLookalike("a"), false);
  assert.equal(isLatinLookalike("\u0430"), true);
  assert.equal(toLatinLookalikes("plain 日本"), "plain 日本");
});

Deno.test("case folding expands ß and ligatures", () => {
  assert.equal(caseFold("Straße"), "strasse");
  assert.equal(caseFold("ẞ"), "ss");
  assert.equal(caseFold("ﬀ"), "ff");
  assert.equal(caseFold("ǅ"), "ǆ");
});

Deno.test("message text loses escape sequences, controls and bidi reordering", () => {
  const cases: [string, string][] = [
    ["\x1b[31mred\x1b[0m", "red"],
    ["\x1b]0;pwned\x07title", "title"],
    ["\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"],
    ["\x1bP1$r\x1b\\dcs", "dcs"],
    ["\x9b31mc1", "c1"],
    ["a\x00b\x07c\x08d\re\x7ff", "abcdef"],
    ["tab\there", "tab here"],
    ["two\nlines", "two\nlines"],
    ["\u202eevil\u202c \u2067iso\u2069", "evil iso"],
    ["para\u2029graph\u2028line", "para\ngraph\nline"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(sanitizeMessageText(input), expected, JSON.stringify(input));
  }
});

Deno.test("message text keeps what real writing needs", () => {
  for (
    const text of [
      "שלום \u200fworld", // RLM is a mark, not an override
      "\u{1f468}\u200d\u{1f4bb} coding", // ZWJ emoji sequence
      "می\u200cخواهم", // ZWNJ in Persian
      "Nguye\u0302\u0303n", // two marks
      "❤️",
    ]
  ) {
    assert.equal(sanitizeMessageText(text), text, JSON.stringify(text));
  }
});

Deno.test("runs of combining marks in text are cut to the limit", () => {
  const marks = (n: number) => ACUTE.repeat(n);
  assert.equal(
    sanitizeMessageText(`e${marks(TEXT_MAX_COMBINING_RUN)}`),
    `e${marks(TEXT_MAX_COMBINING_RUN)}`,
  );
  assert.equal(sanitizeMessageText(`e${marks(50)}x`), `e${marks(TEXT_MAX_COMBINING_RUN)}x`);
});

Deno.test("huge inputs are handled in linear time (no regex backtracking blow-up)", () => {
  // Quadratic code would take minutes here; linear code takes milliseconds.
  const marks = "a" + ACUTE.repeat(200_000);
  assert.equal(nickSkeleton(marks), "a");
  assert.equal(sanitizeMessageText(marks).length, 1 + TEXT_MAX_COMBINING_RUN);
  assert.match(nickSafetyProblem(marks) ?? "", /at most 3 accents/);
});
