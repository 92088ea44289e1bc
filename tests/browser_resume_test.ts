/**
 * The page's connection in a real Chromium: resume after a restart (SIGTERM's `bye`) and after a
 * lost connection (SIGKILL), the offline outbox and its cap, and scroll-back to the start of a
 * room.
 *
 * The page is held back from reconnecting with Playwright's `context.setOffline(true)`, which makes
 * Chromium fail every new WebSocket (`ERR_INTERNET_DISCONNECTED`) until it is lifted: messages sent
 * "while the page was away" are sent while it provably cannot connect, never in a race with its
 * retry timer. Every socket the page opens is watched (when it opened and closed, what it sent and
 * received), so the retry delays and the resume ids are checked on the wire. Where retries are
 * timed, the page's `Math.random` (used only for the retry jitter) is pinned to the top of its
 * range, so the schedule is exact and at its slowest.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Browser, Page, WebSocket as PageSocket } from "playwright-core";
import type { ServerFrame } from "../protocol/frames.ts";
import { eventually, JsonClient, testServer, WAIT_MS, within } from "./helpers/wire.ts";
import { webAddr } from "./helpers/web.ts";
import { type ServeProcess, spawnServe } from "./helpers/cli.ts";
import { say, withBrowser } from "./helpers/browser.ts";

/** How long the page may take to come back once it may: its backoff reaches 4 s ±25% here. */
const RECONNECT_MS = 15_000;
/** The bound on the first retry after a `bye` or a drop. */
const FIRST_RETRY_MS = 5_000;
/**
 * The page's `Math.random` in the tests that time its retries: the top of its range, so each
 * retry comes at its latest (the bound is checked at its worst case) and exactly on schedule.
 */
const LARGEST_JITTER = 0.999;

// ---- watching the page's sockets -------------------------------------------------------------

/** One WebSocket the page opened, as seen on the wire. */
interface SocketRecord {
  created: number;
  closed: number | null;
  /** Connection failed (e.g. offline) before it opened. */
  failed: boolean;
  sent: string[];
  received: string[];
  /** When the first `bye` frame arrived, if one did. */
  byeAt: number | null;
}

/** Every WebSocket a page opens from now on; `until` waits, event-driven, for a condition. */
class SocketWatch {
  readonly sockets: SocketRecord[] = [];
  #wakers: (() => void)[] = [];

  constructor(page: Page) {
    page.on("websocket", (socket: PageSocket) => this.#track(socket));
  }

  #track(socket: PageSocket): void {
    const record: SocketRecord = {
      created: performance.now(),
      closed: null,
      failed: false,
      sent: [],
      received: [],
      byeAt: null,
    };
    this.sockets.push(record);
    socket.on("framesent", (frame) => {
      record.sent.push(String(frame.payload));
      this.#wake();
    });
    socket.on("framereceived", (frame) => {
      const text = String(frame.payload);
      record.received.push(text);
      if (record.byeAt === null && frameType(text) === "bye") record.byeAt = performance.now();
      this.#wake();
    });
    socket.on("socketerror", () => {
      record.failed = true;
      this.#wake();
    });
    socket.on("close", () => {
      record.closed = performance.now();
      this.#wake();
    });
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#wakers.splice(0)) wake();
  }

