/**
 * What a new user meets on the browser page, in real Chromium (the walkthrough's findings): a
 * server that refuses the page says so, a first visit stays at the nick form until a welcome, a
 * line too long for the server stays in the box, a kick does not reconnect by itself, a nick held
 * by another tab of the same browser is named as such, the password form speaks to a browser
 * user, a long room name fits a 360 px screen, and /help, errors and nick colours read well.
 */

import assert from "node:assert/strict";
import { command, JsonClient, testServer, WAIT_MS } from "./helpers/wire.ts";
import { webAddr } from "./helpers/web.ts";
import { secret } from "./helpers/core.ts";
import { joinAs, openPage, say, waitForLog, withBrowser } from "./helpers/browser.ts";
import type { Browser, Page } from "playwright-core";
import type { ChatServer } from "../server.ts";

const WEB = { host: "127.0.0.1", port: 0, origins: [] };

/** One step of the test below: each has its own server, and all share one Chromium. */
const steps: { name: string; run: (browser: Browser) => Promise<void> }[] = [];
function uxStep(name: string, run: (browser: Browser) => Promise<void>): void {
  steps.push({ name, run });
}

function pageUrl(server: ChatServer): string {
  const { hostname, port } = webAddr(server);
  return `http://${hostname}:${port}/`;
}

/** Types `nick` into the nick form and presses Enter, without waiting for anything. */
async function submitNick(page: Page, nick: string): Promise<void> {
  const field = page.getByLabel("Nickname", { exact: true });
  await field.fill(nick);
  await field.press("Enter");
}

uxStep(
  "a server that refuses the page's WebSocket is named on the nick form and in the status bar (with the server's own sentence for a cap or a ban, or as unreachable), and the page stays at the form",
  async (browser: Browser) => {
    // The page's own origin is not on the list: every /ws is refused with 403 before it opens.
    const server = testServer({ web: { ...WEB, origins: ["https://chat.example.org"] } });
    try {
      const url = pageUrl(server);
      // The same refused WebSocket, while a plain request to /ws (the page's probe for why; a
      // route never sees a WebSocket) gets what a cap or a dead server would give.
      const capped = await browser.newContext();
      await capped.route("**/ws", (route) =>
        route.fulfill({
          status: 429,
          contentType: "text/plain",
          body: '{"type":"error","code":"too_many_connections","message":"Too many ' +
            'connections from your address (8)."}\n',
        }));
      const down = await browser.newContext();
      await down.route("**/ws", (route) => route.abort("connectionrefused"));
      const pages = [await openPage(browser, url)];
      for (const context of [capped, down]) {
        context.setDefaultTimeout(WAIT_MS);
        const page = await context.newPage();
        await page.goto(url);
        pages.push(page);
      }
      const [origin, cap, gone] = pages;
      await Promise.all(pages.map((page) => submitNick(page, "alice")));
      // Three refusals in a row take the backoff's first two delays (at most about 4 s).
      const said = (page: Page, text: string) =>
        page.locator("#login-error").getByText(text).waitFor({ timeout: WAIT_MS * 2 });
      await Promise.all([
        said(origin, "refuses this page's connection: too many connections from your address"),
        said(cap, "refuses this page's connection: Too many connections from your address (8)."),
        said(gone, "The server cannot be reached"),
      ]);
      const status = await origin.locator("#status").innerText();
      assert.match(status, /too many connections from your address, a ban, or an origin setting/);
      assert.match(status, /Trying again in \d+ s/);
      assert.match(await cap.locator("#status").innerText(), /\(8\)\. Trying again in \d+ s/);
      // No welcome ever came: no empty chat view that looks logged in.
      for (const page of pages) {
        assert.equal(await page.locator("#login-view").isVisible(), true);
        assert.equal(await page.locator("#chat-view").isVisible(), false);
        await page.context().close();
      }
    } finally {
      await server.shutdown();
    }
  },
);

uxStep(
  "a page whose script was refused (a 429 on /app.js) says so at the form instead of a Join that does nothing",
  async (browser: Browser) => {
    const server = testServer({ web: WEB });
    try {
      const context = await browser.newContext();
      context.setDefaultTimeout(WAIT_MS);
      // What the page gets when the address is over its budget or its connections.
      await context.route(
        "**/app.js",
        (route) =>
          route.fulfill({ status: 429, contentType: "text/plain", body: "Too many requests\n" }),
      );
      const page = await context.newPage();
      await page.goto(pageUrl(server));
      await page.getByText("The page's script did not load").waitFor();
      await context.close();
      // With its script, the note is gone before it could show.
      const fine = await openPage(browser, pageUrl(server));
      await submitNick(fine, "alice");
      await fine.getByLabel("message", { exact: true }).and(fine.locator(":focus")).waitFor();
      assert.equal(await fine.locator("#script-missing").count(), 0);
      await fine.context().close();
    } finally {
      await server.shutdown();
    }
  },
);

