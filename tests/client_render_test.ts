import assert from "node:assert/strict";
import {
  defaultTheme,
  nickColor,
  Palette,
  SEMANTIC_ROLES,
  THEME_NAMES,
  THEMES,
} from "../client/colors.ts";
import { displayWidth, wrap } from "../client/wrap.ts";
import { helpText } from "../core/commands/chat.ts";
import { mentions } from "../client/mentions.ts";
import { Renderer } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { formatTimestamp } from "../client/timestamp.ts";
import type { ServerFrame } from "../protocol/frames.ts";

const ESC = "\x1b";
const NOON = new Date(2025, 0, 31, 12, 5, 9).getTime();

function setup(color: boolean, timestamps: "short" | "long" | "none" = "none") {
  const state = new RoomState("alice");
  state.apply({
    type: "welcome",
    v: 1,
    nick: "alice",
    server: "test",
    rooms: [{ room: "#lobby", topic: "", members: ["alice", "bob"], count: 2 }],
    limits: { maxFrame: 65536, maxUsers: 10 },
  });
  const renderer = new Renderer(state, {
    palette: new Palette(color),
    timestamps,
    now: () => NOON,
  });
  return { state, renderer };
}

function msg(text: string, extra: Partial<Extract<ServerFrame, { type: "msg" }>> = {}) {
  return { type: "msg" as const, id: 1, room: "#lobby", from: "bob", text, ts: NOON, ...extra };
}

/** One of every frame a server may send, with hostile text in every string field. */
function everyFrame(evil: string): ServerFrame[] {
  return [
    {
      type: "welcome",
      v: 1,
      nick: `alice${evil}`,
      server: evil,
      rooms: [{ room: `#r${evil}`, topic: evil, members: [evil], count: 1 }],
      limits: { maxFrame: 1, maxUsers: 1 },
    },
    { type: "ack", id: 1, room: "#lobby", ts: NOON },
    msg(evil),
    msg(evil, { history: true, from: evil }),
    msg(evil, { action: true, room: `#x${evil}` }),
    { type: "join", room: "#lobby", nick: evil, ts: NOON },
    { type: "leave", room: "#lobby", nick: evil, reason: "quit", ts: NOON },
    { type: "error", code: "bad_json", message: evil },
    { type: "bye", reason: "shutdown", message: evil },
    { type: "joined", room: `#j${evil}`, topic: evil, members: [evil], count: 1 },
    { type: "parted", room: evil },
    { type: "gap", room: evil, missed: 3 },
    { type: "topic", room: "#lobby", topic: evil, by: evil, ts: NOON },
    { type: "nick", old: evil, new: evil, ts: NOON },
    { type: "dm", id: 2, from: evil, to: "alice", text: evil, ts: NOON },
    { type: "info", text: evil },
    { type: "rooms", rooms: [{ room: evil, members: 2, topic: evil }] },
    { type: "who", room: "#lobby", members: [evil] },
    { type: "ping", token: evil },
  ];
}

Deno.test("render: with colour off, no frame type produces an escape or control character", () => {
  const { renderer } = setup(false, "short");
  const evil = "x\x1b[2J\x1b]0;pwned\x07\x9b31m\u202e\r\x08\x00y";
  for (const frame of everyFrame(evil)) {
    const out = renderer.frame(frame);
    if (frame.type === "ack" || frame.type === "ping") {
      assert.equal(out, null);
      continue;
    }
    assert.ok(out !== null, frame.type);
    // deno-lint-ignore no-control-regex -- the point of the test
    assert.doesNotMatch(out.text, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/, frame.type);
  }
});

