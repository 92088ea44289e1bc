/**
 * The chat the server hosts for SSH users (client/embedded.ts), driven without SSH: a real
 * server on port 0, `dial` opening a TCP connection to it, and a test channel standing for the
 * SSH session channel. A small terminal emulator turns what the chat draws into the screen a
 * user would see.
 */

import assert from "node:assert/strict";
import { Duplex, Writable } from "node:stream";
import { crlf } from "../client/channel_terminal.ts";
import {
  EMBEDDED_MAX_LINE_CHARS,
  type EmbeddedChat,
  startEmbeddedChat,
} from "../client/embedded.ts";
import type { ChatServer } from "../server.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";

const decoder = new TextDecoder();
// deno-lint-ignore no-control-regex -- finding colour sequences is the point
const SGR = /\x1b\[[0-9;]*m/;

/**
 * Enough of a VT100 for what node:readline and the chat draw: text, CR, LF, cursor moves
 * (A B C D G H), erase (J K); other sequences (colours, modes) are skipped.
 */
class Screen {
  rows: string[][] = [[]];
  row = 0;
  col = 0;
  constructor(public columns: number) {}

  feed(text: string): void {
    let i = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === "\x1b") {
        // deno-lint-ignore no-control-regex -- parsing escape sequences is the point
        const m = /^\x1b\[(\??)([0-9;]*)([A-Za-z~])/.exec(text.slice(i));
        if (m === null) {
          i++;
          continue;
        }
        i += m[0].length;
        if (m[1] !== "") continue;
        this.#csi(m[2].split(";").map((n) => Number(n) || 0), m[3]);
        continue;
      }
      i++;
      if (ch === "\r") this.col = 0;
      else if (ch === "\n") this.#down(1);
      else if (ch === "\x07") continue;
      else {
        if (this.col >= this.columns) {
          this.col = 0;
          this.#down(1);
        }
        this.#line()[this.col++] = ch;
      }
    }
  }

  #line(): string[] {
    while (this.rows.length <= this.row) this.rows.push([]);
    return this.rows[this.row];
  }

  #down(n: number): void {
    this.row += n;
    this.#line();
  }

  #csi(params: number[], final: string): void {
    const n = Math.max(1, params[0]);
    switch (final) {
      case "A":
        this.row = Math.max(0, this.row - n);
        break;
      case "B":
        this.#down(n);
        break;
      case "C":
        this.col += n;
        break;
      case "D":
        this.col = Math.max(0, this.col - n);
        break;
      case "G":
        this.col = n - 1;
        break;
      case "J":
        this.#line().length = Math.min(this.#line().length, this.col);
        this.rows.length = this.row + 1;
        break;
      case "K":
        if (params[0] === 2) this.rows[this.row] = [];
        else this.#line().length = Math.min(this.#line().length, this.col);
        break;
    }
  }

  /** The rows as text, trailing blanks dropped. */
  lines(): string[] {
    const lines = this.rows.map((r) => Array.from(r, (c) => c ?? " ").join("").trimEnd());
    while (lines.length > 1 && lines.at(-1) === "") lines.pop();
    return lines;
  }
}

/** The SSH session channel as the test drives it: type into it, read the screen it drew. */
class TestChannel extends Duplex {
  raw = "";
  readonly screen: Screen;
  /** While true, nothing written is taken (a user side that stopped reading). */
  stalled = false;
  #changed: (() => void) | null = null;

  constructor(columns = 80) {
    super();
    this.screen = new Screen(columns);
  }

  override _read(): void {}

  override _write(chunk: Uint8Array, _encoding: string, callback: () => void): void {
    if (this.stalled) return; // the callback never comes: the writes pile up
    const text = decoder.decode(chunk);
    this.raw += text;
    this.screen.feed(text);
    this.#changed?.();
    callback();
  }

  /** What the user types (or pipes in). */
  type(text: string): void {
    this.push(text);
  }

