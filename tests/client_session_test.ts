/**
 * The client's session driven directly against a real server on port 0 (issue 12): what the
 * user sees when in no room, and what offline sends look like until they are acknowledged.
 */

import assert from "node:assert/strict";
import { ChatClient } from "../client/chat_client.ts";
import { Palette } from "../client/colors.ts";
import { NO_ROOM, promptText } from "../client/prompt.ts";
import { Renderer } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { MAX_OFFLINE_QUEUE, NOT_IN_A_ROOM, Session } from "../client/session.ts";
import { FLOOD_MESSAGE_BURST } from "../config/security_limits.ts";
import type { ClientUi, Status } from "../client/ui.ts";
import { eventually, JsonClient, testServer, within } from "./helpers/wire.ts";

/** A front end that keeps what it is given. */
class RecordingUi implements ClientUi {
  readonly printed: string[] = [];
  status: Status | null = null;
  pending: readonly string[] = [];
  print(text: string): void {
    this.printed.push(text);
  }
  fail(text: string): void {
    this.printed.push(text);
  }
  setStatus(status: Status): void {
    this.status = status;
  }
  setPending(texts: readonly string[]): void {
    this.pending = texts;
  }
  async *inputs(): AsyncGenerator<string> {}
  close(): void {}
}

function session(state: RoomState, ui: ClientUi): Session {
  const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
  return new Session({ ui, state, renderer, json: false, showOwn: true, target: "test" });
}

