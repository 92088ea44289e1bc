/**
 * The page's and the web port's defences, seen from a real Chromium (issue 14): hostile text
 * stays text, another site's page cannot open `/ws`, a tab that stops reading is dropped while
 * the others go on, and a frame over `--max-frame` from the page's own WebSocket is refused as
 * on TCP.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { command, eventually, JsonClient, testServer, WAIT_MS } from "./helpers/wire.ts";
import { webAddr } from "./helpers/web.ts";
import { type ServeProcess, spawnServe } from "./helpers/cli.ts";
import { joinAs, logText, say, waitForLog, watchTrouble, withBrowser } from "./helpers/browser.ts";
import { createSockchatMetrics } from "../metrics/sockchat_metrics.ts";
import { createLogger } from "../log/logger.ts";
import { sanitizeMessageText } from "../security/unicode.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { ChatServer } from "../server.ts";

const WEB = { host: "127.0.0.1", port: 0, origins: [] };

/** The page's own address on `server`'s web port. */
function pageUrl(server: ChatServer): string {
  const { hostname, port } = webAddr(server);
  return `http://${hostname}:${port}/`;
}

// ---- 1. hostile text ------------------------------------------------------------------------

/** What a hostile user might send, each as one message. */
const HOSTILE: readonly string[] = [
  "<img src=x onerror=alert(1)>",
  "<script>alert(2)</script>",
  '</span></li></ol></div><b>bold</b><a href="javascript:alert(3)">click</a><iframe src=x>',
  // Terminal escapes (SGR, an OSC title, a DCS), C0 and C1 controls, DEL.
  "\x1b[31mred\x1b[0m \x1b]0;pwned\x07title \x1bP1$r\x1b\\dcs \x07bell \x00nul \x7fdel \x9b2Jcsi \x85nel",
  // Bidi overrides and isolates: "Trojan Source" reordering.
  "\u202eevil\u202c and \u2066isolated\u2069 text",
  "javascript:alert(4) and JaVaScRiPt:alert(5) and data:text/html,<script>alert(6)</script>",
  "links: https://example.com/a?b=1&c=2 and http://example.org/path. and ftp://example.net/x",
  "{{constructor.constructor('alert(7)')()}} ${alert(8)} &lt;b&gt; &#60;i&#62;",
  "multi\nline <u>\n</u>end",
  "long " + "W".repeat(20_000),
];

/** Tags the page itself builds inside the log; anything else came from user text. */
const LOG_TAGS = new Set(["OL", "LI", "TIME", "SPAN", "A"]);

interface LogShape {
  tags: string[];
  texts: string[];
  links: { href: string; rel: string; target: string; text: string }[];
  allText: string;
  /** Elements of kinds user markup would make, or that load or run things, in the document. */
  strayElements: number;
  title: string;
  overflowX: boolean;
}

async function logShape(page: Page): Promise<LogShape> {
  return await page.evaluate<LogShape>(`(() => {
    const log = document.getElementById("log");
    const tags = [...new Set([...log.querySelectorAll("*")].map((node) => node.tagName))];
    const texts = [...log.querySelectorAll("li[data-id] .text")].map((node) => node.textContent);
    const links = [...log.querySelectorAll("a")].map((a) => ({
      href: a.getAttribute("href"), rel: a.rel, target: a.target, text: a.textContent,
    }));
    const stray = document.querySelectorAll(
      "img, iframe, object, embed, frame, b, u, i, svg, math, base, link, meta[http-equiv], script",
    ).length;
    return {
      tags, texts, links, allText: log.textContent, strayElements: stray, title: document.title,
      overflowX: log.scrollWidth > log.clientWidth + 1,
    };
  })()`);
}