  /** Waits until the screen passes `check`; fails with the screen after a deadline. */
  async waitFor(what: string, check: (lines: string[]) => boolean): Promise<string[]> {
    try {
      return await within(
        (async () => {
          while (!check(this.screen.lines())) {
            await new Promise<void>((resolve) => (this.#changed = resolve));
          }
          return this.screen.lines();
        })(),
        what,
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; the screen was:\n${this.screen.lines().join("\n")}`,
      );
    }
  }
}

/** The channel's stderr, collected. */
class Collect extends Writable {
  text = "";
  override _write(chunk: Uint8Array, _encoding: string, callback: () => void): void {
    this.text += decoder.decode(chunk);
    callback();
  }
}

/** Runs `body` with a server and a way to start embedded chats and log in raw clients. */
async function withServer(
  body: (t: {
    server: ChatServer;
    start: (
      nick: string,
      channel: TestChannel,
      stderr: Writable,
      pty: { columns: number; rows: number; env: Record<string, string> } | null,
      maxOutputBytes?: number,
      accountPassword?: string,
    ) => EmbeddedChat;
    login: (nick: string) => Promise<JsonClient>;
  }) => Promise<void>,
): Promise<void> {
  const server = testServer();
  const clients: JsonClient[] = [];
  const chats: EmbeddedChat[] = [];
  try {
    await body({
      server,
      start: (nick, channel, stderr, pty, maxOutputBytes, accountPassword) => {
        const chat = startEmbeddedChat({
          accountPassword,
          dial: () => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
          nick,
          channel,
          stderr,
          pty,
          maxOutputBytes,
        });
        chats.push(chat);
        return chat;
      },
      login: async (nick) => {
        const client = await JsonClient.login(server, nick);
        clients.push(client);
        return client;
      },
    });
  } finally {
    for (const chat of chats) chat.close();
    await Promise.all(chats.map((chat) => chat.done));
    for (const client of clients) client.close();
    await server.shutdown();
  }
}

const PTY = { columns: 80, rows: 24, env: { TERM: "xterm-256color" } };
const PROMPT = "[#lobby] alice>";

Deno.test("embedded chat with a pty: messages arrive above a half-typed line, history, continuation, a paste is one message, Tab, resize rewraps, colours and a bell, Ctrl-Z hint, Ctrl-D leaves with 0", async () => {
  await withServer(async ({ start, login }) => {
    const bob = await login("bob");
    const channel = new TestChannel(80);
    const chat = start("alice", channel, new Collect(), PTY);
    await channel.waitFor(
      "the welcome and the prompt",
      (l) => l.some((x) => x.includes("Welcome to sockchat, alice!")) && l.at(-1) === PROMPT,
    );

    channel.type("half typed");
    await channel.waitFor("the half line", (l) => l.at(-1) === `${PROMPT} half typed`);
    await bob.send({ type: "msg", room: "#lobby", text: "first from bob" });
    await bob.send({ type: "msg", room: "#lobby", text: "alice: two\nlines" });
    const lines = await channel.waitFor(
      "bob's messages above the intact half line",
      (l) => l.some((x) => x.endsWith("lines")) && l.at(-1) === `${PROMPT} half typed`,
    );
    const first = lines.findIndex((l) => l.endsWith("<bob> first from bob"));
    assert.ok(first !== -1, lines.join("\n"));
    assert.match(lines[first + 1], /<bob> alice: two$/);
    assert.match(lines[first + 2], /^\s+lines$/);
    assert.ok(channel.raw.includes("\x07"), "a mention rings the bell");
    assert.match(channel.raw, SGR, "coloured without NO_COLOR");
    assert.match(lines[first], /^\d\d:\d\d /, "timestamps");
    assert.doesNotMatch(channel.raw, /[^\r]\n/, "every line feed comes after a carriage return");

    // Enter sends the half line; it is shown once the server has it.
    channel.type("\r");
    const said = await bob.expect("msg");
    assert.deepEqual([said.from, said.text], ["alice", "half typed"]);
    await channel.waitFor(
      "alice's own message",
      (l) => l.some((x) => x.endsWith("<alice> half typed")) && l.at(-1) === PROMPT,
    );

    // Up recalls it.
    channel.type("\x1b[A");
    await channel.waitFor("the line recalled", (l) => l.at(-1) === `${PROMPT} half typed`);
    channel.type("\x15"); // Ctrl-U: clear the line

    // A line with a password is not kept: Up skips it and recalls the line before.
    channel.type("/identify nobody secret-password\r");
    await channel.waitFor("the refusal", (l) => l.some((x) => x.includes("nobody")));
    await channel.waitFor("the prompt back", (l) => l.at(-1) === PROMPT);
    channel.type("\x1b[A");
    await channel.waitFor("the line before recalled", (l) => l.at(-1) === `${PROMPT} half typed`);
    channel.type("\x15");

    // A trailing backslash continues the message on the next line.
    channel.type("first\\\r");
    channel.type("second\r");
    const continued = await bob.expect("msg");
    assert.equal(continued.text, "first\nsecond");

    // A bracketed paste of lines is one message.
    channel.type("\x1b[200~line one\nline two\x1b[201~");
    await channel.waitFor("the paste held", (l) => l.at(-1) === "... line two");
    channel.type("\r");
    const pasted = await bob.expect("msg");
    assert.equal(pasted.text, "line one\nline two");

    // Tab completes a nick.
    channel.type("hi b\t");
    await channel.waitFor("bob completed", (l) => l.at(-1) === `${PROMPT} hi bob`);
    channel.type("\x15"); // Ctrl-U: clear the line

    // A window-change: lines are wrapped at the new width, under their text.
    channel.screen.columns = 40;
    chat.resize(40, 24);
    await bob.send({
      type: "msg",
      room: "#lobby",
      text: "a long message that cannot fit in forty columns at all",
    });
    const wrapped = await channel.waitFor(
      "the long message wrapped",
      (l) => l.some((x) => x.endsWith("at all")),
    );
    const at = wrapped.findIndex((l) => l.includes("<bob> a long"));
    assert.ok(at !== -1 && wrapped[at].length <= 40, wrapped.join("\n"));
    assert.match(wrapped[at + 1], /^ {10,}\S/, "continued under the text");

    // Ctrl-Z cannot stop anything here: it says so.
    channel.type("\x1a");
    await channel.waitFor(
      "the Ctrl-Z hint",
      (l) => l.some((x) => x.includes("Ctrl-Z does nothing")),
    );

    // Ctrl-D on an empty line leaves cleanly.
    channel.type("\x04");
    assert.equal(await within(chat.done, "the chat to end"), 0);
    const leave = await bob.expect("leave");
    assert.equal(leave.nick, "alice");
  });
});

Deno.test("embedded chat with a pty: the line being typed is capped like the local client's", async () => {
  await withServer(async ({ start }) => {
    const channel = new TestChannel(80);
    const chat = start("alice", channel, new Collect(), PTY);
    await channel.waitFor("the prompt", (l) => l.at(-1) === PROMPT);
    const before = channel.raw.length;
    channel.type("x".repeat(EMBEDDED_MAX_LINE_CHARS - 10));
    await channel.waitFor("the typed run", (l) => l.at(-1)?.endsWith("xxx") === true);
    // One insertion, not a redraw of the whole line at every wrapped row (which wrote ~100 KB
    // for 4000 characters, and took seconds to measure).
    assert.ok(channel.raw.length - before < 2 * EMBEDDED_MAX_LINE_CHARS, "typed text drawn once");
    channel.type("y".repeat(100));
    await channel.waitFor("the cap said", (l) => l.some((x) => x.includes("The line reached")));
    assert.ok(!channel.raw.includes("y".repeat(11)), "keys past the cap are not kept");
    channel.type("\x03"); // Ctrl-C clears the line
    await channel.waitFor("an empty prompt", (l) => l.at(-1) === PROMPT);
    channel.type("\x04");
    assert.equal(await within(chat.done, "the chat to end"), 0);
  });
});

Deno.test("the SSH screen turns every bare line feed into CR LF (there is no pty on the server)", () => {
  assert.equal(crlf("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
});

Deno.test("embedded chat with a pty honours NO_COLOR from the pty's env", async () => {
  await withServer(async ({ start }) => {
    const channel = new TestChannel(80);
    const chat = start("alice", channel, new Collect(), { ...PTY, env: { NO_COLOR: "1" } });
    await channel.waitFor("the prompt", (l) => l.at(-1) === PROMPT);
    channel.type("/quit\r");
    assert.equal(await within(chat.done, "the chat to end"), 0);
    assert.doesNotMatch(channel.raw, SGR);
  });
});

Deno.test("embedded chat with a pty: a nick that is taken is asked for again", async () => {
  await withServer(async ({ start, login }) => {
    const bob = await login("bob");
    const channel = new TestChannel(80);
    const chat = start("bob", channel, new Collect(), PTY);
    await channel.waitFor(
      "the refusal and the question",
      (l) => l.some((x) => x.startsWith("! ") && x.includes("bob")) && l.at(-1) === "Nickname:",
    );
    // What is typed after the answer, in the same breath, is the chat's.
    channel.type("carol\rtyped ahead\r");
    const joined = await bob.expect("join");
    assert.equal(joined.nick, "carol");
    const ahead = await bob.expect("msg");
    assert.deepEqual([ahead.from, ahead.text], ["carol", "typed ahead"]);
    await channel.waitFor("carol's prompt", (l) => l.at(-1) === "[#lobby] carol>");
    channel.type("\x03"); // Ctrl-C on an empty line leaves
    assert.equal(await within(chat.done, "the chat to end"), 0);
  });
});

Deno.test("embedded chat with a pty: the nick question is answered again after a second refusal", async () => {
  await withServer(async ({ start, login }) => {
    const bob = await login("bob");
    const channel = new TestChannel(80);
    const chat = start("bob", channel, new Collect(), PTY);
    const refusals = (l: string[]) => l.filter((x) => x.startsWith("! ")).length;
    await channel.waitFor("the first question", (l) => l.at(-1) === "Nickname:");
    channel.type("bob\r"); // taken again
    await channel.waitFor(
      "the second refusal and question",
      (l) => refusals(l) >= 2 && l.at(-1) === "Nickname:",
    );
    channel.type("carol\r");
    assert.equal((await bob.expect("join")).nick, "carol");
    await channel.waitFor("carol's prompt", (l) => l.at(-1) === "[#lobby] carol>");
    channel.type("\x03");
    assert.equal(await within(chat.done, "the chat to end"), 0);
  });
});

Deno.test("embedded chat with a pty: a nick registered to a password says how to prove it and asks again; the account password from authentication logs in", async () => {
  await withServer(async ({ start, login }) => {
    const bob = await login("bob");
    await bob.send({ type: "cmd", line: "/register hunter2hunter2", ref: "r" });
    const answer = await bob.next("the answer to /register");
    assert.ok(answer?.type !== "error", JSON.stringify(answer));

    const channel = new TestChannel(80);
    const chat = start("bob", channel, new Collect(), PTY);
    await channel.waitFor(
      "the refusal, how to prove the nick, and the question",
      (l) => l.join(" ").includes("keyboard-interactive") && l.at(-1) === "Nickname:",
    );
    channel.type("\x04"); // Ctrl-D at the question: the user leaves
    assert.equal(await within(chat.done, "the chat to end"), 0);

    // With the account password given at authentication, the owner gets the nick.
    const owner = new TestChannel(80);
    const proven = start("bob", owner, new Collect(), PTY, undefined, "hunter2hunter2");
    await owner.waitFor("bob's prompt", (l) => l.at(-1) === "[#lobby] bob>");
    owner.type("/quit\r");
    assert.equal(await within(proven.done, "the chat to end"), 0);
  });
});

Deno.test("embedded chat without a pty: each line is one message, done is 0 once all is acknowledged", async () => {
  await withServer(async ({ start, login }) => {
    const bob = await login("bob");
    const channel = new TestChannel();
    const stderr = new Collect();
    const chat = start("alice", channel, stderr, null);
    channel.type("one\ntwo\n");
    channel.push(null);
    assert.equal(await within(chat.done, "the chat to end"), 0);
    assert.deepEqual([(await bob.expect("msg")).text, (await bob.expect("msg")).text], [
      "one",
      "two",
    ]);
    assert.ok(!channel.raw.includes("\x1b"), "plain lines");
    assert.match(channel.raw, /Each line is one message/);
    assert.equal(stderr.text, "");
  });
});

Deno.test("embedded chat without a pty: done waits for the answers, 3 when something was refused", async () => {
  await withServer(async ({ start }) => {
    const channel = new TestChannel();
    const chat = start("alice", channel, new Collect(), null);
    channel.type("/nosuchcommand\nhello\n");
    channel.push(null);
    assert.equal(await within(chat.done, "the chat to end"), 3);
    assert.match(channel.raw, /nosuchcommand/);
  });
});

Deno.test("embedded chat without a pty: a refused nick is said on stderr, done 1", async () => {
  await withServer(async ({ start, login }) => {
    await login("bob");
    const channel = new TestChannel();
    const stderr = new Collect();
    const chat = start("bob", channel, stderr, null);
    assert.equal(await within(chat.done, "the chat to end"), 1);
    assert.match(stderr.text, /^sockchat: .*bob/);
  });
});

Deno.test("embedded chat: a channel that does not drain ends the session as too slow", async () => {
  await withServer(async ({ start, login }) => {
    const bob = await login("bob");
    const channel = new TestChannel();
    const stderr = new Collect();
    channel.stalled = true;
    const chat = start("alice", channel, stderr, PTY, 4096);
    await bob.expect("join");
    for (let i = 0; i < 10; i++) {
      await bob.send({ type: "msg", room: "#lobby", text: `${i} ${"x".repeat(1000)}` });
    }
    assert.equal(await within(chat.done, "the chat to end"), 1);
    assert.match(stderr.text, /stopped reading/);
    assert.equal((await bob.expect("leave")).nick, "alice");
    channel.destroy();
  });
});