  /** Resolves once `check()` holds, re-checked at every socket event. */
  async until(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    await within(
      (async () => {
        while (!check()) await new Promise<void>((resolve) => this.#wakers.push(resolve));
      })(),
      what,
      ms,
    );
  }

  /** The frames the page sent on every socket, parsed. */
  sentFrames(): Record<string, unknown>[] {
    return this.sockets.flatMap((s) => s.sent.map((text) => JSON.parse(text)));
  }
}

function frameType(text: string): string {
  try {
    const frame: unknown = JSON.parse(text);
    if (typeof frame === "object" && frame !== null && "type" in frame) return String(frame.type);
  } catch {
    // not a frame
  }
  return "";
}

function welcomed(record: SocketRecord): boolean {
  return record.received.some((text) => frameType(text) === "welcome");
}

// ---- the page ----------------------------------------------------------------------------------

/** Options for {@linkcode joinWatched}. */
interface JoinOptions {
  /**
   * What the page's `Math.random` returns, always: its only use is the retry jitter, so a fixed
   * value makes the retry schedule exact. Unset: the real one.
   */
  random?: number;
}

/** Opens the page, starts watching its sockets, and joins as `nick` (typed, then Enter). */
async function joinWatched(
  browser: Browser,
  url: string,
  nick: string,
  options: JoinOptions = {},
): Promise<{ page: Page; watch: SocketWatch }> {
  // As openPage does, plus the init script, which must come before the page loads.
  const context = await browser.newContext({ viewport: { width: 1024, height: 700 } });
  context.setDefaultTimeout(WAIT_MS);
  if (options.random !== undefined) {
    await context.addInitScript(`Math.random = () => ${options.random};`);
  }
  const page = await context.newPage();
  const watch = new SocketWatch(page);
  await page.goto(url);
  const field = page.getByLabel("Nickname", { exact: true });
  await field.fill(nick);
  await field.press("Enter");
  await page.locator(`[aria-label="message"]:focus`).waitFor();
  await watch.until(() => watch.sockets.some(welcomed), "the page's welcome");
  return { page, watch };
}

/** A message line of the open conversation, as the page shows it. */
interface ShownLine {
  id: string | null;
  from: string;
  text: string;
  /** The line's delivery state ("waiting for the connection…", "not sent (offline)"), or "". */
  state: string;
}

/** The message lines (not notices) of the conversation the page shows, top to bottom. */
async function shownLines(page: Page): Promise<ShownLine[]> {
  return await page.evaluate<ShownLine[]>(`[...document.querySelectorAll(
      "#log > ol:not([hidden]) > li.line")]
    .filter((li) => li.querySelector(".from") !== null)
    .map((li) => ({
      id: li.dataset.id ?? null,
      from: li.querySelector(".from").textContent,
      text: li.querySelector(".text").textContent,
      state: li.querySelector(".state")?.textContent ?? "",
    }))`);
}

/** Waits until some message line, in any conversation, shows exactly `text`. */
async function waitForLine(page: Page, text: string): Promise<void> {
  await page.locator("#log li.line .text", { hasText: exactly(text) }).first().waitFor({
    state: "attached",
  });
}

/** Waits until no line of the page is still waiting for its ack. */
async function waitForAcks(page: Page): Promise<void> {
  await page.locator("#log li.line.pending").first().waitFor({ state: "detached" });
}

/** A pattern matching exactly `text`. */
function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

// Waits use locators, not waitForFunction with a string: polling such a string evaluates it in
// the page, which the page's CSP (no unsafe-eval) refuses.

/** The status bar's text once it is showing. */
async function statusText(page: Page): Promise<string> {
  const bar = page.getByRole("status");
  await bar.waitFor({ state: "visible" });
  return await bar.innerText();
}

/** Opens conversation `room` from the room list, as a click does. */
async function openRoom(page: Page, room: string): Promise<void> {
  await page.getByRole("button", { name: new RegExp(`^${room}\\b`) }).click();
  await page.locator("#room-title", { hasText: exactly(room) }).waitFor();
}

// ---- servers and NDJSON clients ----------------------------------------------------------------

/** A port that was free a moment ago: bound on port 0, then closed. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A `serve` subprocess on fixed ports and a SQLite file, so a restart is the same origin. */
class FixedServer {
  readonly tcpPort = freePort();
  readonly webPort = freePort();
  readonly url = `http://127.0.0.1:${this.webPort}/`;
  readonly #flags: string[];
  #serve: ServeProcess | null = null;

  constructor(db: string, extra: string[] = []) {
    this.#flags = [
      "--port",
      String(this.tcpPort),
      "--web-port",
      String(this.webPort),
      "--db",
      db,
      ...extra,
    ];
  }

