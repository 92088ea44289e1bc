import assert from "node:assert/strict";
import {
  emojiFor,
  expandShortcodes,
  shortcodesStartingWith,
  shortcodeTable,
} from "../client/emoji.ts";

Deno.test("emoji: a known shortcode becomes its emoji, an unknown one stays as typed", () => {
  assert.equal(expandShortcodes("ship it :tada:"), "ship it 🎉");
  assert.equal(expandShortcodes(":+1: and :-1:"), "👍 and 👎");
  assert.equal(expandShortcodes("a :notanemoji: here"), "a :notanemoji: here");
  // Names every object has are not shortcodes.
  assert.equal(
    expandShortcodes(":constructor: :__proto__: :toString:"),
    ":constructor: :__proto__: :toString:",
  );
  // Shortcodes are lower case, as GitHub spells them.
  assert.equal(expandShortcodes(":TADA:"), ":TADA:");
});

Deno.test("emoji: at the start, at the end, several, and adjacent", () => {
  assert.equal(expandShortcodes(":wave:"), "👋");
  assert.equal(expandShortcodes(":wave: hi"), "👋 hi");
  assert.equal(expandShortcodes("hi :wave:"), "hi 👋");
  assert.equal(expandShortcodes(":tada: x :rocket: y :tada:"), "🎉 x 🚀 y 🎉");
  assert.equal(expandShortcodes(":tada::tada:"), "🎉🎉");
  assert.equal(expandShortcodes(":nope::tada:"), ":nope:🎉");
  assert.equal(expandShortcodes("(:tada:)!"), "(🎉)!");
});

Deno.test("emoji: not inside a word, a time or a URL", () => {
  assert.equal(expandShortcodes("a:tada:b"), "a:tada:b");
  assert.equal(expandShortcodes("x:tada: :tada:y"), "x:tada: :tada:y");
  assert.equal(expandShortcodes("at 12:30:45 today"), "at 12:30:45 today");
  assert.equal(expandShortcodes("http://a:b:c"), "http://a:b:c");
  assert.equal(
    expandShortcodes("see https://example.com/:tada:/x?q=:rocket: then :tada:"),
    "see https://example.com/:tada:/x?q=:rocket: then 🎉",
  );
  assert.equal(expandShortcodes("no colons here"), "no colons here");
  assert.equal(expandShortcodes("one: colon"), "one: colon");
});

Deno.test("emoji: prefix lookup is sorted and ignores case; no match is empty", () => {
  const ta = shortcodesStartingWith("ta");
  assert.ok(ta.includes("tada") && ta.includes("taco"), ta.join());
  assert.deepEqual(ta, [...ta].sort());
  assert.ok(ta.every((n) => n.startsWith("ta")));
  assert.deepEqual(shortcodesStartingWith("TAD"), ["tada"]);
  assert.deepEqual(shortcodesStartingWith("zzzq"), []);
  // The first and last names are found too (the binary search's edges).
  const all = [...shortcodeTable().keys()].sort();
  assert.deepEqual(shortcodesStartingWith(all[0]).slice(0, 1), [all[0]]);
  assert.deepEqual(shortcodesStartingWith(all[all.length - 1]), [all[all.length - 1]]);
  assert.equal(shortcodesStartingWith("").length, all.length);
});

Deno.test("emoji: the table loads once, into a Map (O(1) lookups), with GitHub's ~1,900 names", () => {
  const table = shortcodeTable();
  assert.equal(shortcodeTable(), table, "the same table on every call: built once");
  assert.ok(table instanceof Map, "a Map: a lookup is a hash, not a scan");
  assert.ok(table.size >= 1800 && table.size <= 5000, `size ${table.size}`);
  assert.equal(emojiFor("tada"), "🎉");
  assert.equal(emojiFor("nope"), undefined);
  // A lookup does not grow with the table: a million hits take far less than a scan each would
  // (1e6 × 1,900 comparisons). Generous, for a busy machine.
  const start = performance.now();
  let hits = 0;
  for (let i = 0; i < 1_000_000; i++) if (emojiFor("zzz") !== undefined) hits++;
  assert.equal(hits, 1_000_000);
  assert.ok(performance.now() - start < 2_000, `${performance.now() - start} ms`);
});
