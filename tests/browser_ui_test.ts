/**
 * The page as a person uses it, in a real Chromium: joining, rooms, DMs, messages, input,
 * notifications, keyboard access and layout. One browser per test; each test starts its own
 * server on port 0 and closes every page, client and server it opened.
 */

import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { ChatServer, ServerOptions } from "../server.ts";
import { command, JsonClient, testServer, WAIT_MS, within } from "./helpers/wire.ts";
import { webAddr } from "./helpers/web.ts";
import { registerPassword } from "./helpers/accounts.ts";
import { logText, say, waitForLog, withBrowser } from "./helpers/browser.ts";

const WEB = { host: "127.0.0.1", port: 0, origins: [] };

/** A far-from-UTC zone with a 45-minute offset, so "local time" cannot pass by luck as UTC. */
const ZONE = "Asia/Kathmandu";

function pageUrl(server: ChatServer): string {
  const { hostname, port } = webAddr(server);
  return `http://${hostname}:${port}/`;
}

/** Options for a context of this file's own (the shared helper has no zone or init scripts). */
interface ContextOptions {
  viewport?: { width: number; height: number };
  colorScheme?: "light" | "dark";
  permissions?: string[];
  initScripts?: string[];
}

async function newContext(
  browser: Browser,
  url: string,
  options: ContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1024, height: 700 },
    colorScheme: options.colorScheme ?? "light",
    locale: "en-GB",
    timezoneId: ZONE,
  });
  context.setDefaultTimeout(WAIT_MS);
  if (options.permissions !== undefined) {
    await context.grantPermissions(options.permissions, { origin: new URL(url).origin });
  }
  for (const script of options.initScripts ?? []) await context.addInitScript(script);
  return context;
}

/** Opens the page in a new context and joins as `nick` by typing it and pressing Enter. */
async function join(
  browser: Browser,
  url: string,
  nick: string,
  options: ContextOptions = {},
): Promise<Page> {
  const page = await (await newContext(browser, url, options)).newPage();
  await page.goto(url);
  await page.getByLabel("Nickname", { exact: true }).fill(nick);
  await page.keyboard.press("Enter");
  await focusedOnMessage(page);
  return page;
}

// The page's CSP forbids eval, so waits go through locators (Playwright's own selector engine),
// never page.waitForFunction, whose string predicates are eval'd in the page.

async function focusedOnMessage(page: Page): Promise<void> {
  await page.locator("#message:focus").waitFor();
}

function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

/** Waits until `selector`'s whole text is `text`. */
async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).filter({ hasText: exactly(text) }).waitFor({ state: "attached" });
}

/** The labels of the room list's buttons, which carry unread counts and the mention mark. */
async function roomLabels(page: Page): Promise<string[]> {
  return await page.evaluate<string[]>(
    `[...document.querySelectorAll("#room-list button")].map((b) => b.getAttribute("aria-label"))`,
  );
}

async function waitForRoomLabel(page: Page, label: string): Promise<void> {
  await page.locator(`#room-list button[aria-label=${JSON.stringify(label)}]`).waitFor();
}

/** Waits for the document's title: no event marks its change, so this polls, within WAIT_MS. */
async function waitForTitle(page: Page, title: string): Promise<void> {
  let last = "";
  await within(
    (async () => {
      while ((last = await page.title()) !== title) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })(),
    `the title ${JSON.stringify(title)} (last: ${JSON.stringify(last)})`,
  );
}

async function members(page: Page): Promise<string[]> {
  return await page.locator("#member-list li").allInnerTexts();
}

async function frameWhere(
  client: JsonClient,
  what: string,
  match: (frame: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const frame = await client.next(what);
    if (frame === null) throw new Error(`EOF while waiting for ${what}`);
    const fields = frame as unknown as Record<string, unknown>;
    if (match(fields)) return fields;
  }
  throw new Error(`no ${what} in 200 frames`);
}

async function withServer(
  options: ServerOptions,
  body: (server: ChatServer, url: string, browser: Browser) => Promise<void>,
): Promise<void> {
  const server = testServer({ web: WEB, ...options });
  try {
    await withBrowser((browser) => body(server, pageUrl(server), browser));
  } finally {
    await server.shutdown();
  }
}