Deno.test("render: with colour on, the only escapes are our own SGR sequences", () => {
  const { renderer } = setup(true, "short");
  const evil = "x\x1b[2J\x1b]0;pwned\x07\x1b[?1049h\x9b31my";
  for (const frame of everyFrame(evil)) {
    const out = renderer.frame(frame);
    if (out === null) continue;
    // deno-lint-ignore no-control-regex -- the point of the test
    const stripped = out.text.replace(/\x1b\[[0-9;]*m/g, "");
    // deno-lint-ignore no-control-regex -- the point of the test
    assert.doesNotMatch(stripped, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, frame.type);
    for (const raw of ["\x07", "\x1b[2J", "\x1b]", "\x1b[?1049h"]) {
      assert.ok(!out.text.includes(raw), `${frame.type} passed ${JSON.stringify(raw)}`);
    }
  }
});

Deno.test("render: plain messages, actions, other rooms and history read as text", () => {
  const { renderer } = setup(false);
  assert.equal(renderer.frame(msg("hi"))?.text, "<bob> hi");
  assert.equal(renderer.frame(msg("waves", { action: true }))?.text, "* bob waves");
  assert.equal(renderer.frame(msg("yo", { room: "#rust" }))?.text, "[#rust] <bob> yo");
  assert.equal(renderer.frame(msg("old", { history: true }))?.text, "(history) <bob> old");
  assert.equal(renderer.frame(msg("one\ntwo"))?.text, "<bob> one\n      two");
  assert.equal(
    renderer.frame({ type: "join", room: "#lobby", nick: "carol", ts: NOON })?.text,
    "* carol joined #lobby",
  );
  assert.equal(
    renderer.frame({ type: "gap", room: "#lobby", missed: 120 })?.text,
    "* 120 earlier messages were not replayed.",
  );
  assert.equal(renderer.own({ room: "#lobby", text: "mine", ts: NOON }).text, "<alice> mine");
  assert.equal(
    renderer.own({ room: "#lobby", text: "psst", ts: NOON, to: "bob" }).text,
    "[dm to bob] <alice> psst",
  );
});

Deno.test("render: nicks keep one colour; own, history and room events look different", () => {
  const { renderer } = setup(true);
  const a = renderer.frame(msg("hi"))?.text ?? "";
  const b = renderer.frame(msg("again"))?.text ?? "";
  const color = `\x1b[${nickColor("bob")}m`;
  assert.ok(a.startsWith(color), a);
  assert.ok(b.startsWith(color), b);
  assert.equal(nickColor("Bob"), nickColor("bob"));
  assert.ok(THEMES.dark.nicks.includes(nickColor("someone") ?? ""));

  const own = renderer.own({ room: "#lobby", text: "mine", ts: NOON }).text;
  assert.ok(own.startsWith(`${ESC}[1m<alice> `), own);
  const history = renderer.frame(msg("old", { history: true }))?.text ?? "";
  assert.ok(history.startsWith(`${ESC}[2;${nickColor("bob")}m`), history);
  assert.ok(!history.includes("(history)"), "colour sets history apart without a marker");
  const join = renderer.frame({ type: "join", room: "#lobby", nick: "c", ts: NOON })?.text;
  assert.equal(join, `${ESC}[2m* c joined #lobby${ESC}[0m`);
  const error = renderer.frame({ type: "error", code: "bad_json", message: "no" })?.text;
  assert.equal(error, `${ESC}[31m! no${ESC}[0m`);
});

Deno.test("render: a message naming the user is highlighted and rings, once, live only", () => {
  const { renderer } = setup(true);
  const live = renderer.frame(msg("hey Alice, lunch?"));
  assert.equal(live?.bell, true);
  assert.ok(live?.text.includes(`${ESC}[1;33mhey Alice, lunch?`), live?.text);
  assert.equal(renderer.frame(msg("hey alice", { history: true }))?.bell, false);
  assert.equal(renderer.frame(msg("malice"))?.bell, false);
  assert.equal(renderer.own({ room: "#lobby", text: "I am alice", ts: NOON }).bell, false);
  const dm = renderer.frame({ type: "dm", id: 3, from: "bob", to: "alice", text: "x", ts: NOON });
  assert.equal(dm?.bell, true);
  // Without colour the bell still rings, and nothing is painted.
  const plain = setup(false).renderer.frame(msg("@alice look"));
  assert.deepEqual(plain, { text: "<bob> @alice look", bell: true });
});

Deno.test("mentions: whole words, any case, not inside other words", () => {
  assert.ok(mentions("alice: hi", "alice"));
  assert.ok(mentions("hi @ALICE!", "alice"));
  assert.ok(mentions("ping [alice]", "alice"));
  assert.ok(!mentions("malice", "alice"));
  assert.ok(!mentions("alice_bot says", "alice"));
  assert.ok(!mentions("alice2", "alice"));
  assert.ok(mentions("hé zoë.", "Zoë"));
  assert.ok(mentions("a.b+c? yes", "a.b+c"), "regex characters in a nick are literal");
  assert.ok(!mentions("anything", ""));
});

Deno.test("timestamps: short, long and none, in local time; old days get a date", () => {
  assert.equal(formatTimestamp(NOON, "short", NOON), "12:05");
  assert.equal(formatTimestamp(NOON, "long", NOON), "2025-01-31 12:05:09");
  assert.equal(formatTimestamp(NOON, "none", NOON), "");
  const yesterday = new Date(2025, 0, 30, 23, 59).getTime();
  assert.equal(formatTimestamp(yesterday, "short", NOON), "2025-01-30 23:59");
  const { renderer } = setup(false, "short");
  assert.equal(renderer.frame(msg("hi"))?.text, "12:05 <bob> hi");
  assert.equal(renderer.frame(msg("a\nb"))?.text, "12:05 <bob> a\n            b");
});

Deno.test("render: a big room's welcome and joined say how many more than the page there are", () => {
  const state = new RoomState("alice");
  const welcome: ServerFrame = {
    type: "welcome",
    v: 1,
    nick: "alice",
    server: "test",
    rooms: [{ room: "#lobby", topic: "", members: ["a", "b", "c", "alice"], count: 5001 }],
    limits: { maxFrame: 65536, maxUsers: 10000 },
  };
  state.apply(welcome);
  const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
  assert.match(
    renderer.frame(welcome)?.text ?? "",
    /In #lobby with you: a, b, c and 4,997 more\./,
  );
  const joined: ServerFrame = {
    type: "joined",
    room: "#big",
    topic: "",
    members: ["a", "alice"],
    count: 3,
  };
  assert.match(renderer.frame(joined)?.text ?? "", /In #big with you: a and 1 more\./);
});

Deno.test("render: a leave shows the quitter's reason, cleaned", () => {
  const { renderer } = setup(false);
  assert.equal(
    renderer.frame({
      type: "leave",
      room: "#lobby",
      nick: "bob",
      reason: "quit",
      message: "off to bed\x1b[31m",
      ts: NOON,
    })?.text,
    "* bob left #lobby (quit: off to bed)",
  );
  assert.equal(
    renderer.frame({ type: "leave", room: "#lobby", nick: "bob", reason: "quit", ts: NOON })?.text,
    "* bob left #lobby (quit)",
  );
});

/** `text` without our SGR sequences. */
function plain(text: string): string {
  return text.replace(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "");
}

Deno.test("wrap: a long message wraps at the width with a hanging indent under its text, counting wide characters and not colours", () => {
  for (const color of [false, true]) {
    const state = new RoomState("alice");
    const renderer = new Renderer(state, {
      palette: new Palette(color),
      timestamps: "none",
      columns: () => 20,
    });
    const out = renderer.frame(msg("one two three four five 漢字漢字 😀😀 end"))?.text ?? "";
    const rows = plain(out).split("\n");
    assert.deepEqual(rows, [
      "<bob> one two three",
      "      four five",
      "      漢字漢字 😀😀",
      "      end",
    ], JSON.stringify(out));
    for (const row of rows) assert.ok(displayWidth(row) <= 20, row);
    // With colour, the indent is never styled: styles close before a break and reopen after.
    if (color) {
      const mention = renderer.frame(msg("alice: look at this long line please"))?.text ?? "";
      for (const row of mention.split("\n").slice(1)) {
        assert.ok(row.startsWith(`      ${ESC}[1;33m`), JSON.stringify(row));
      }
      assert.ok(mention.split("\n")[0].endsWith(`${ESC}[0m`), JSON.stringify(mention));
    }
  }
  assert.equal(displayWidth(`漢字 😀 ${ESC}[31mred${ESC}[0m`), 11);
  // A word longer than a row is cut (a narrow width shrinks the indent); the width asked at each render applies to the next line.
  let columns = 16;
  const renderer = new Renderer(new RoomState("alice"), {
    palette: new Palette(false),
    timestamps: "none",
    columns: () => columns,
  });
  assert.equal(
    renderer.frame(msg("x https://example.com/a/long/path"))?.text,
    "<bob> x https://\n    example.com/\n    a/long/path",
  );
  columns = 80;
  assert.equal(
    renderer.frame(msg("x https://example.com/a/long/path"))?.text,
    "<bob> x https://example.com/a/long/path",
  );
  assert.equal(
    wrap("14:07 <bob> 漢字漢字漢字漢字漢字漢字", { columns: 25, indent: 12 }),
    "14:07 <bob> 漢字漢字漢字\n            漢字漢字漢字",
  );
});

Deno.test("wrap: /help from the server is wrapped to the width, continuing under each command's description", () => {
  const help = helpText();
  const column = /^\*\s+\S.*?\s{2,}(?=\S)/.exec(help.split("\n")[1])?.[0].length ?? 0;
  assert.ok(column > 4 && column < 50, `help column at ${column}`);
  // Wide enough: under the description column; too narrow for it: under the command, +4.
  for (const [columns, hang] of [[80, column], [40, 8]]) {
    const renderer = new Renderer(new RoomState("alice"), {
      palette: new Palette(false),
      timestamps: "none",
      columns: () => columns,
    });
    const out = renderer.frame({ type: "info", text: help })?.text ?? "";
    const rows = out.split("\n");
    assert.ok(rows.length > help.split("\n").length, `some entries wrap at ${columns} columns`);
    for (const row of rows) assert.ok(displayWidth(row) <= columns, row);
    let entry = "";
    for (const row of rows) {
      if (row.startsWith("*")) {
        entry = row;
        continue;
      }
      // A continuation: under the description (or a plain line's text), never at column 0.
      const expected = entry.startsWith("*   /") ? hang : 2;
      assert.equal(row.length - row.trimStart().length, expected, `${entry}\n${row}`);
    }
  }
  // Without a width (pipes), the server's text is left exactly as it came.
  const piped = new Renderer(new RoomState("alice"), {
    palette: new Palette(false),
    timestamps: "none",
  });
  assert.equal(piped.frame({ type: "info", text: help })?.text, help);
});

Deno.test("themes: nick colours never reuse the colours of errors, mentions, DMs and rooms, in every theme", () => {
  for (const name of THEME_NAMES) {
    const theme = THEMES[name];
    const semantic = new Set(
      SEMANTIC_ROLES.flatMap((role) => theme.roles[role]).filter((code) => code !== "1"),
    );
    for (const color of theme.nicks) {
      assert.ok(!semantic.has(color), `${name}: nick colour ${color} is also a semantic colour`);
      assert.ok(!["1", "2", "4"].includes(color), `${name}: ${color} is not a colour`);
    }
    assert.equal(new Set(theme.nicks).size, theme.nicks.length, `${name}: no repeats`);
    // Every nick is painted from the theme's own table.
    const palette = new Palette(true, name);
    const painted = palette.nick("<bob> ", "bob");
    const color = nickColor("bob", name);
    assert.equal(painted, color === null ? "<bob> " : `${ESC}[${color}m<bob> ${ESC}[0m`);
  }
  // Hues too: no nick colour is a shade of a semantic colour's hue (basic colours as xterm's).
  const BASIC_HUES: Record<string, number> = { "31": 0, "33": 60, "35": 300, "36": 180 };
  for (const name of ["dark", "light"] as const) {
    const taken = SEMANTIC_ROLES.flatMap((role) => THEMES[name].roles[role])
      .filter((code) => code !== "1")
      .map((code) => BASIC_HUES[code] ?? xtermHue(Number(code.split(";")[2])));
    assert.ok(taken.length >= 4 && taken.every((hue) => !Number.isNaN(hue)), taken.join(" "));
    for (const color of THEMES[name].nicks) {
      const hue = xtermHue(Number(color.split(";")[2]));
      for (const semantic of taken) {
        const apart = Math.min(Math.abs(hue - semantic), 360 - Math.abs(hue - semantic));
        assert.ok(apart >= 25, `${name}: ${color} (hue ${hue}) is near ${semantic}`);
      }
    }
  }
  // Light: no basic yellow or cyan (unreadable on white); every colour is a dark fixed tone.
  const light = [...THEMES.light.nicks, ...SEMANTIC_ROLES.flatMap((r) => THEMES.light.roles[r])];
  for (const code of light.filter((c) => c !== "1")) {
    assert.match(code, /^38;5;\d+$/, `light uses fixed colours: ${code}`);
    assert.ok(contrastOnWhite(Number(code.split(";")[2])) >= 4.5, `${code} on white`);
  }
  // Mono: no colour at all, only bold, dim and underline.
  const mono = [...THEMES.mono.nicks, ...Object.values(THEMES.mono.roles).flat()];
  assert.ok(mono.every((code) => ["1", "2", "4"].includes(code)), mono.join(" "));
});

/** The RGB of an xterm 256-colour cube entry. */
function xtermRgb(n: number): [number, number, number] {
  const levels = [0, 95, 135, 175, 215, 255];
  const c = n - 16;
  return [levels[Math.floor(c / 36)], levels[Math.floor(c / 6) % 6], levels[c % 6]];
}

function xtermHue(n: number): number {
  const [r, g, b] = xtermRgb(n).map((v) => v / 255);
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

function contrastOnWhite(n: number): number {
  const [r, g, b] = xtermRgb(n).map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05);
}

Deno.test("themes: the theme can be switched while running, and COLORFGBG picks light for a light background", () => {
  const palette = new Palette(true);
  const renderer = new Renderer(new RoomState("alice"), { palette, timestamps: "none" });
  const error = { type: "error" as const, code: "bad_json" as const, message: "no" };
  assert.equal(renderer.frame(error)?.text, `${ESC}[31m! no${ESC}[0m`);
  palette.theme = "light";
  assert.equal(renderer.frame(error)?.text, `${ESC}[38;5;124m! no${ESC}[0m`);
  palette.theme = "mono";
  assert.equal(renderer.frame(error)?.text, `${ESC}[1m! no${ESC}[0m`);
  assert.equal(renderer.frame(msg("hi"))?.text, "<bob> hi");
  assert.equal(new Palette(false, "light").paint("x", "error"), "x", "no colour means none");
  assert.equal(defaultTheme(() => undefined), "dark");
  assert.equal(defaultTheme((n) => (n === "COLORFGBG" ? "0;15" : undefined)), "light");
  assert.equal(defaultTheme((n) => (n === "COLORFGBG" ? "15;default;0" : undefined)), "dark");
});