  async start(): Promise<void> {
    const serve = await spawnServe(this.#flags);
    this.#serve = serve;
    assert.equal(serve.port, this.tcpPort);
    // The TCP line comes first; the page needs the web port, which says so on its own line
    // (ServeProcess has no event for a later line, so its captured stdout is polled).
    await eventually(
      () => serve.stdout().includes(`web listening on ${this.url}`),
      "the web port to listen",
    );
  }

  /** Stops the server with `signal`; returns once it has exited. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const serve = this.#serve;
    this.#serve = null;
    await serve?.stop(signal);
  }
}

/** Logs in over NDJSON/TCP as `nick`; returns after the welcome. */
async function tcpLogin(port: number, nick: string): Promise<JsonClient> {
  const client = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  await client.send({ type: "hello", v: 1, nick });
  const frame = await client.next("welcome");
  if (frame?.type !== "welcome") {
    client.close();
    throw new Error(`login as ${nick} failed: ${JSON.stringify(frame)}`);
  }
  return client;
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

/** Joins `room` over NDJSON; returns after `joined`. */
async function tcpJoin(client: JsonClient, room: string): Promise<void> {
  await client.send({ type: "cmd", line: `/join ${room}`, room: "#lobby", ref: "j" });
  await client.expect("joined");
}

function labels(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(3, "0")}`);
}

async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-browser-resume-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---- the tests ---------------------------------------------------------------------------------

Deno.test("browser: the page resumes after the server restarts (SIGTERM's bye), with every missed message once, in order, and no earlier one twice", async () => {
  await withTempDir(async (dir) => {
    // --history 2: a page that came back without its resume ids would get only the last two
    // missed messages (and a gap), not all five.
    const server = new FixedServer(`${dir}/chat.db`, ["--history", "2"]);
    await server.start();
    try {
      await withBrowser(async (browser) => {
        const { page, watch } = await joinWatched(browser, server.url, "alice", {
          random: LARGEST_JITTER,
        });
        let carol = await tcpLogin(server.tcpPort, "carol");
        await sendAll(carol, "#lobby", ["before-001", "before-002"]);
        await say(page, "before-003");
        const relayed = await carol.expect("msg");
        assert.equal(relayed.text, "before-003");
        await waitForLine(page, "before-002");
        await waitForAcks(page);

        await server.stop("SIGTERM");
        assert.equal((await carol.expect("bye")).reason, "shutdown");
        carol.close();
        // Held back from here until the missed messages are stored (see the module doc).
        await page.context().setOffline(true);
        assert.match(await statusText(page), /offline|reconnecting/i);
        const first = watch.sockets[0];
        assert.notEqual(first.byeAt, null, "the page got the shutdown bye");
        await watch.until(
          () => watch.sockets.length >= 2,
          "the page's first retry",
          FIRST_RETRY_MS * 2,
        );
        const retryDelay = watch.sockets[1].created - (first.byeAt ?? 0);
        assert.ok(retryDelay <= FIRST_RETRY_MS, `first retry ${retryDelay} ms after the bye`);

        await server.start();
        carol = await tcpLogin(server.tcpPort, "carol");
        const missed = labels("missed", 5);
        await sendAll(carol, "#lobby", missed);
        // Nothing got through while offline: every retry so far failed without a frame.
        assert.ok(watch.sockets.slice(1).every((s) => s.received.length === 0));
        await page.context().setOffline(false);
        await watch.until(
          () => watch.sockets.slice(1).some(welcomed),
          "the page to reconnect",
          RECONNECT_MS,
        );
        // A live message after the replay: once it shows, the replay has been shown too.
        await sendAll(carol, "#lobby", ["after-001"]);
        await waitForLine(page, "after-001");
        assert.equal(await page.getByRole("status").isHidden(), true);

        const hellos = watch.sentFrames().filter((f) => f.type === "hello");
        const resumed = hellos.at(-1)?.resume as Record<string, number> | undefined;
        assert.ok(resumed !== undefined && resumed["#lobby"] > 0, "the hello carries resume ids");

        const shown = await shownLines(page);
        assert.deepEqual(
          shown.map((line) => line.text),
          ["before-001", "before-002", "before-003", ...missed, "after-001"],
        );
        const ids = shown.map((line) => Number(line.id));
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "in id order");
        assert.equal(new Set(ids).size, ids.length, "no id twice");
        carol.close();
        await page.context().close();
      });
    } finally {
      await server.stop();
    }
  });
});

/** The page's outbox cap, read from app.js so the test follows it. */
async function maxOutbox(): Promise<number> {
  const source = await Deno.readTextFile(new URL("../web/static/app.js", import.meta.url));
  const match = /const MAX_OUTBOX = (\d+);/.exec(source);
  assert.ok(match !== null, "app.js names its MAX_OUTBOX");
  const cap = Number(match[1]);
  // Typed one by one below: keep the test bounded.
  assert.ok(cap >= 1 && cap <= 200, `MAX_OUTBOX ${cap} is within what this test types`);
  return cap;
}

Deno.test("browser: messages typed while offline are sent once, in order, after reconnect; past the outbox cap they are marked not sent", async () => {
  const cap = await maxOutbox();
  await withTempDir(async (dir) => {
    // The server's default flood limits: the outbox must get through them as a person's does.
    const server = new FixedServer(`${dir}/chat.db`);
    await server.start();
    try {
      await withBrowser(async (browser) => {
        const { page, watch } = await joinWatched(browser, server.url, "alice");
        await server.stop("SIGTERM");
        await page.context().setOffline(true);
        assert.match(await statusText(page), /offline|reconnecting/i);

        const typed = labels("offline", cap + 1);
        for (const text of typed) await say(page, text);
        const offline = await shownLines(page);
        assert.deepEqual(offline.map((line) => line.text), typed);
        for (const line of offline.slice(0, cap)) {
          assert.match(line.state, /waiting for the connection/, line.text);
        }
        assert.match(offline[cap].state, /not sent/, "the one past the cap is marked at once");

        await server.start();
        const bob = await tcpLogin(server.tcpPort, "bob");
        await page.context().setOffline(false);
        await watch.until(
          () => watch.sockets.slice(1).some(welcomed),
          "the page to reconnect",
          RECONNECT_MS,
        );
        for (const text of typed.slice(0, cap)) {
          const frame = await bob.expect("msg");
          assert.deepEqual([frame.from, frame.text], ["alice", text]);
        }
        // Said live after the outbox: the next thing bob gets, so nothing was sent twice and the
        // one past the cap was not sent at all.
        await say(page, "live-001");
        const next = await bob.expect("msg");
        assert.deepEqual([next.from, next.text], ["alice", "live-001"]);

        await waitForAcks(page);
        const after = await shownLines(page);
        assert.deepEqual(after.map((line) => line.text), [...typed, "live-001"]);
        for (const line of after.slice(0, cap)) assert.equal(line.state, "", line.text);
        assert.match(after[cap].state, /not sent/);
        assert.equal(after[cap].id, null);
        bob.close();
        await page.context().close();
      });
    } finally {
      await server.stop();
    }
  });
});

Deno.test("browser: scrolling the log up loads older messages from the store, in order and once each, until the start of the room", async () => {
  // More than the join's replay (50) and two scroll-back pages (50 each): three loads in all.
  const seeded = labels("old", 130);
  const server = testServer({ web: { host: "127.0.0.1", port: 0, origins: [] }, flood: null });
  try {
    const seeder = await JsonClient.login(server, "carol");
    await sendAll(seeder, "#lobby", seeded);
    seeder.close();
    const { hostname, port } = webAddr(server);
    await withBrowser(async (browser) => {
      const { page, watch } = await joinWatched(browser, `http://${hostname}:${port}/`, "alice");
      await waitForLine(page, seeded.at(-1) ?? "");
      const firstLoad = await shownLines(page);
      assert.ok(firstLoad.length < seeded.length, "the first load shows only the latest");
      assert.deepEqual(firstLoad.map((line) => line.text), seeded.slice(-firstLoad.length));

      const scrollBacks = () =>
        watch.sentFrames().filter((f) =>
          f.type === "cmd" && typeof f.line === "string" && f.line.startsWith("/history")
        );
      const ends = () =>
        watch.sockets.flatMap((s) => s.received.map((text) => JSON.parse(text)))
          .filter((f) => f.type === "info" && typeof f.more === "boolean");
      const log = page.getByRole("log");
      const box = await log.boundingBox();
      assert.ok(box !== null, "the log is on screen");
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      // Each round scrolls to the top as a person would (wheel, then PageUp with the log
      // focused) and waits for the page it asked for; bounded well past the pages needed.
      for (let round = 0; round < 10 && !ends().some((f) => f.more === false); round++) {
        const asked = scrollBacks().length;
        if (round % 2 === 0) await page.mouse.wheel(0, -100_000);
        else {
          await log.focus();
          await log.press("Home");
          await log.press("PageUp");
        }
        await watch.until(() => ends().length > asked, `scroll-back page ${asked + 1}`);
      }
      assert.equal(ends().at(-1)?.more, false, "scroll-back reached the start of the room");
      await waitForLine(page, seeded[0]);

      const shown = await shownLines(page);
      assert.deepEqual(shown.map((line) => line.text), seeded, "every message once, in order");
      const ids = shown.map((line) => Number(line.id));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      assert.equal(new Set(ids).size, ids.length);

      // At the start, asking again sends nothing: the line said after the wheel is the next frame.
      const asked = scrollBacks().length;
      await page.mouse.wheel(0, -100_000);
      await say(page, "at-the-top");
      await watch.until(
        () => watch.sentFrames().some((f) => f.type === "msg" && f.text === "at-the-top"),
        "the line to be sent",
      );
      assert.equal(scrollBacks().length, asked, "no scroll-back asked past the start");
      await page.context().close();
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("browser: a lost connection (the server killed, no bye) shows the status bar, reconnects with backoff, and resumes every room the page had joined", async () => {
  await withTempDir(async (dir) => {
    // --history 2, as above: only a resume from the page's ids brings back all four per room.
    const server = new FixedServer(`${dir}/chat.db`, ["--history", "2"]);
    await server.start();
    try {
      await withBrowser(async (browser) => {
        const { page, watch } = await joinWatched(browser, server.url, "alice", {
          random: LARGEST_JITTER,
        });
        await say(page, "/join #second");
        await page.locator("#room-title", { hasText: exactly("#second") }).waitFor();
        let carol = await tcpLogin(server.tcpPort, "carol");
        await tcpJoin(carol, "#second");
        await sendAll(carol, "#lobby", ["lobby-early"]);
        await sendAll(carol, "#second", ["second-early"]);
        await waitForLine(page, "lobby-early");
        await waitForLine(page, "second-early");

        await server.stop("SIGKILL");
        carol.close();
        await page.context().setOffline(true);
        assert.match(await statusText(page), /offline|reconnecting/i);
        // At least one retry fails while offline, so the waits before two retries can be compared.
        await watch.until(
          () => watch.sockets.length >= 2 && watch.sockets[1].closed !== null,
          "a failed retry",
          RECONNECT_MS,
        );
        assert.equal(watch.sockets[0].byeAt, null, "a drop, not a goodbye");

        await server.start();
        carol = await tcpLogin(server.tcpPort, "carol");
        await tcpJoin(carol, "#second");
        const lobbyMissed = labels("lobby-missed", 4);
        const secondMissed = labels("second-missed", 4);
        await sendAll(carol, "#lobby", lobbyMissed);
        await sendAll(carol, "#second", secondMissed);
        assert.ok(watch.sockets.slice(1).every((s) => s.received.length === 0));
        await page.context().setOffline(false);
        await watch.until(
          () => watch.sockets.slice(1).some(welcomed),
          "the page to reconnect",
          RECONNECT_MS,
        );

        // Backoff: with the jitter pinned, each wait between a failed socket and the next attempt
        // is twice the one before (1 s, 2 s, 4 s, +25% each, in app.js); a page that retried at a
        // steady pace would show equal waits. The first is within 5 s even at the largest jitter.
        const gaps = watch.sockets.slice(1).map((s, i) =>
          s.created - (watch.sockets[i].closed ?? 0)
        );
        assert.ok(gaps.length >= 2, "a failed retry, then the one that got through");
        assert.ok(gaps[0] <= FIRST_RETRY_MS, `first retry ${gaps[0]} ms after the drop`);
        for (let i = 1; i < gaps.length; i++) {
          assert.ok(gaps[i] >= gaps[i - 1] * 1.5, `backoff: waits of ${gaps.map(Math.round)} ms`);
        }

        const hello = watch.sentFrames().filter((f) => f.type === "hello").at(-1);
        const resume = hello?.resume as Record<string, number> | undefined;
        assert.deepEqual(Object.keys(resume ?? {}).sort(), ["#lobby", "#second"]);

        // Live messages after the replays: once both show, both replays have been shown.
        await sendAll(carol, "#lobby", ["lobby-live"]);
        await sendAll(carol, "#second", ["second-live"]);
        await waitForLine(page, "lobby-live");
        await waitForLine(page, "second-live");
        assert.equal(await page.getByRole("status").isHidden(), true);
        assert.deepEqual(
          (await shownLines(page)).map((line) => line.text),
          ["second-early", ...secondMissed, "second-live"],
        );
        await openRoom(page, "#lobby");
        assert.deepEqual(
          (await shownLines(page)).map((line) => line.text),
          ["lobby-early", ...lobbyMissed, "lobby-live"],
        );
        carol.close();
        await page.context().close();
      });
    } finally {
      await server.stop();
    }
  });
});
