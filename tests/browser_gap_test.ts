/**
 * The page in a real Chromium after a resume the server cut short: more messages were missed
 * while offline than the replay budget lets the server replay, so it replays the newest and sends
 * a `gap`. The page must fill the hole between the last message it saw and the first replayed
 * one (scroll-back only reaches messages older than the oldest shown, so it never would).
 *
 * The replay is bounded by a small `maxQueueBytes` (the replay budget is half the queue). The
 * page is held offline with Playwright's `context.setOffline(true)`, which makes Chromium fail
 * every new WebSocket until it is lifted but leaves an open one alone; so the open one is closed
 * from inside the page (an init script keeps every WebSocket the page makes), and the page takes
 * it for a lost connection as it would any other. The missed messages are then stored while the
 * page provably cannot see them.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Browser, Page, WebSocket as PageSocket } from "playwright-core";
import type { ServerFrame } from "../protocol/frames.ts";
import { JsonClient, testServer, WAIT_MS, within } from "./helpers/wire.ts";
import { webAddr } from "./helpers/web.ts";
import { say, withBrowser } from "./helpers/browser.ts";

/** The server's outbound queue: its replay budget is half, about 25 of the messages below. */
const QUEUE_BYTES = 8 * 1024;
/** Messages sent while the page is offline: several times what one replay may hold. */
const MISSED = 120;
/** The page backs off up to 4 s (±25%) by its fourth retry; offline takes a few seconds here. */
const RECONNECT_MS = 15_000;

/** An init script that keeps every WebSocket the page opens in `globalThis.pageSockets`. */
const KEEP_SOCKETS = `(() => {
  const Native = globalThis.WebSocket;
  globalThis.pageSockets = [];
  globalThis.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      globalThis.pageSockets.push(this);
    }
  };
})();`;

/** As joinAs does (the nick typed, then Enter), in a page that runs {@linkcode KEEP_SOCKETS}. */
async function joinKeepingSockets(browser: Browser, url: string, nick: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 700 } });
  context.setDefaultTimeout(WAIT_MS);
  await context.addInitScript(KEEP_SOCKETS);
  const page = await context.newPage();
  await page.goto(url);
  const field = page.getByLabel("Nickname", { exact: true });
  await field.fill(nick);
  await field.press("Enter");
  await page.locator(`[aria-label="message"]:focus`).waitFor();
  return page;
}

/** Every frame the page's sockets receive, parsed, from now on. */
function watchFrames(page: Page): Record<string, unknown>[] {
  const frames: Record<string, unknown>[] = [];
  page.on("websocket", (socket: PageSocket) => {
    socket.on("framereceived", (frame) => {
      try {
        frames.push(JSON.parse(String(frame.payload)));
      } catch {
        // not a frame
      }
    });
  });
  return frames;
}

/** Sends `texts` to `room` one by one, each after the previous one's ack (so they are stored). */
async function sendAll(client: JsonClient, room: string, texts: string[]): Promise<void> {
  for (const [i, text] of texts.entries()) {
    const ref = `s${i}`;
    await client.send({ type: "msg", room, text, ref });
    while (true) {
      const frame: ServerFrame | null = await client.next(`the ack of ${text}`);
      if (frame === null) throw new Error(`EOF before the ack of ${text}`);
      if (frame.type === "error") throw new Error(`${text} refused: ${JSON.stringify(frame)}`);
      if (frame.type === "ack" && frame.ref === ref) break;
    }
  }
}

function labels(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(3, "0")}`);
}

/** The message lines (not notices) of the conversation the page shows, top to bottom. */
async function shownLines(page: Page): Promise<{ id: string | null; text: string }[]> {
  return await page.evaluate<{ id: string | null; text: string }[]>(`[...document.querySelectorAll(
      "#log > ol:not([hidden]) > li.line")]
    .filter((li) => li.querySelector(".from") !== null)
    .map((li) => ({ id: li.dataset.id ?? null, text: li.querySelector(".text").textContent }))`);
}

/** Waits until some message line shows exactly `text`. */
async function waitForLine(page: Page, text: string, timeout = WAIT_MS): Promise<void> {
  await page.locator("#log li.line .text", { hasText: new RegExp(`^${text}$`) }).first().waitFor({
    state: "attached",
    timeout,
  });
}

Deno.test("browser: after a resume cut short (a gap), the page fills the hole between the last message it saw and the replay: every missed message once, in order", async () => {
  // No flood control: the sender below is a test fixture, not what is tested.
  const server = testServer({
    web: { host: "127.0.0.1", port: 0, origins: [] },
    flood: null,
    maxQueueBytes: QUEUE_BYTES,
  });
  const carol = await JsonClient.login(server, "carol");
  try {
    const { hostname, port } = webAddr(server);
    await withBrowser(async (browser) => {
      const page = await joinKeepingSockets(browser, `http://${hostname}:${port}/`, "alice");
      const frames = watchFrames(page);
      const seen = labels("seen", 3);
      await sendAll(carol, "#lobby", seen);
      await waitForLine(page, seen.at(-1) ?? "");

      await page.context().setOffline(true);
      await page.evaluate("globalThis.pageSockets.at(-1).close()");
      await page.getByRole("status").filter({ hasText: /offline|reconnecting/i }).waitFor();
      const missed = labels("missed", MISSED);
      await sendAll(carol, "#lobby", missed);
      await page.context().setOffline(false);
      // Back once the status bar is gone; then a live message, after the replay.
      await page.getByRole("status").waitFor({ state: "hidden", timeout: RECONNECT_MS });
      await sendAll(carol, "#lobby", ["after-001"]);
      await waitForLine(page, "after-001");

      const gap = frames.find((f) => f.type === "gap");
      assert.ok(gap !== undefined, "the server cut the resume's replay (a gap frame)");
      assert.ok(Number(gap.missed) > 0 && Number(gap.missed) < MISSED, JSON.stringify(gap));
      // The hole is filled quietly, page by page, and its marker goes once it is.
      await waitForLine(page, missed[0]);
      await page.locator("#log li.hole").waitFor({ state: "detached" });

      const shown = await shownLines(page);
      assert.deepEqual(shown.map((line) => line.text), [...seen, ...missed, "after-001"]);
      const ids = shown.map((line) => Number(line.id));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "in id order");
      assert.equal(new Set(ids).size, ids.length, "no id twice");
      // Nothing was said about scrolling up: the missed messages are where they belong.
      const log = await page.getByRole("log").innerText();
      assert.doesNotMatch(log, /Scroll up|not shown|could not be loaded/);

      // The page goes on as usual: a line it sends now comes after all of them.
      await say(page, "live-001");
      const next = await within(carol.expect("msg"), "alice's live line");
      assert.deepEqual([next.from, next.text], ["alice", "live-001"]);
      await page.context().close();
    });
  } finally {
    carol.close();
    await server.shutdown();
  }
});

