import assert from "node:assert/strict";
import {
  normalizePaste,
  PASTE_END,
  PASTE_START,
  type PasteEvent,
  PasteFilter,
} from "../client/bracketed_paste.ts";
import { Palette } from "../client/colors.ts";
import { commonPrefix, complete } from "../client/completion.ts";
import { parseInput } from "../client/input.ts";
import { MultilineBuffer } from "../client/multiline.ts";
import { MAX_HELD_SHOWN, MAX_PENDING_SHOWN, PENDING_MARK, promptText } from "../client/prompt.ts";
import type { ConnectionState } from "../client/ui.ts";

Deno.test("paste filter: keys pass through, a bracketed paste comes out whole", () => {
  const filter = new PasteFilter();
  assert.deepEqual(filter.push(`ab${PASTE_START}one\rtwo\r${PASTE_END}cd`), [
    { kind: "keys", data: "ab" },
    { kind: "paste", text: "one\rtwo\r", truncated: false },
    { kind: "keys", data: "cd" },
  ]);
  // Arrow keys and other escapes are untouched.
  assert.deepEqual(filter.push("\x1b[A\x1b[1;5D"), [{ kind: "keys", data: "\x1b[A\x1b[1;5D" }]);
});

Deno.test("paste filter: markers split anywhere across chunks are still found", () => {
  const input = `x${PASTE_START}line 1\nline 2${PASTE_END}y`;
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) {
      const filter = new PasteFilter();
      const events: PasteEvent[] = [
        ...filter.push(input.slice(0, i)),
        ...filter.push(input.slice(i, j)),
        ...filter.push(input.slice(j)),
      ];
      const keys = events.filter((e) => e.kind === "keys").map((e) => e.data).join("");
      const pastes = events.filter((e) => e.kind === "paste").map((e) => e.text);
      assert.equal(keys, "xy", `split at ${i}/${j}`);
      assert.deepEqual(pastes, ["line 1\nline 2"], `split at ${i}/${j}`);
    }
  }
});

Deno.test("paste filter: a lone ESC is held only until flushed; long pastes are capped", () => {
  const filter = new PasteFilter({ maxPaste: 5 });
  assert.deepEqual(filter.push("a\x1b"), [{ kind: "keys", data: "a" }]);
  assert.ok(filter.holding);
  assert.deepEqual(filter.flush(), [{ kind: "keys", data: "\x1b" }]);
  assert.ok(!filter.holding);
  assert.deepEqual(filter.push(`${PASTE_START}0123456789${PASTE_END}`), [
    { kind: "paste", text: "01234", truncated: true },
  ]);
});

Deno.test("normalizePaste: line endings, tabs, escapes and one trailing newline", () => {
  assert.equal(normalizePaste("a\r\nb\rc\n"), "a\nb\nc");
  assert.equal(normalizePaste("\tx\x1b[31my\x07"), "    xy");
  assert.equal(normalizePaste("one\n\n"), "one\n");
});

Deno.test("parseInput: messages, commands, // escapes and /quit", () => {
  assert.deepEqual(parseInput("hello"), { kind: "say", text: "hello" });
  assert.deepEqual(parseInput("/join #rust"), { kind: "command", line: "/join #rust" });
  assert.deepEqual(parseInput("//not a command"), { kind: "say", text: "/not a command" });
  assert.deepEqual(parseInput("/quit"), { kind: "quit" });
  assert.deepEqual(parseInput("  /QUIT  "), { kind: "quit" });
  assert.deepEqual(parseInput("/quitter"), { kind: "command", line: "/quitter" });
  // A reason goes with it, to the rooms (issue 12).
  assert.deepEqual(parseInput("/quit  off to bed "), { kind: "quit", reason: "off to bed" });
  assert.deepEqual(parseInput("/quit   "), { kind: "quit" });
  assert.deepEqual(parseInput("   "), { kind: "empty" });
});

Deno.test("multiline: backslash continues, held paste lines join with the next line", () => {
  const m = new MultilineBuffer();
  assert.equal(m.push("one \\"), null);
  assert.equal(m.push("two"), "one \ntwo");
  m.hold("pasted 1");
  m.hold("pasted 2");
  assert.deepEqual(m.held, ["pasted 1", "pasted 2"]);
  assert.equal(m.push("typed"), "pasted 1\npasted 2\ntyped");
  m.hold("dropped");
  m.clear();
  assert.equal(m.flush(), null);
});