Deno.test("browser: a hostile message (markup, script, escapes, controls, bidi, javascript: URLs, a very long line) shows as plain text", async () => {
  const server = testServer({ web: WEB });
  const url = pageUrl(server);
  await withBrowser(async (browser) => {
    const alice = await joinAs(browser, url, "alice");
    const trouble = await watchTrouble(alice);
    const title = await alice.title();
    const before = await logShape(alice);
    const bob = await joinAs(browser, url, "bob");
    const bobTrouble = await watchTrouble(bob);
    const mallory = await JsonClient.login(server, "mallory");
    await waitForLog(alice, "mallory joined");
    for (const text of HOSTILE) await mallory.send({ type: "msg", room: "#lobby", text });
    // An action and a topic reach the page by other paths (the "* nick" line, the header).
    await mallory.send({ type: "cmd", line: "/me <img src=x onerror=alert(9)>", room: "#lobby" });
    await mallory.send({
      type: "cmd",
      line: "/topic <img src=x onerror=alert(10)><script>alert(11)</script>",
      room: "#lobby",
    });
    await mallory.send({ type: "msg", room: "#lobby", text: "the end" });
    await waitForLog(alice, "the end");
    await alice.getByText("<script>alert(11)</script>", { exact: false }).first().waitFor();
    // Typed into another page: shown there while pending, then relayed.
    const typed = "<img src=x onerror=alert(12)> typed <b>here</b>";
    await say(bob, typed);
    await waitForLog(alice, "typed <b>here</b>");
    await bob.locator("#log li[data-id]", { hasText: "typed <b>here</b>" }).waitFor();

    const shape = await logShape(alice);
    // Each message is its text, exactly as the server relays it (escapes and controls removed).
    const expected = [...HOSTILE, "<img src=x onerror=alert(9)>", "the end", typed].map(
      sanitizeMessageText,
    );
    assert.deepEqual(shape.texts, expected);
    for (const text of expected) assert.ok(shape.allText.includes(text), `shown: ${text}`);
    const visible = await logText(alice);
    assert.ok(visible.includes("<img src=x onerror=alert(1)>"));
    assert.ok(visible.includes("W".repeat(20_000)), "the long line in full");
    assert.ok(visible.includes("red title dcs bell nul del csi nel"), "escapes removed, text kept");
    assert.ok(visible.includes("evil and isolated text"));
    // Nothing that could move the cursor, set a title or reorder text reached the page.
    assert.doesNotMatch(
      shape.allText,
      // deno-lint-ignore no-control-regex -- control characters are what is looked for
      /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/,
    );
    assert.equal(shape.title, title, "an OSC title sequence does not retitle the page");
    // Only the page's own elements, and no element anywhere that user text could have made.
    assert.deepEqual(shape.tags.filter((tag) => !LOG_TAGS.has(tag)), []);
    assert.equal(shape.strayElements, before.strayElements, "the page's own script and style only");
    assert.equal(
      await alice.locator("#room-topic").innerText(),
      sanitizeMessageText(
        "<img src=x onerror=alert(10)><script>alert(11)</script>",
      ),
    );
    // Only the http(s) URLs became links, each opened without a handle on this page.
    assert.deepEqual(shape.links.map((link) => link.href), [
      "https://example.com/a?b=1&c=2",
      "http://example.org/path",
    ]);
    for (const link of shape.links) {
      assert.match(link.rel, /\bnoopener\b/);
      assert.equal(link.text, link.href);
    }
    assert.equal(shape.overflowX, false, "a very long line wraps instead of widening the log");
    assert.deepEqual(await trouble.problems(), [], "no dialog, error or CSP violation");
    const bobShape = await logShape(bob);
    assert.deepEqual(bobShape.tags.filter((tag) => !LOG_TAGS.has(tag)), []);
    assert.equal(bobShape.strayElements, before.strayElements);
    assert.deepEqual(bobShape.texts.slice(-1), [typed]);
    assert.deepEqual(await bobTrouble.problems(), []);
    mallory.close();
  });
  await server.shutdown();
});

// ---- 2. Origin ------------------------------------------------------------------------------

/**
 * Another site: a page whose script opens `ws://TARGET/ws` (from `?ws=`) and logs in as `?nick=`.
 * What happened ends up in `window.probe`, and `<html data-done>` says it is over.
 */