Deno.test("browser: first visit asks the nick, Enter joins #lobby with the message box focused, and a reload joins without asking", async () => {
  await withServer({}, async (server, url, browser) => {
    const tcp = await JsonClient.login(server, "bob");
    const page = await (await newContext(browser, url)).newPage();
    await page.goto(url);
    const field = page.getByLabel("Nickname", { exact: true });
    assert.ok(await field.isVisible(), "the nick field is visible on first visit");
    assert.ok(await page.locator("#chat-view").isHidden());
    // No click: the field has the focus, typing and Enter are all it takes.
    await page.keyboard.type("alice");
    await page.keyboard.press("Enter");
    await focusedOnMessage(page);
    assert.ok(await page.getByLabel("message", { exact: true }).isVisible());
    await waitForText(page, "#room-title", "#lobby");
    assert.ok(await field.isHidden());
    const seen = await frameWhere(tcp, "alice's join", (f) => f.type === "join");
    assert.equal(seen.nick, "alice");
    assert.equal(
      await page.evaluate<string | null>(`localStorage.getItem("sockchat.nick")`),
      "alice",
    );

    await page.reload();
    await focusedOnMessage(page);
    await waitForText(page, "#room-title", "#lobby");
    assert.ok(await field.isHidden(), "a reload does not ask the nick again");
    await frameWhere(tcp, "alice back", (f) => f.type === "join" && f.nick === "alice");
    await say(page, "back again");
    const said = await frameWhere(tcp, "alice's message", (f) => f.type === "msg");
    assert.equal(said.from, "alice");
    assert.equal(said.text, "back again");
    tcp.close();
  });
});

Deno.test("browser: a taken or invalid nick asks again; a password nick asks its password, refuses a wrong one and joins with the right one", async () => {
  await withServer({}, async (server, url, browser) => {
    await registerPassword(server, "carol", "correct-horse");
    const tcp = await JsonClient.login(server, "bob");
    const page = await (await newContext(browser, url)).newPage();
    await page.goto(url);
    const nick = page.getByLabel("Nickname", { exact: true });
    const error = page.getByRole("alert");

    await nick.fill("bob");
    await nick.press("Enter");
    await error.getByText("taken", { exact: false }).waitFor();
    assert.ok(await nick.isVisible(), "asked again");
    assert.ok(await page.locator("#chat-view").isHidden());
    assert.equal(await page.evaluate<string>(`document.activeElement.id`), "nick");

    await nick.fill("no spaces allowed");
    await nick.press("Enter");
    await error.filter({ hasText: /\S/ }).filter({ hasNotText: "taken" }).waitFor();
    assert.match(await error.innerText(), /nick/i);
    assert.ok(await nick.isVisible());

    await nick.fill("carol");
    await nick.press("Enter");
    const password = page.getByLabel("Password for this nickname", { exact: true });
    await password.waitFor();
    assert.match(await error.innerText(), /registered/);
    assert.equal(await page.evaluate<string>(`document.activeElement.id`), "account-password");
    await password.fill("wrong-horse");
    await password.press("Enter");
    await error.filter({ hasText: /\S/ }).filter({ hasNotText: "registered" }).waitFor();
    await password.waitFor();
    assert.match(await error.innerText(), /password/i);
    assert.ok(await page.locator("#chat-view").isHidden(), "a wrong password does not let in");

    await password.fill("correct-horse");
    await password.press("Enter");
    await focusedOnMessage(page);
    const joined = await frameWhere(tcp, "carol's join", (f) => f.type === "join");
    assert.equal(joined.nick, "carol");
    tcp.close();
  });
});