/** Opens conversation `room` from the room list, as a click does. */
async function openRoom(page: Page, room: string): Promise<void> {
  await page.getByRole("button", { name: new RegExp(`^${room}\\b`) }).click();
  await page.locator("#room-title", { hasText: new RegExp(`^${room}$`) }).waitFor();
}

Deno.test("browser: a room whose resume replayed nothing (the budget went to another room) is filled too, once the resume is over; a /history's gap afterwards is only a note to scroll up", async () => {
  const server = testServer({
    web: { host: "127.0.0.1", port: 0, origins: [] },
    flood: null,
    maxQueueBytes: QUEUE_BYTES,
  });
  const carol = await JsonClient.login(server, "carol");
  try {
    await carol.send({ type: "cmd", line: "/join #side", room: "#lobby", ref: "j" });
    await carol.expect("joined");
    const { hostname, port } = webAddr(server);
    await withBrowser(async (browser) => {
      const page = await joinKeepingSockets(browser, `http://${hostname}:${port}/`, "alice");
      const frames = watchFrames(page);
      await say(page, "/join #side");
      await page.locator("#room-title", { hasText: /^#side$/ }).waitFor();
      const seen = { "#lobby": labels("lobby-seen", 2), "#side": labels("side-seen", 2) };
      for (const [room, texts] of Object.entries(seen)) await sendAll(carol, room, texts);
      await waitForLine(page, "side-seen-002");
      await waitForLine(page, "lobby-seen-002");

      await page.context().setOffline(true);
      await page.evaluate("globalThis.pageSockets.at(-1).close()");
      await page.getByRole("status").filter({ hasText: /offline|reconnecting/i }).waitFor();
      // Each room alone overruns the replay budget the two share: the room resumed second
      // gets a gap and nothing replayed, so no message shows where its hole ends.
      const missed = { "#lobby": labels("lobby-missed", MISSED), "#side": labels("side", MISSED) };
      for (const [room, texts] of Object.entries(missed)) await sendAll(carol, room, texts);
      await page.context().setOffline(false);
      await page.getByRole("status").waitFor({ state: "hidden", timeout: RECONNECT_MS });

      // Nothing live in either room: the answer to a command is what ends the resume.
      await say(page, "/rooms");
      const gaps = frames.filter((f) => f.type === "gap");
      for (const room of ["#lobby", "#side"]) {
        await openRoom(page, room);
        const texts = [...seen[room as "#lobby"], ...missed[room as "#lobby"]];
        await waitForLine(page, texts[2]);
        await page.locator("#log > ol:not([hidden]) li.hole").waitFor({ state: "detached" });
        const shown = await shownLines(page);
        assert.deepEqual(shown.map((line) => line.text), texts, room);
        const ids = shown.map((line) => Number(line.id));
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `${room} in id order`);
        assert.equal(new Set(ids).size, ids.length, `${room}: no id twice`);
      }
      assert.deepEqual(gaps.map((g) => g.room).sort(), ["#lobby", "#side"], "both replays cut");
      assert.ok(
        gaps.some((g) => g.missed === MISSED),
        `one room had nothing replayed: ${JSON.stringify(gaps)}`,
      );

      // A /history typed now: its gap is about older messages, not a hole.
      const before = await shownLines(page);
      await say(page, "/history 2");
      await page.getByRole("log").getByText(/earlier messages are not shown\. Scroll up/).waitFor();
      assert.equal(await page.locator("#log li.hole").count(), 0);
      assert.deepEqual(await shownLines(page), before, "nothing shown twice");
      await page.context().close();
    });
  } finally {
    carol.close();
    await server.shutdown();
  }
});