const OTHER_SITE_HTML = `<!doctype html><meta charset="utf-8"><title>another site</title>
<script src="/other.js"></script>`;
const OTHER_SITE_JS = `"use strict";
const params = new URLSearchParams(location.search);
const probe = { events: [] };
globalThis.probe = probe;
const done = () => document.documentElement.setAttribute("data-done", "");
const ws = new WebSocket(params.get("ws"));
ws.onopen = () => {
  probe.events.push("open");
  ws.send(JSON.stringify({ type: "hello", v: 1, nick: params.get("nick") }));
};
ws.onmessage = (event) => {
  const frame = JSON.parse(event.data);
  probe.events.push(frame.type);
  if (frame.type === "welcome") { ws.close(); done(); }
};
ws.onerror = () => probe.events.push("error");
ws.onclose = (event) => { probe.events.push("close:" + event.code); done(); };
`;

/** Serves {@linkcode OTHER_SITE_HTML} on a port of its own: a different origin. */
function otherSite(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/other.js") {
      return new Response(OTHER_SITE_JS, { headers: { "content-type": "text/javascript" } });
    }
    return new Response(OTHER_SITE_HTML, { headers: { "content-type": "text/html" } });
  });
}

/** The URL `serve` printed in its "web listening on URL" line, once it has. */
async function webListening(serve: ServeProcess): Promise<string> {
  const line = /web listening on (http:\/\/[^\s]+\/)\n/;
  await eventually(() => line.test(serve.stdout()), "the web listening line", 20_000);
  return line.exec(serve.stdout())?.[1] ?? "";
}

/** Opens the other site's page aimed at `wsUrl`, and returns what its WebSocket saw. */
async function otherSiteVisit(
  browser: Browser,
  site: string,
  wsUrl: string,
  nick: string,
): Promise<string[]> {
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT_MS);
  try {
    const page = await context.newPage();
    await page.goto(`${site}/?ws=${encodeURIComponent(wsUrl)}&nick=${nick}`);
    await page.locator("html[data-done]").waitFor({ state: "attached" });
    return await page.evaluate<string[]>("globalThis.probe.events");
  } finally {
    await context.close();
  }
}

Deno.test("browser: a page from another origin cannot open /ws (bad_origin, counted and logged); the page's own origin and a --web-origin one can", async () => {
  const metrics = createSockchatMetrics();
  const logged: string[] = [];
  const logger = createLogger({ format: "json", write: (line) => logged.push(line) });
  const server = testServer({ web: WEB, metrics, logger });
  const site = otherSite();
  const siteOrigin = `http://127.0.0.1:${site.addr.port}`;
  const { hostname, port } = webAddr(server);
  const wsUrl = `ws://${hostname}:${port}/ws`;
  try {
    await withBrowser(async (browser) => {
      const events = await otherSiteVisit(browser, siteOrigin, wsUrl, "intruder");
      assert.ok(!events.includes("open"), `never opened: ${events}`);
      assert.ok(!events.includes("welcome"));
      assert.ok(events.includes("error") && events.includes("close:1006"), `${events}`);
      assert.equal(server.hub.user("intruder"), undefined);
      assert.equal(metrics.rejectedConnections.value("bad_origin"), 1);
      const refusals = logged.map((line) => JSON.parse(line)).filter((entry) =>
        entry.event === "refused" && entry.reason === "bad_origin"
      );
      assert.equal(refusals.length, 1);
      assert.equal(refusals[0].detail, siteOrigin, "the log names the refused origin");

      // The page's own origin still gets in, and chats.
      const alice = await joinAs(browser, pageUrl(server), "alice");
      const tcp = await JsonClient.login(server, "tcp");
      await say(alice, "own origin works");
      assert.equal((await tcp.expect("msg")).text, "own origin works");
      assert.equal(metrics.rejectedConnections.value("bad_origin"), 1);
      tcp.close();

      // `serve --web-origin` naming the other site lets its page in.
      const serve = await spawnServe(["--web-port", "0", "--web-origin", siteOrigin]);
      try {
        const listed = await otherSiteVisit(
          browser,
          siteOrigin,
          `${(await webListening(serve)).replace(/^http/, "ws")}ws`,
          "invited",
        );
        assert.ok(listed.includes("welcome"), `the listed origin logs in: ${listed}`);
      } finally {
        await serve.stop();
      }
    });
  } finally {
    await site.shutdown();
    await server.shutdown();
  }
});