Deno.test("completion: commands, rooms, nicks, and the IRC-style address suffix", () => {
  const sources = {
    commands: ["/join", "/leave", "/me", "/msg", "/who"],
    nicks: ["Bob", "bobby", "carol"],
    rooms: ["#lobby", "#rust", "#ruby"],
  };
  assert.deepEqual(complete("/j", sources), { word: "/j", candidates: ["/join"], suffix: " " });
  assert.deepEqual(complete("/m", sources).candidates, ["/me", "/msg"]);
  assert.deepEqual(complete("see #ru", sources).candidates, ["#ruby", "#rust"]);
  assert.deepEqual(complete("/join ", sources).candidates, ["#lobby", "#ruby", "#rust"]);
  assert.deepEqual(complete("ca", sources), { word: "ca", candidates: ["carol"], suffix: ": " });
  assert.deepEqual(complete("hi ca", sources), { word: "ca", candidates: ["carol"], suffix: " " });
  assert.deepEqual(complete("/msg ", sources).candidates, ["Bob", "bobby", "carol"]);
  assert.deepEqual(complete("BO", sources).candidates, ["Bob", "bobby"]);
  assert.deepEqual(complete("hi ", sources).candidates, []);
  assert.deepEqual(complete("//jo", sources).candidates, []);
  // Present users first: a recent speaker who is not present is offered only when no one
  // present matches.
  const tiers = { ...sources, nicks: ["Bob", "carol"], speakers: ["bobby", "dave"] };
  assert.deepEqual(complete("bo", tiers).candidates, ["Bob"]);
  assert.deepEqual(complete("da", tiers), { word: "da", candidates: ["dave"], suffix: ": " });
  assert.deepEqual(complete("/msg ", tiers).candidates, ["Bob", "carol"]);
  assert.equal(commonPrefix(["Bob", "bobby"]), "Bob");
  assert.equal(commonPrefix(["#ruby", "#rust"]), "#ru");
  assert.equal(commonPrefix([]), "");
});

Deno.test("prompt: room, connection state, and a long held message summarised", () => {
  const plain = new Palette(false);
  const status = (connection: ConnectionState) => ({ room: "#rust", nick: "alice", connection });
  assert.equal(promptText(status({ kind: "connected" }), [], plain, 80), "[#rust] alice> ");
  assert.equal(
    promptText(status({ kind: "reconnecting", attempt: 3 }), [], plain, 80),
    "[#rust reconnecting (attempt 3)] alice> ",
  );
  assert.equal(promptText(status({ kind: "offline" }), [], plain, 80), "[#rust offline] alice> ");
  assert.equal(
    promptText(status({ kind: "connected" }), ["one", "two"], plain, 80),
    "[#rust] alice> one\r\n... two\r\n... ",
  );
  const many = Array.from({ length: 20 }, (_, i) => `line ${i}`);
  const shown = promptText(status({ kind: "connected" }), many, plain, 80).split("\r\n");
  assert.equal(shown.length, MAX_HELD_SHOWN + 1, "held lines plus the line being edited");
  assert.ok(shown.includes("... (15 more lines)"), shown.join("|"));
  const long = promptText(status({ kind: "connected" }), ["x".repeat(500), ""], plain, 40);
  assert.ok(long.split("\r\n")[0].length < 40, "held lines are cut to fit");
  // Input kept while offline: above the prompt, the newest few, older ones counted.
  const kept = ["one", "two\nlines", "three", "four"];
  assert.equal(
    promptText(status({ kind: "offline" }), [], plain, 80, kept),
    `${PENDING_MARK} (2 more waiting)\r\n${PENDING_MARK} three\r\n${PENDING_MARK} four\r\n` +
      "[#rust offline] alice> ",
  );
  assert.equal(
    promptText(status({ kind: "offline" }), [], plain, 80, ["two\nlines"]).split("\r\n")[0],
    `${PENDING_MARK} two …`,
  );
  assert.equal(MAX_PENDING_SHOWN, 3);
  const colored = promptText(status({ kind: "offline" }), [], new Palette(true), 80);
  assert.equal(colored, "[\x1b[36m#rust\x1b[0m \x1b[31moffline\x1b[0m] alice> ");
});