Deno.test("after leaving every room the prompt says so, and text is not sent but says how to join", async () => {
  const server = testServer();
  const client = await ChatClient.connect({
    host: "127.0.0.1",
    port: server.addr.port,
    nick: "alice",
  });
  const state = new RoomState("alice");
  const ui = new RecordingUi();
  const s = session(state, ui);
  s.attach(client, false);
  const pumping = s.pump(client);
  try {
    const left = s.submit("/leave #lobby");
    assert.ok(left instanceof Promise);
    await within(left, "the answer to /leave");
    assert.equal(state.room, null);
    assert.equal(ui.status?.room, null);
    const prompt = promptText(ui.status as Status, [], new Palette(false), 80);
    assert.equal(prompt, `[${NO_ROOM}] alice> `);

    ui.printed.length = 0;
    assert.equal(s.submit("hello?"), "ok");
    assert.equal(client.pendingCount, 0, "nothing was sent");
    assert.deepEqual(ui.printed, [NOT_IN_A_ROOM]);
    assert.match(NOT_IN_A_ROOM, /\/join #lobby/);
    // Commands for the current room have none to act on either; others still go out.
    for (const line of ["/me waves", "/who", "/topic", "/history 5", "/leave"]) {
      ui.printed.length = 0;
      assert.equal(s.submit(line), "ok", line);
      assert.deepEqual(ui.printed, [NOT_IN_A_ROOM], line);
    }
    assert.equal(client.pendingCount, 0, "none was sent");
    assert.equal(s.refused, 6);
    const rooms = s.submit("/rooms");
    assert.ok(rooms instanceof Promise, "/rooms needs no room: it goes to the server");
    await within(rooms, "the answer to /rooms");

    const joined = s.submit("/join #rust");
    assert.ok(joined instanceof Promise);
    await within(joined, "the answer to /join");
    assert.equal(state.room, "#rust");
    assert.equal(ui.status?.room, "#rust");
  } finally {
    await client.quit();
    await within(pumping, "the end of the connection");
    client.close();
    await server.shutdown();
  }
});

Deno.test("what is typed offline stays shown as pending, with its text, until the server acknowledges it", async () => {
  const server = testServer();
  const state = new RoomState("alice");
  const ui = new RecordingUi();
  const s = session(state, ui);
  const bob = await JsonClient.login(server, "bob");
  let client: ChatClient | null = null;
  let pumping: Promise<unknown> = Promise.resolve();
  try {
    // Never connected yet: as after a lost connection, nothing is attached.
    assert.equal(s.submit("typed offline"), "ok");
    assert.equal(s.submit("and more"), "ok");
    assert.deepEqual(ui.pending, ["typed offline", "and more"]);
    assert.equal(ui.printed.filter((l) => l.startsWith("Not connected")).length, 1, "told once");
    const prompt = promptText(
      { room: "#lobby", nick: "alice", connection: { kind: "reconnecting", attempt: 1 } },
      [],
      new Palette(true),
      80,
      ui.pending,
    );
    assert.equal(
      prompt.split("\r\n")[0],
      "\x1b[2m(unsent) typed offline\x1b[0m",
      "dimmed, with the text",
    );

    client = await ChatClient.connect({ host: "127.0.0.1", port: server.addr.port, nick: "alice" });
    s.attach(client, true);
    pumping = s.pump(client);
    assert.equal((await bob.expect("msg")).text, "typed offline");
    assert.equal((await bob.expect("msg")).text, "and more");
    await eventually(() => ui.pending.length === 0, "the pending lines to go once acknowledged");
    assert.ok(ui.printed.some((l) => l.endsWith("<alice> typed offline")), ui.printed.join("\n"));
    assert.ok(ui.printed.some((l) => l.endsWith("<alice> and more")), ui.printed.join("\n"));
  } finally {
    if (client !== null) {
      await client.quit();
      await within(pumping, "the end of the connection");
      client.close();
    }
    bob.close();
    await server.shutdown();
  }
});

Deno.test("/quit with a reason reaches the room's leave notice", async () => {
  const server = testServer();
  const watcher = await JsonClient.login(server, "watcher");
  try {
    const client = await ChatClient.connect({
      host: "127.0.0.1",
      port: server.addr.port,
      nick: "alice",
    });
    await watcher.expect("join");
    const frames = (async () => {
      for await (const _ of client.frames()) { /* until the server closes */ }
    })();
    await client.quit("off to bed");
    await frames.catch(() => {});
    client.close();
    const leave = await watcher.expect("leave");
    assert.equal(leave.nick, "alice");
    assert.equal(leave.reason, "quit");
    assert.equal(leave.message, "off to bed");
  } finally {
    watcher.close();
    await server.shutdown();
  }
});

Deno.test("/theme is the client's own: it switches the colours at once, says the current one, and is never sent", () => {
  const state = new RoomState("alice");
  const ui = new RecordingUi();
  const palette = new Palette(true);
  const renderer = new Renderer(state, { palette, timestamps: "none" });
  const s = new Session({
    ui,
    state,
    renderer,
    json: false,
    showOwn: true,
    target: "test",
    palette,
  });
  // No connection is attached: anything sent would be kept as pending instead.
  assert.equal(s.submit("/theme"), "ok");
  assert.match(
    ui.printed.at(-1) ?? "",
    /Theme: dark\. Choose one with \/theme dark\|light\|mono\./,
  );
  assert.equal(s.submit("/theme light"), "ok");
  assert.equal(palette.theme, "light");
  assert.match(ui.printed.at(-1) ?? "", /Theme: light\./);
  // What is painted next, the prompt too, is in the new theme.
  assert.equal(renderer.notice("! no", "error").text, "\x1b[38;5;124m! no\x1b[0m");
  const status = { room: "#lobby", nick: "alice", connection: { kind: "offline" } } as const;
  assert.equal(
    promptText(status, [], palette, 80),
    "[\x1b[38;5;23m#lobby\x1b[0m \x1b[38;5;124moffline\x1b[0m] alice> ",
  );
  assert.equal(s.submit("/THEME Mono"), "ok");
  assert.equal(palette.theme, "mono");
  assert.equal(s.submit("/theme neon"), "ok");
  assert.equal(palette.theme, "mono", "unchanged");
  assert.match(ui.printed.at(-1) ?? "", /There is no theme "neon": choose dark, light or mono\./);
  assert.equal(s.refused, 1, "a bad name counts as refused");
  assert.deepEqual(ui.pending, [], "nothing was kept to send");
  assert.equal(s.queued, 0);
});

Deno.test(":shortcodes: typed in a terminal session go out as emoji; a bot's go out as typed", async () => {
  const server = testServer();
  const bob = await JsonClient.login(server, "bob");
  const clients: ChatClient[] = [];
  try {
    for (const shortcodes of [true, false]) {
      const nick = shortcodes ? "alice" : "robot";
      const client = await ChatClient.connect({ host: "127.0.0.1", port: server.addr.port, nick });
      clients.push(client);
      const state = new RoomState(nick);
      const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
      const s = new Session({
        ui: new RecordingUi(),
        state,
        renderer,
        json: false,
        showOwn: shortcodes,
        target: "test",
        shortcodes,
      });
      s.attach(client, false);
      const pumping = s.pump(client);
      // Wait until the session knows its room (the welcome has been handled).
      await eventually(() => state.room !== null, "the welcome");
      assert.equal(s.submit("party :tada: at 12:30:00"), "ok");
      let said = await bob.expect("msg");
      while (said.from !== nick) said = await bob.expect("msg");
      assert.equal(said.text, shortcodes ? "party 🎉 at 12:30:00" : "party :tada: at 12:30:00");
      await client.quit();
      await pumping.catch(() => {});
      client.close();
    }
  } finally {
    for (const c of clients) c.close();
    bob.close();
    await server.shutdown();
  }
});

/** A terminal-like session for `nick` on `server`, pumping frames. */
async function liveSession(server: { addr: { port: number } }, nick: string) {
  const client = await ChatClient.connect({ host: "127.0.0.1", port: server.addr.port, nick });
  const state = new RoomState(nick);
  const ui = new RecordingUi();
  const s = session(state, ui);
  s.attach(client, false);
  const pumping = s.pump(client);
  await eventually(() => state.room !== null, "the welcome");
  const stop = async () => {
    await client.quit();
    await pumping.catch(() => {});
    client.close();
  };
  return { client, s, ui, stop };
}

Deno.test("the terminal shows a quitter's reason, and /reply's own echo keeps every word", async () => {
  const server = testServer();
  const bob = await JsonClient.login(server, "bob");
  const alice = await liveSession(server, "alice");
  try {
    await bob.send({ type: "cmd", line: "/msg alice are you there?", ref: "d1" });
    await eventually(() => alice.ui.printed.some((l) => l.includes("are you there?")), "the DM");
    const answered = alice.s.submit("/reply yes I am");
    if (answered instanceof Promise) await within(answered, "the answer to /reply");
    await eventually(
      () => alice.ui.printed.some((l) => l.includes("<alice> yes I am")),
      `the reply shown whole: ${alice.ui.printed.join(" | ")}`,
    );
    assert.equal((await bob.expect("dm")).text, "yes I am");
    await bob.send({ type: "cmd", line: "/quit off to bed", ref: "q" });
    await eventually(
      () => alice.ui.printed.some((l) => l.includes("bob left #lobby (quit: off to bed)")),
      `the leave with its reason: ${alice.ui.printed.join(" | ")}`,
    );
  } finally {
    bob.close();
    await alice.stop();
    await server.shutdown();
  }
});

Deno.test("lines typed offline are kept only up to what the server's flood burst lets through: every kept one reaches the room in order on reconnect, the next is refused as it is typed", async () => {
  // The server's default flood limits: the kept lines must get through them as typed lines do.
  const server = testServer();
  const state = new RoomState("alice");
  const ui = new RecordingUi();
  const s = session(state, ui);
  const bob = await JsonClient.login(server, "bob");
  let client: ChatClient | null = null;
  let pumping: Promise<unknown> = Promise.resolve();
  try {
    const cap = MAX_OFFLINE_QUEUE;
    assert.ok(cap < FLOOD_MESSAGE_BURST, "room is left in the burst for the hello");
    const typed = Array.from({ length: cap + 1 }, (_, i) => `offline ${i + 1}`);
    for (const text of typed) assert.equal(s.submit(text), "ok");
    assert.equal(s.refused, 1, "the one past the cap is refused at once");
    assert.equal(s.queued, cap);
    assert.deepEqual(ui.pending, typed.slice(0, cap));
    assert.match(ui.printed.at(-1) ?? "", new RegExp(`! Not connected, and ${cap} messages`));

    client = await ChatClient.connect({ host: "127.0.0.1", port: server.addr.port, nick: "alice" });
    s.attach(client, true);
    pumping = s.pump(client);
    for (const text of typed.slice(0, cap)) {
      const said = await bob.expect("msg");
      assert.deepEqual([said.from, said.text], ["alice", text]);
    }
    await eventually(() => ui.pending.length === 0, "every kept line to be acknowledged");
    // Still connected and never told to slow down: a live line goes through after them.
    assert.equal(s.submit("live"), "ok");
    const live = await bob.expect("msg");
    assert.deepEqual([live.from, live.text], ["alice", "live"]);
    const trouble = ui.printed.filter((l) => /rate_limited|too fast|Flooding|Maybe not/.test(l));
    assert.deepEqual(trouble, []);
    assert.equal(s.refused, 1, "nothing kept was refused by the server");
  } finally {
    if (client !== null) {
      await client.quit();
      await within(pumping, "the end of the connection");
      client.close();
    }
    bob.close();
    await server.shutdown();
  }
});

Deno.test("a script's lines dropped by the server's flood control count as refused, so join's exit code tells the bot", async () => {
  // Default flood limits: 40 lines at once are past any server's burst. Unpaced, as a client
  // that ignores the welcome's limits (paced, none is dropped: client_pacing_test).
  const server = testServer();
  const client = await ChatClient.connect({
    host: "127.0.0.1",
    port: server.addr.port,
    nick: "bot",
    pace: false,
  });
  const state = new RoomState("bot");
  const ui = new RecordingUi();
  const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
  const s = new Session({ ui, state, renderer, json: false, showOwn: false, target: "test" });
  s.attach(client, false);
  const pumping = s.pump(client);
  try {
    await eventually(() => state.room !== null, "the welcome");
    for (let i = 1; i <= 2 * FLOOD_MESSAGE_BURST; i++) assert.equal(s.submit(`line ${i}`), "ok");
    await eventually(() => ui.printed.some((l) => /too fast/.test(l)), "the flood refusal");
    assert.ok(s.refused >= 1, `refused ${s.refused}`);
  } finally {
    // Not quit: the bucket is empty, so a quit frame now would be dropped too.
    client.close();
    await within(pumping, "the end of the connection");
    await server.shutdown();
  }
});
