/**
 * `deno run -A scripts/screenshots.ts`: remakes the README's pictures of the browser page,
 * `docs/screenshot-light.png` and `docs/screenshot-dark.png` (1100×700).
 *
 * It starts a server in this process with the web port on, opens the page in Debian's Chromium
 * (`SOCKCHAT_CHROMIUM` to use another) as alice, and has three NDJSON clients, bob, carol and
 * dave, chat with her in `#lobby` over the real protocol: a topic, a link, a `/me`, a multi-line message, a
 * mention, a DM and a room with unread messages. Then it saves the same page in light and dark.
 *
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";
import { type ChatServer, startServer } from "../server.ts";

/** The size of both pictures, in CSS pixels. */
export const SCREENSHOT_SIZE = { width: 1100, height: 700 } as const;

/** Where the pictures go, relative to the repository root. */
export const SCREENSHOT_FILES = {
  light: "docs/screenshot-light.png",
  dark: "docs/screenshot-dark.png",
} as const;

const ROOT = new URL("../", import.meta.url);
const CHROMIUM = Deno.env.get("SOCKCHAT_CHROMIUM") ?? "/usr/bin/chromium";
/** No single step of the scene may take longer than this. */
const STEP_MS = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One NDJSON client, just enough of one to take part in the scene. */
class Speaker {
  readonly #conn: Deno.TcpConn;
  #buffer = "";
  #nextRef = 1;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Logs in as `nick` and returns once welcomed. */
  static async login(server: ChatServer, nick: string): Promise<Speaker> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const speaker = new Speaker(conn);
    await speaker.#send({ type: "hello", v: 1, nick });
    await speaker.#until((frame) => frame.type === "welcome", `${nick}'s welcome`);
    return speaker;
  }

  /** Says `text` in `room` and returns once the server has it. */
  async say(room: string, text: string): Promise<void> {
    const ref = `s${this.#nextRef++}`;
    await this.#send({ type: "msg", room, text, ref });
    await this.#until((frame) => frame.ref === ref, `the ack of ${JSON.stringify(text)}`);
  }

  /** Runs a slash command in `room` and returns once it is answered. */
  async command(room: string, line: string): Promise<void> {
    const ref = `s${this.#nextRef++}`;
    await this.#send({ type: "cmd", line, room, ref });
    const answer = await this.#until((frame) => frame.ref === ref, `the answer to ${line}`);
    if (answer.type === "error") throw new Error(`${line}: ${JSON.stringify(answer)}`);
  }

  /** Closes the connection. */
  close(): void {
    this.#conn.close();
  }

  async #send(frame: Record<string, unknown>): Promise<void> {
    let bytes = encoder.encode(JSON.stringify(frame) + "\n");
    while (bytes.length > 0) bytes = bytes.subarray(await this.#conn.write(bytes));
  }

  /** Reads frames until one matches, within STEP_MS. */
  async #until(
    match: (frame: Record<string, unknown>) => boolean,
    what: string,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + STEP_MS;
    const chunk = new Uint8Array(16 * 1024);
    while (Date.now() < deadline) {
      let nl = this.#buffer.indexOf("\n");
      while (nl !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line.startsWith("{")) {
          const frame = JSON.parse(line) as Record<string, unknown>;
          if (match(frame)) return frame;
        }
        nl = this.#buffer.indexOf("\n");
      }
      const n = await this.#conn.read(chunk);
      if (n === null) break;
      this.#buffer += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
    throw new Error(`no ${what} within ${STEP_MS} ms`);
  }
}

/** Waits until the open conversation's log shows `text`. */
async function shown(page: Page, text: string): Promise<void> {
  await page.getByRole("log").getByText(text, { exact: false }).first().waitFor();
}

/** Plays the scene on `page` (alice), with bob and carol on NDJSON. */
async function playScene(server: ChatServer, page: Page): Promise<Speaker[]> {
  const bob = await Speaker.login(server, "bob");
  const carol = await Speaker.login(server, "carol");
  const dave = await Speaker.login(server, "dave");
  await bob.command("#lobby", "/topic Release day: 0.1 ships at five · notes in the wiki");
  await bob.command("#lobby", "/join #design");
  await carol.command("#lobby", "/join #design");
  // Said before alice arrives: the page shows it as the room's history.
  await dave.say("#lobby", "CI is green on main again");
  await carol.say("#lobby", "nice! was it the flaky tmux test?");
  await dave.say("#lobby", "yes, it waited on a sleep instead of the prompt");
  await bob.say("#lobby", "good catch, thanks dave");

  const { hostname, port } = server.addresses.web ?? { hostname: "", port: 0 };
  await page.goto(`http://${hostname}:${port}/`);
  const nick = page.getByLabel("Nickname", { exact: true });
  await nick.fill("alice");
  await nick.press("Enter");
  await page.locator("#message:focus").waitFor();
  const box = page.getByLabel("message", { exact: true });
  await box.fill("/join #design");
  await box.press("Enter");
  await page.locator("#room-title", { hasText: "#design" }).waitFor();
  await page.locator("#room-list button", { hasText: "#lobby" }).click();
  await page.locator("#room-title", { hasText: "#lobby" }).waitFor();

  await shown(page, "good catch");
  await bob.say("#lobby", "morning all! the release notes draft: https://example.com/sockchat/0.1");
  await shown(page, "release notes draft");
  await carol.command("#lobby", "/me brings coffee for everyone");
  await shown(page, "brings coffee");
  await box.fill("thanks bob, reading it now");
  await box.press("Enter");
  await shown(page, "reading it now");
  await carol.say(
    "#lobby",
    "two things before we ship:\n1. bump the version in version.ts\n2. re-run the benchmarks",
  );
  await shown(page, "re-run the benchmarks");
  await bob.say("#lobby", "alice: could you retake the web page screenshots?");
  await shown(page, "retake the web page");
  await box.fill("on it");
  await box.press("Enter");
  await shown(page, "on it");

  // In the background: a room with unread messages and a DM.
  await carol.say("#design", "new icon sketches are up");
  await carol.say("#design", "the dark one is my favourite");
  await page.locator('#room-list button[aria-label="#design, 2 unread"]').waitFor();
  await bob.command("#lobby", "/msg alice cake in the kitchen at four");
  await page.locator('#room-list button[aria-label="@bob, 1 unread, mentioned"]').waitFor();
  await box.fill("");
  return [bob, carol, dave];
}

async function shoot(browser: Browser, server: ChatServer): Promise<void> {
  const context = await browser.newContext({
    viewport: { ...SCREENSHOT_SIZE },
    colorScheme: "light",
    locale: "en-GB",
    // The log's times are the viewer's: pin them, so a retake only changes what changed.
    timezoneId: "Europe/London",
  });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const speakers = await playScene(server, page);
  try {
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const path = new URL(SCREENSHOT_FILES[scheme], ROOT).pathname;
      await page.screenshot({ path, animations: "disabled", caret: "hide" });
      console.log(`wrote ${SCREENSHOT_FILES[scheme]}`);
    }
  } finally {
    for (const speaker of speakers) speaker.close();
    await context.close();
  }
}

if (import.meta.main) {
  const server = startServer({
    host: "127.0.0.1",
    port: 0,
    web: { host: "127.0.0.1", port: 0, origins: [] },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    await shoot(browser, server);
  } finally {
    await browser.close();
    await server.shutdown();
  }
}