Deno.test("browser: rooms are joined and left from the page, show unread counts, mention marks and topics, and the member list follows the room", async () => {
  // Many clients from one address join at once here, to overflow presence coalescing.
  await withServer({ maxConnsPerIp: 40, maxLoginsPerMinute: 100 }, async (server, url, browser) => {
    const page = await join(browser, url, "alice");
    const bob = await JsonClient.login(server, "bob");

    // Join with the room field, then with /join.
    const field = page.getByLabel("Join a room", { exact: true });
    await field.fill("#x");
    await field.press("Enter");
    await waitForText(page, "#room-title", "#x");
    await say(page, "/join #y");
    await waitForText(page, "#room-title", "#y");
    assert.deepEqual(await roomLabels(page), ["#lobby", "#x", "#y"]);
    assert.deepEqual(await members(page), ["alice"]);

    // #x in the background: bob's messages count as unread; one naming alice marks a mention.
    await command(bob, "/join #x");
    await command(bob, "/topic the x topic", "#x");
    await bob.send({ type: "msg", room: "#x", text: "anyone here?" });
    await waitForRoomLabel(page, "#x, 1 unread");
    await bob.send({ type: "msg", room: "#x", text: "alice: look at this" });
    await waitForRoomLabel(page, "#x, 2 unread, mentioned");
    assert.equal(await page.locator("#room-list .unread.mentioned").innerText(), "@ 2");
    assert.equal(await page.locator("#room-topic").innerText(), "", "#y has no topic");

    // Switching shows #x's topic and members, and clears its marks.
    await page.locator("#room-list button", { hasText: "#x" }).click();
    await waitForText(page, "#room-title", "#x");
    assert.equal(await page.locator("#room-topic").innerText(), "the x topic");
    assert.deepEqual((await members(page)).sort(), ["alice", "bob"]);
    await waitForRoomLabel(page, "#x");
    await waitForLog(page, "alice: look at this");

    // While #lobby is open, a crowd joins #x: past the presence burst the room hears one info
    // naming some of them, so the list kept from join frames is short. Back in #x it is whole.
    await page.locator("#room-list button", { hasText: "#lobby" }).click();
    await waitForText(page, "#room-title", "#lobby");
    assert.deepEqual((await members(page)).sort(), ["alice", "bob"]);
    const crowd: JsonClient[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await JsonClient.login(server, `guest${i}`);
      crowd.push(client);
      await command(client, "/join #x");
    }
    await page.locator("#log ol").filter({ hasText: "joined #x:" }).first().waitFor({
      state: "attached",
    });
    await page.locator("#room-list button", { hasText: "#x" }).click();
    await waitForText(page, "#room-title", "#x");
    await waitForText(page, "#members-title", "Members (22)");
    assert.equal((await members(page)).length, 22);
    assert.ok((await members(page)).includes("guest19"));

    // Leave with the button (#y) and with /leave (#x): both go from the list.
    await page.locator("#room-list button", { hasText: "#y" }).click();
    await waitForText(page, "#room-title", "#y");
    await page.getByRole("button", { name: "Leave", exact: true }).click();
    await waitForText(page, "#room-title", "#lobby");
    await page.locator("#room-list button", { hasText: "#x" }).click();
    await say(page, "/leave");
    await waitForText(page, "#room-title", "#lobby");
    assert.deepEqual(await roomLabels(page), ["#lobby"]);
    const left = await frameWhere(bob, "alice leaving #x", (f) => f.type === "leave");
    assert.equal(left.nick, "alice");
    assert.equal(left.room, "#x");
    for (const client of crowd) client.close();
    bob.close();
  });
});