uxStep(
  "a line over the server's maxFrame (a pasted block) stays in the box with its size, and the connection lives on",
  async (browser: Browser) => {
    const server = testServer({ web: WEB, maxFrame: 2048 });
    try {
      const page = await joinAs(browser, pageUrl(server), "alice");
      const block = Array.from({ length: 40 }, (_, i) => `line ${i}: ${"é".repeat(40)}`).join("\n");
      await say(page, block);
      const warning = page.getByRole("log").getByText(/Too long to send: \d+ bytes of 2048/);
      await warning.waitFor();
      const bytes = Number(/(\d+) bytes of/.exec(await warning.innerText())?.[1]);
      assert.ok(bytes > new TextEncoder().encode(block).length, `${bytes} counts the UTF-8 bytes`);
      const box = page.getByLabel("message", { exact: true });
      assert.equal(await box.inputValue(), block, "the text is kept");
      assert.equal(await box.getAttribute("aria-invalid"), "true");
      // Nothing went out: the connection is the same one, and a short line still goes through.
      await say(page, "short and sweet");
      await page.locator(".line:not(.pending)").getByText("short and sweet").waitFor();
      assert.equal(await page.locator("#status").isVisible(), false);
      assert.doesNotMatch(await page.getByRole("log").innerText(), /frame_too_large|not sent/);
      await page.context().close();
    } finally {
      await server.shutdown();
    }
  },
);

uxStep(
  "a kick by an operator is shown with who and why, is not undone by a reconnect, and Reconnect comes back",
  async (browser: Browser) => {
    const server = testServer({ web: WEB, operSecret: secret("sekrit") });
    const op = await JsonClient.login(server, "oscar");
    await command(op, "/oper sekrit");
    try {
      // On a phone, where the bar's sentence takes several lines.
      const page = await joinAs(browser, pageUrl(server), "alice", {
        viewport: { width: 360, height: 640 },
      });
      await op.expect("join");
      await command(op, "/kick alice spamming the room with links, again and again");
      const reconnect = page.getByRole("button", { name: "Reconnect" });
      await reconnect.waitFor();
      await waitForLog(page, "You were kicked by oscar: spamming the room");
      const status = page.locator("#status");
      assert.match(await status.innerText(), /kicked by oscar: spamming .* again\. Disconnected\./);
      // The bar pushes the chat down, not the message box off the screen.
      const box = await page.getByLabel("message", { exact: true }).boundingBox();
      assert.ok(box !== null && box.y + box.height <= 640, `message box at ${JSON.stringify(box)}`);
      // Gone until asked (a reconnect by itself would have said "Reconnecting" up there).
      await reconnect.click();
      const back = await op.expect("join");
      assert.equal(back.nick, "alice");
      await status.waitFor({ state: "hidden" });
      await page.context().close();
    } finally {
      op.close();
      await server.shutdown();
    }
  },
);

uxStep(
  "a second tab of the same browser, refused the nick the first holds, is told so and offered the form",
  async (browser: Browser) => {
    const server = testServer({ web: WEB });
    const url = pageUrl(server);
    try {
      const first = await joinAs(browser, url, "alice");
      // Same context: same localStorage, so the second tab logs in as alice by itself.
      const second = await first.context().newPage();
      await second.goto(url);
      const error = second.locator("#login-error");
      await error.getByText("another tab of this browser").waitFor();
      assert.match(await error.innerText(), /alice is in use/);
      const nick = second.getByLabel("Nickname", { exact: true });
      assert.equal(await nick.inputValue(), "alice");
      await nick.fill("alice2");
      await nick.press("Enter");
      await second.getByLabel("message", { exact: true }).and(second.locator(":focus")).waitFor();
      await first.context().close();
    } finally {
      await server.shutdown();
    }
  },
);

uxStep(
  "a server password is asked for in words for a browser, not a terminal flag",
  async (browser: Browser) => {
    const server = testServer({ web: WEB, password: secret("open sesame") });
    try {
      const page = await openPage(browser, pageUrl(server));
      await submitNick(page, "alice");
      const field = page.getByLabel("Server password", { exact: true });
      await field.waitFor();
      const error = await page.locator("#login-error").innerText();
      assert.match(error, /needs a password: ask whoever runs it/);
      assert.doesNotMatch(error, /--password|sockchat join/);
      await field.fill("open sesame");
      await field.press("Enter");
      await page.getByLabel("message", { exact: true }).and(page.locator(":focus")).waitFor();
      await page.context().close();
    } finally {
      await server.shutdown();
    }
  },
);