Deno.test("input: shortcodes expand in messages and the text of /me, /topic, /msg, /reply, /away, /kick, /quit", () => {
  const on = { shortcodes: true };
  assert.deepEqual(parseInput("ship it :tada: :nope:", on), {
    kind: "say",
    text: "ship it 🎉 :nope:",
  });
  assert.deepEqual(parseInput("//x :tada:", on), { kind: "say", text: "/x 🎉" });
  assert.deepEqual(parseInput("/me :wave:", on), { kind: "command", line: "/me 👋" });
  assert.deepEqual(parseInput("/topic :rocket: launch", on), {
    kind: "command",
    line: "/topic 🚀 launch",
  });
  assert.deepEqual(parseInput("/msg bob :tada: http://a:b:c", on), {
    kind: "command",
    line: "/msg bob 🎉 http://a:b:c",
  });
  assert.deepEqual(parseInput("/quit bye :wave:", on), { kind: "quit", reason: "bye 👋" });
  assert.deepEqual(parseInput("/away lunch :taco:", on), {
    kind: "command",
    line: "/away lunch 🌮",
  });
  assert.deepEqual(parseInput("/r :+1:", on), { kind: "command", line: "/r 👍" });
  assert.deepEqual(parseInput("/REPLY ok :+1:", on), { kind: "command", line: "/REPLY ok 👍" });
  assert.deepEqual(parseInput("/kick bob spam :x:", on), {
    kind: "command",
    line: "/kick bob spam ❌",
  });
});

Deno.test("input: shortcodes are left alone in names, other commands, and without the option", () => {
  const on = { shortcodes: true };
  // A nick, a room or anything a command does not show to people is sent as typed.
  assert.deepEqual(parseInput("/msg :tada: hi", on), { kind: "command", line: "/msg :tada: hi" });
  assert.deepEqual(parseInput("/nick :tada:", on), { kind: "command", line: "/nick :tada:" });
  assert.deepEqual(parseInput("/join #a:tada:", on), { kind: "command", line: "/join #a:tada:" });
  assert.deepEqual(parseInput("/me", on), { kind: "command", line: "/me" });
  // A secret is never rewritten.
  assert.deepEqual(parseInput("/oper s3cret:tada:", on), {
    kind: "command",
    line: "/oper s3cret:tada:",
  });
  assert.deepEqual(parseInput("/oper :tada:", on), { kind: "command", line: "/oper :tada:" });
  // Piped input (bots) does not ask for it: sent exactly as written.
  assert.deepEqual(parseInput("ship it :tada:"), { kind: "say", text: "ship it :tada:" });
  assert.deepEqual(parseInput("/me :wave:"), { kind: "command", line: "/me :wave:" });
});

Deno.test("completion: ':' and a prefix completes shortcodes, several listed, none for no match", () => {
  const sources = { commands: ["/join", "/me"], nicks: ["tara"], rooms: ["#tavern"] };
  const ta = complete("hi :ta", sources);
  assert.equal(ta.word, ":ta");
  assert.ok(ta.candidates.includes(":tada:") && ta.candidates.includes(":taco:"));
  assert.ok(ta.candidates.every((c) => c.startsWith(":ta") && c.endsWith(":")));
  // Several: Tab extends to what they share, and a second Tab lists them, as for nicks.
  assert.equal(commonPrefix(ta.candidates), ":ta");
  assert.equal(commonPrefix(complete(":tan", sources).candidates), ":tan");
  // One: the whole shortcode and a space; it becomes the emoji when sent.
  assert.deepEqual(complete(":tad", sources), {
    word: ":tad",
    candidates: [":tada:"],
    suffix: " ",
  });
  assert.deepEqual(complete("/me :TAD", sources).candidates, [":tada:"]);
  assert.deepEqual(complete("x :zzzq", sources).candidates, []);
  // A lone colon, a smiley or a colon inside a word is not a shortcode.
  assert.deepEqual(complete("x :", sources).candidates, []);
  assert.deepEqual(complete("x :)", sources).candidates, []);
  assert.deepEqual(complete("x http:ta", sources).candidates, []);
  // Nicks and rooms still complete as before.
  assert.deepEqual(complete("ta", sources).candidates, ["tara"]);
  assert.deepEqual(complete("#ta", sources).candidates, ["#tavern"]);
});