Deno.test("browser: a DM opens its own conversation with an unread mark, and /me is an action in rooms and in DMs", async () => {
  await withServer({}, async (server, url, browser) => {
    const alice = await join(browser, url, "alice");
    const carol = await join(browser, url, "carol");
    const bob = await JsonClient.login(server, "bob");

    await command(bob, "/msg alice psst, alice");
    await waitForRoomLabel(alice, "@bob, 1 unread, mentioned");
    await waitForText(alice, "#room-title", "#lobby");
    await alice.locator("#room-list button", { hasText: "@bob" }).click();
    await waitForText(alice, "#room-title", "Direct messages with bob");
    await waitForLog(alice, "psst, alice");
    assert.doesNotMatch(await logText(alice), /joined #lobby/, "the DM is its own log");
    await say(alice, "hi bob");
    const dm = await frameWhere(bob, "alice's DM", (f) => f.type === "dm");
    assert.equal(dm.text, "hi bob");
    // Acknowledged, once: the sender's line is not doubled by an echo.
    await alice.locator("li.line:not(.pending)", { hasText: "hi bob" }).waitFor();
    assert.equal(await alice.locator("li.line", { hasText: "hi bob" }).count(), 1);

    // /me in the room: an action for everyone.
    await alice.locator("#room-list button", { hasText: "#lobby" }).click();
    await say(alice, "/me waves");
    const action = await frameWhere(bob, "alice's action", (f) => f.type === "msg");
    assert.equal(action.action, true);
    assert.equal(action.text, "waves");
    await carol.locator("li.line.action", { hasText: "waves" }).waitFor();
    assert.match(await carol.locator("li.line.action").innerText(), /\*\s*alice\s*waves/);

    // /me in a DM: shown as an action by the sender and by the receiving page.
    await say(carol, "/msg alice hello there");
    await waitForRoomLabel(alice, "@carol, 1 unread, mentioned");
    await alice.locator("#room-list button", { hasText: "@carol" }).click();
    await waitForText(alice, "#room-title", "Direct messages with carol");
    await say(alice, "/me shrugs");
    await alice.locator("li.line.action", { hasText: "shrugs" }).waitFor();
    await carol.locator("#room-list button", { hasText: "@alice" }).click();
    await carol.locator("li.line.action", { hasText: "shrugs" }).waitFor();
    const shown = await carol.locator("li.line.action", { hasText: "shrugs" }).innerText();
    assert.match(shown, /\*\s*alice\s*shrugs/);
    assert.doesNotMatch(shown, /\* shrugs/, "the action's star is not shown as its text");
    bob.close();
  });
});

Deno.test("browser: lines show nick, local time and a day separator; Enter sends, Shift+Enter breaks the line, a paste is one message, Up edits the last line", async () => {
  await withServer({}, async (server, url, browser) => {
    const page = await join(browser, url, "alice");
    const bob = await JsonClient.login(server, "bob");
    await bob.send({ type: "msg", room: "#lobby", text: "morning", ref: "m1" });
    const ack = await bob.expect("ack");
    await waitForLog(page, "morning");
    const line = page.locator("li.line", { hasText: "morning" });
    assert.equal(await line.locator(".from").innerText(), "bob");
    // The time is the page's local time (the context's zone, 45 minutes off any whole hour).
    const local = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit",
      minute: "2-digit",
      timeZone: ZONE,
    }).format(new Date(ack.ts));
    assert.equal(await line.locator("time").innerText(), local);
    const day = new Intl.DateTimeFormat("en-GB", { dateStyle: "full", timeZone: ZONE })
      .format(new Date(ack.ts));
    const separators = await page.locator("#log ol:not([hidden]) li.day").allInnerTexts();
    assert.ok(separators.includes(day), `a day separator ${day} in ${separators}`);
    assert.equal(await page.locator("#log li.day").first().getAttribute("role"), "separator");

    // Shift+Enter breaks the line; Enter sends both lines as one message, shown as written.
    const box = page.getByLabel("message", { exact: true });
    await box.focus();
    await page.keyboard.type("line one");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("line two");
    assert.equal(await box.inputValue(), "line one\nline two");
    await page.keyboard.press("Enter");
    const two = await frameWhere(bob, "the two-line message", (f) => f.type === "msg");
    assert.equal(two.text, "line one\nline two");
    assert.equal(await box.inputValue(), "");
    const shown = page.locator("li.line", { hasText: "line one" });
    assert.match(await shown.innerText(), /line one\nline two/);

    // A paste of three lines is one message.
    await page.keyboard.insertText("pasted a\npasted b\npasted c");
    await page.keyboard.press("Enter");
    const pasted = await frameWhere(bob, "the pasted message", (f) => f.type === "msg");
    assert.equal(pasted.text, "pasted a\npasted b\npasted c");

    // Up brings back the last line typed, to edit and send again.
    await say(page, "teh typo");
    await frameWhere(bob, "the typo", (f) => f.type === "msg");
    await box.focus();
    await page.keyboard.press("ArrowUp");
    assert.equal(await box.inputValue(), "teh typo");
    await page.keyboard.press("Home");
    await page.keyboard.press("Delete");
    await page.keyboard.press("Delete");
    await page.keyboard.press("Delete");
    await page.keyboard.type("the");
    await page.keyboard.press("Enter");
    const fixed = await frameWhere(bob, "the edited line", (f) => f.type === "msg");
    assert.equal(fixed.text, "the typo");
    bob.close();
  });
});