/** The page's layout facts the 360 px test checks, measured in the page. */
interface Layout {
  scrollWidth: number;
  title: { overflow: string; cut: boolean };
  roomName: { overflow: string; cut: boolean };
  members: { left: number; right: number; top: number; bottom: number };
  joinButton: { left: number; right: number; top: number; bottom: number };
}

uxStep(
  "at 360 px a long room name is cut with an ellipsis, nothing scrolls sideways, and Members opens inside the screen over nothing; joining from the side box focuses the message box",
  async (browser: Browser) => {
    const server = testServer({ web: WEB });
    const room = "#averyveryverylongroomname12345";
    try {
      const page = await joinAs(browser, pageUrl(server), "alice", {
        viewport: { width: 360, height: 640 },
      });
      const side = page.getByLabel("Join a room", { exact: true });
      await side.fill(room);
      await side.press("Enter");
      await page.locator("#room-title").getByText(room).waitFor();
      await page.getByLabel("message", { exact: true }).and(page.locator(":focus")).waitFor();
      await page.getByRole("button", { name: "Members" }).click();
      await page.locator("#members.open").waitFor();
      const layout = await page.evaluate<Layout>(`(() => {
      const box = (el) => {
        const r = el.getBoundingClientRect();
        return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
      };
      const cut = (el) => ({
        overflow: getComputedStyle(el).textOverflow,
        cut: el.scrollWidth > el.clientWidth,
      });
      const title = document.getElementById("room-title");
      const name = [...document.querySelectorAll("#room-list .name")]
        .find((el) => el.textContent === ${JSON.stringify(room)});
      return {
        scrollWidth: document.documentElement.scrollWidth,
        title: cut(title),
        roomName: cut(name),
        members: box(document.getElementById("members")),
        joinButton: box(document.querySelector("#join-room button")),
      };
    })()`);
      assert.ok(layout.scrollWidth <= 360, `page is ${layout.scrollWidth} px wide`);
      assert.deepEqual(layout.title, { overflow: "ellipsis", cut: true });
      assert.deepEqual(layout.roomName, { overflow: "ellipsis", cut: true });
      const { members, joinButton } = layout;
      assert.ok(members.left >= 0 && members.right <= 360, `members at ${JSON.stringify(members)}`);
      const overlaps = members.left < joinButton.right && joinButton.left < members.right &&
        members.top < joinButton.bottom && joinButton.top < members.bottom;
      assert.equal(overlaps, false, "the Members panel covers the side box's Join button");
      await page.context().close();
    } finally {
      await server.shutdown();
    }
  },
);

/** Hue in degrees of a computed `rgb(r, g, b)` colour. */
function hueOf(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((n) => Number(n) / 255);
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  if (d === 0) return 0;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

uxStep(
  "/help's columns are a monospace block, an error line shows its sentence (code in a tooltip), and no nick colour is near the error red",
  async (browser: Browser) => {
    const server = testServer({ web: WEB });
    try {
      for (const colorScheme of ["light", "dark"] as const) {
        const page = await joinAs(browser, pageUrl(server), `ann${colorScheme}`, { colorScheme });
        const colours = await page.evaluate<{ error: string; nicks: string[] }>(`(() => {
        const probe = (className) => {
          const span = document.createElement("span");
          span.className = className;
          document.body.append(span);
          const colour = getComputedStyle(span).color;
          span.remove();
          return colour;
        };
        const nicks = [];
        for (let i = 0; i < 8; i++) nicks.push(probe("from c" + i));
        return { error: getComputedStyle(document.querySelector("#status")).backgroundColor, nicks };
      })()`);
        const red = hueOf(colours.error);
        for (const [i, colour] of colours.nicks.entries()) {
          const apart = Math.abs(((hueOf(colour) - red + 540) % 360) - 180);
          assert.ok(
            apart >= 30,
            `${colorScheme} .c${i} ${colour} is ${apart}° from ${colours.error}`,
          );
        }
        if (colorScheme === "dark") {
          await page.context().close();
          continue;
        }
        await say(page, "/help");
        const help = page.locator(".line.block").filter({ hasText: "/join" });
        await help.waitFor();
        const font = await page.evaluate<string>(
          `getComputedStyle(document.querySelector(".line.block .text")).fontFamily`,
        );
        assert.match(font, /monospace/);
        await say(page, "/frobnicate");
        const error = page.locator(".line.error[data-code]").last();
        await error.waitFor();
        assert.equal(await error.getAttribute("data-code"), "unknown_command");
        assert.equal(await error.getAttribute("title"), "unknown_command");
        assert.doesNotMatch(await error.innerText(), /unknown_command/);
        await page.context().close();
      }
    } finally {
      await server.shutdown();
    }
  },
);

Deno.test("browser ux: what a new user meets on the page", async (t) => {
  await withBrowser(async (browser) => {
    for (const step of steps) await t.step(step.name, () => step.run(browser));
  });
});
