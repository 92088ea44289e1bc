/**
 * Test helpers that drive Debian's Chromium through Playwright (`npm:playwright-core`, pinned in
 * deno.json). `.ci/run` installs Chromium; a machine without it fails these tests with a sentence
 * saying how to get it, rather than skipping them quietly.
 *
 * Each browser page gets its own context, so two pages are two people: separate `localStorage`,
 * separate WebSockets.
 *
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";
import { WAIT_MS } from "./wire.ts";

/** The Chromium binary: `SOCKCHAT_CHROMIUM`, else Debian's `/usr/bin/chromium`. */
export const CHROMIUM_PATH = Deno.env.get("SOCKCHAT_CHROMIUM") ?? "/usr/bin/chromium";

/** Launches Chromium headless, runs `body`, and always closes the browser. */
export async function withBrowser<T>(body: (browser: Browser) => Promise<T>): Promise<T> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium, as .ci/run does) ` +
        "or point SOCKCHAT_CHROMIUM at a Chromium binary",
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox"],
    timeout: WAIT_MS * 2,
  });
  try {
    return await body(browser);
  } finally {
    await browser.close();
  }
}

/** Options for {@linkcode openPage}. */
export interface PageOptions {
  /** `prefers-color-scheme` to emulate. */
  colorScheme?: "light" | "dark";
  /** The viewport; 1024×700 unless given. */
  viewport?: { width: number; height: number };
}

/** A new page, in a context of its own, at `url`. */
export async function openPage(
  browser: Browser,
  url: string,
  options: PageOptions = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1024, height: 700 },
    colorScheme: options.colorScheme ?? "light",
  });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/**
 * Opens the page at `url` and joins as `nick` the way a person does: types the nick into the
 * visible field and presses Enter. Returns once the message box has the focus, in `#lobby`.
 */
export async function joinAs(
  browser: Browser,
  url: string,
  nick: string,
  options: PageOptions = {},
): Promise<Page> {
  const page = await openPage(browser, url, options);
  const field = page.getByLabel("Nickname", { exact: true });
  await field.fill(nick);
  await field.press("Enter");
  // A locator, not waitForFunction: the page's CSP forbids eval, which a polled predicate needs.
  await page.getByLabel("message", { exact: true }).and(page.locator(":focus")).waitFor();
  return page;
}

/** Types `text` into the message box and presses Enter. */
export async function say(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/** The message log's visible text. */
export async function logText(page: Page): Promise<string> {
  return await page.getByRole("log").innerText();
}

/** Waits until the log's text contains `text`. */
export async function waitForLog(page: Page, text: string): Promise<void> {
  await page.getByRole("log").getByText(text, { exact: false }).first().waitFor();
}

/** What {@linkcode watchTrouble} saw go wrong in a page. */
export interface PageTrouble {
  /**
   * Every dialog (each dismissed), uncaught error, console error or warning and
   * Content-Security-Policy violation since the watch began, one sentence each; empty if none.
   */
  problems(): Promise<string[]>;
}

/**
 * Watches `page` for what a safe page never does: open a dialog (`alert` from injected script),
 * throw, log an error or warning (where Chromium reports a CSP refusal), or violate its CSP.
 */
export async function watchTrouble(page: Page): Promise<PageTrouble> {
  const seen: string[] = [];
  page.on("dialog", (dialog) => {
    seen.push(`dialog ${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on("pageerror", (error) => seen.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      seen.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  // The event itself, in case a violation is reported without a console line.
  await page.evaluate(`(() => {
    globalThis.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      globalThis.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
    });
  })()`);
  return {
    async problems() {
      const csp = await page.evaluate<string[]>("globalThis.cspViolations ?? []");
      return [...seen, ...csp.map((violation) => `CSP violation: ${violation}`)];
    },
  };
}