Deno.test("browser: Tab completes nicks, rooms and commands; /nick, /topic, /who and /help work as in the terminal", async () => {
  await withServer({}, async (server, url, browser) => {
    const page = await join(browser, url, "alice");
    const bobby = await JsonClient.login(server, "bobby");
    await page.locator("#member-list li", { hasText: "bobby" }).waitFor();
    const box = page.getByLabel("message", { exact: true });

    await page.keyboard.type("bo");
    await page.keyboard.press("Tab");
    assert.equal(await box.inputValue(), "bobby: ");
    await box.fill("");
    await page.keyboard.type("/to");
    await page.keyboard.press("Tab");
    assert.equal(await box.inputValue(), "/topic ");
    await box.fill("");
    await page.keyboard.type("see #lo");
    await page.keyboard.press("Tab");
    assert.equal(await box.inputValue(), "see #lobby ");
    assert.equal(await page.evaluate<string>(`document.activeElement.id`), "message");
    await box.fill("");

    await say(page, "/topic snacks at noon");
    await waitForText(page, "#room-topic", "snacks at noon");
    const topic = await frameWhere(bobby, "the topic", (f) => f.type === "topic");
    assert.equal(topic.topic, "snacks at noon");

    await say(page, "/nick alicia");
    const renamed = await frameWhere(bobby, "the rename", (f) => f.type === "nick");
    assert.equal(renamed.new, "alicia");
    await page.locator("#member-list li", { hasText: "alicia" }).waitFor();
    assert.equal(
      await page.evaluate<string | null>(`localStorage.getItem("sockchat.nick")`),
      "alicia",
    );

    await say(page, "/who");
    await waitForLog(page, "In #lobby:");
    assert.match(await logText(page), /In #lobby: .*alicia/);
    assert.match(await logText(page), /In #lobby: .*bobby/);

    await say(page, "/help");
    await waitForLog(page, "/join");
    assert.match(await logText(page), /\/topic/);
    bobby.close();
  });
});

/** Records `new Notification(...)` calls; the permission is still the browser's own. */
const RECORD_NOTIFICATIONS = `(() => {
  const Real = globalThis.Notification;
  globalThis.__notifications = [];
  globalThis.Notification = class extends EventTarget {
    constructor(title, options) {
      super();
      globalThis.__notifications.push({ title, body: options?.body ?? "" });
    }
    static get permission() { return Real.permission; }
    static requestPermission() { return Real.requestPermission(); }
  };
})();`;

/** Lets the test put the tab in the background: hidden, visibilityState and the event. */
const FAKE_VISIBILITY = `(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true,
    get: () => (hidden ? "hidden" : "visible"),
  });
  globalThis.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();`;

Deno.test("browser: a mention in a background tab updates the title and raises a desktop notification", async () => {
  await withServer({}, async (server, url, browser) => {
    const page = await join(browser, url, "alice", {
      permissions: ["notifications"],
      initScripts: [RECORD_NOTIFICATIONS, FAKE_VISIBILITY],
    });
    const bob = await JsonClient.login(server, "bob");
    const title = await page.title();
    assert.equal(title, "sockchat");

    // In the foreground a mention raises nothing.
    await bob.send({ type: "msg", room: "#lobby", text: "alice: you there?" });
    await waitForLog(page, "you there?");
    assert.equal(await page.evaluate<number>(`globalThis.__notifications.length`), 0);
    assert.equal(await page.title(), title);

    await page.evaluate(`globalThis.__setHidden(true)`);
    await bob.send({ type: "msg", room: "#lobby", text: "no mention here" });
    await bob.send({ type: "msg", room: "#lobby", text: "ping alice, lunch?" });
    await waitForTitle(page, `(1) ${title}`);
    const notes = await page.evaluate<{ title: string; body: string }[]>(
      `globalThis.__notifications`,
    );
    assert.deepEqual(notes, [{ title: "bob in #lobby", body: "ping alice, lunch?" }]);

    await page.evaluate(`globalThis.__setHidden(false)`);
    await waitForTitle(page, title);
    bob.close();
  });
});

Deno.test("browser: every control is reachable by keyboard, the log is a live region, 360 px has no sideways scroll, light and dark differ", async () => {
  await withServer({}, async (server, url, browser) => {
    const page = await join(browser, url, "alice");
    await say(page, "/join #side");
    await waitForText(page, "#room-title", "#side");

    const log = page.locator("#log");
    assert.equal(await log.getAttribute("role"), "log");
    assert.equal(await log.getAttribute("aria-live"), "polite");

    // Tab from the top of the page reaches the room list, the join field and the message box.
    await page.evaluate(`document.activeElement.blur()`);
    const reached = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press("Tab");
      reached.add(
        await page.evaluate<string>(
          `(() => {
            const el = document.activeElement;
            if (el.closest("#room-list")) return "room:" + el.textContent;
            return el.id || el.tagName;
          })()`,
        ),
      );
    }
    for (const want of ["room:#lobby", "room:#side", "join-room-name", "message", "leave", "log"]) {
      assert.ok(reached.has(want), `Tab reaches ${want} (reached: ${[...reached]})`);
    }
    // And Enter on a focused room button opens that room.
    await page.locator("#room-list button", { hasText: "#lobby" }).focus();
    await page.keyboard.press("Enter");
    await waitForText(page, "#room-title", "#lobby");

    // A phone-sized page: no sideways scroll even with a long word and a long link.
    const bob = await JsonClient.login(server, "bob");
    await bob.send({
      type: "msg",
      room: "#lobby",
      text: "x".repeat(200) + " https://example.com/" + "a/".repeat(80),
    });
    const small = await join(browser, url, "phone", { viewport: { width: 360, height: 640 } });
    await say(small, "w".repeat(120));
    await waitForLog(small, "w".repeat(120));
    await small.getByText("https://example.com/", { exact: false }).first().waitFor();
    const width = await small.evaluate<number>(`document.scrollingElement.scrollWidth`);
    assert.ok(width <= 360, `scrollWidth ${width} at 360 px`);
    // Nor inside the log: a long word or link wraps rather than scrolling the log sideways.
    const [logScroll, logClient] = await small.evaluate<number[]>(
      `[document.querySelector("#log").scrollWidth, document.querySelector("#log").clientWidth]`,
    );
    assert.ok(logScroll <= logClient, `the log scrolls sideways: ${logScroll} > ${logClient}`);
    for (const selector of ["#message", "#log", "#room-list"]) {
      const box = await small.locator(selector).boundingBox();
      assert.ok(box !== null && box.width > 0 && box.height > 0, `${selector} visible`);
      assert.ok(box.x >= 0 && box.x + box.width <= 360, `${selector} within 360 px`);
      assert.ok(box.y + box.height <= 640, `${selector} within the viewport's height`);
    }

    // Light and dark follow prefers-color-scheme.
    const background = (p: Page, selector: string) =>
      p.evaluate<string>(`getComputedStyle(document.querySelector("${selector}")).backgroundColor`);
    const dark = await join(browser, url, "night", { colorScheme: "dark" });
    for (const selector of ["body", "#rooms", "#message"]) {
      assert.notEqual(await background(page, selector), await background(dark, selector), selector);
    }
    bob.close();
  });
});

/** Width and height from a PNG's IHDR, or an error if `bytes` is not a PNG. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, "a PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(12, 16)), "IHDR");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

Deno.test("browser: the README's screenshots are 1100×700 PNGs under 200 KB (scripts/screenshots.ts)", async () => {
  for (const scheme of ["light", "dark"]) {
    const file = new URL(`../docs/screenshot-${scheme}.png`, import.meta.url);
    const bytes = await Deno.readFile(file);
    assert.deepEqual(pngSize(bytes), { width: 1100, height: 700 }, file.pathname);
    assert.ok(bytes.length < 200 * 1024, `${file.pathname} is ${bytes.length} bytes`);
  }
});