// ---- 3. a tab that stops reading --------------------------------------------------------------

/** `--max-queue` for the slow-tab test: small, so a stalled tab is dropped soon. */
const QUEUE_BYTES = 512 * 1024;

Deno.test("browser: a tab that stops reading is dropped as too_slow while the other page gets every message in order; unpaused, it reconnects", async () => {
  const metrics = createSockchatMetrics();
  const server = testServer({
    web: WEB,
    metrics,
    maxQueueBytes: QUEUE_BYTES,
    // The sender's burst is the test, not abuse.
    flood: null,
  });
  const url = pageUrl(server);
  await withBrowser(async (browser) => {
    const reader = await joinAs(browser, url, "reader");
    const sloth = await joinAs(browser, url, "sloth");
    const sender = await JsonClient.login(server, "sender");
    await command(sender, "/join #quiet");
    await waitForLog(reader, "sender joined");
    await waitForLog(sloth, "sender joined");
    // The sloth still belongs to #lobby but looks at another room, so that once unpaused it
    // gets through the megabytes it was sent without laying each message out (that is only
    // time, not what is tested).
    await say(sloth, "/join #quiet");
    await sloth.getByRole("heading", { name: "#quiet" }).waitFor();
    // Pausing the sloth's script stops Chromium reading its WebSocket: the renderer takes no
    // more messages, the network service stops reading the socket, and the server's
    // bufferedAmount grows. (Page.setWebLifecycleState "frozen" does not: Chromium keeps reading.)
    const cdp = await sloth.context().newCDPSession(sloth);
    await cdp.send("Debugger.enable");
    await cdp.send("Debugger.pause");

    // Bursts of at most half the queue, so that the reader, which shows each burst before the
    // next is sent, can never be dropped; the sloth's queue fills once Chromium and the kernel
    // hold what they can (a few MB).
    const pad = "p".repeat(16_000);
    const BATCH = Math.floor(QUEUE_BYTES / 2 / (pad.length + 100));
    // ~24 MB: far more than Chromium and the kernel hold for a paused tab (about 6 MB here;
    // Linux's default socket buffers top out at 6 MB to receive and 4 MB to send).
    const LIMIT = 1500;
    let sent = 0;
    let dropped: Extract<ServerFrame, { type: "leave" }> | null = null;
    while (dropped === null && sent < LIMIT) {
      let burst = "";
      for (let i = 0; i < BATCH; i++) {
        burst += JSON.stringify({ type: "msg", room: "#lobby", text: `${sent++} ${pad}` }) + "\n";
      }
      await sender.write(burst);
      for (let acks = 0; acks < BATCH;) {
        const frame = await sender.next("an ack");
        if (frame === null) throw new Error("the sender lost its connection");
        if (frame.type === "ack") acks++;
        if (frame.type === "leave") {
          assert.equal(frame.nick, "sloth", "only the sloth is dropped");
          dropped = frame;
        }
      }
      await reader.locator("#log li[data-id]").nth(sent - 1).waitFor({ state: "attached" });
    }
    assert.ok(dropped !== null, `the sloth was dropped within ${sent} messages`);
    assert.equal(dropped.reason, "too_slow");
    assert.equal(metrics.droppedSlow.value, 1);
    assert.equal(server.hub.user("sloth"), undefined);
    assert.ok(server.hub.user("reader") !== undefined, "the reader is still there");
    await waitForLog(reader, "sloth left #lobby (too_slow");
    // Every message reached the reader, once each and in order.
    const order = await reader.evaluate<string[]>(
      `[...document.querySelectorAll("#log li[data-id] .text")].map((n) => n.textContent.split(" ", 1)[0])`,
    );
    assert.deepEqual(order, Array.from({ length: sent }, (_, i) => String(i)));

    // Unpaused, the sloth reads what was buffered, learns it was cut off, says so, and is back.
    const seen = sloth.locator("#status");
    await cdp.send("Debugger.resume");
    await cdp.detach();
    await seen.waitFor({ state: "visible" });
    assert.match(await seen.innerText(), /Offline|Reconnecting/);
    await seen.waitFor({ state: "hidden" });
    assert.ok(server.hub.user("sloth") !== undefined, "the sloth logged in again");
    await say(sloth, "back again");
    for (let skipped = 0;; skipped++) {
      assert.ok(skipped < 100, "the sloth's message reaches #quiet");
      const frame = await sender.next("the sloth's message");
      if (frame?.type === "msg" && frame.room === "#quiet") {
        assert.equal(frame.from, "sloth");
        assert.equal(frame.text, "back again");
        break;
      }
    }
    sender.close();
  });
  await server.shutdown();
});

// ---- 4. --max-frame from the page's own WebSocket ----------------------------------------

/**
 * Run in the page: a second WebSocket on the page's own origin logs in as `nick`, sends
 * `oversized` as one text message once welcomed, and resolves with every frame it got and the
 * close code.
 */
function oversizedFromPage(nick: string, oversized: string): string {
  const hello = JSON.stringify({ type: "hello", v: 1, nick });
  return `new Promise((resolve, reject) => {
    const frames = [];
    const ws = new WebSocket(new URL("/ws", location.href).href.replace(/^http/, "ws"));
    const timer = setTimeout(() => reject(new Error("no close: " + JSON.stringify(frames))), ${WAIT_MS});
    ws.onopen = () => ws.send(${JSON.stringify(hello)});
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      frames.push(frame);
      if (frame.type === "welcome") ws.send(${JSON.stringify(oversized)});
    };
    ws.onclose = (event) => { clearTimeout(timer); resolve({ frames, code: event.code }); };
  })`;
}

Deno.test("browser: a frame over --max-frame from the page's own WebSocket is refused exactly as on TCP; others chat on", async () => {
  const MAX_FRAME = 1024;
  const server = testServer({ web: WEB, maxFrame: MAX_FRAME });
  const url = pageUrl(server);
  const oversized = JSON.stringify({
    type: "msg",
    room: "#lobby",
    text: "x".repeat(2 * MAX_FRAME),
  });
  await withBrowser(async (browser) => {
    const alice = await joinAs(browser, url, "alice");
    const bob = await JsonClient.login(server, "bob");

    const web = await alice.evaluate<{ frames: ServerFrame[]; code: number }>(
      oversizedFromPage("bigweb", oversized),
    );
    const webError = web.frames.find((frame) => frame.type === "error");
    assert.ok(webError?.type === "error", `an error frame: ${JSON.stringify(web.frames)}`);
    assert.equal(web.frames.at(-1)?.type, "error", "nothing after the error");
    assert.ok(!web.frames.some((frame) => frame.type === "ack"), "the message was not taken");

    const tcp = await JsonClient.login(server, "bigtcp");
    await tcp.write(oversized + "\n");
    const tcpError = await tcp.expect("error");
    await tcp.expectEof();
    tcp.close();

    assert.equal(webError.code, "frame_too_large");
    assert.deepEqual(
      { code: webError.code, fatal: webError.fatal, message: webError.message },
      { code: tcpError.code, fatal: tcpError.fatal, message: tcpError.message },
      "the same refusal on both transports",
    );
    assert.equal(server.hub.user("bigweb"), undefined);
    assert.equal(server.hub.user("bigtcp"), undefined);

    // Nobody else noticed: the page's own connection and the TCP user chat on.
    await say(alice, "still here");
    assert.equal((await bob.expect("msg")).text, "still here");
    await bob.send({ type: "msg", room: "#lobby", text: "me too" });
    await waitForLog(alice, "me too");
    assert.doesNotMatch(await logText(alice), /x{2048}/, "the oversized text was never relayed");
    assert.equal(await alice.locator("#status").isHidden(), true);
    bob.close();
  });
  await server.shutdown();
});
