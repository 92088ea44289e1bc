import assert from "node:assert/strict";
import { WEB_ASSETS } from "../web/assets.ts";
import { APP_JS_FILE, ASSETS_FILE, renderWebAssets } from "../scripts/web_assets.ts";

const ROOT = new URL("../", import.meta.url);

function served(path: string): string {
  const asset = WEB_ASSETS.get(path);
  assert.ok(asset, `${path} is served`);
  return new TextDecoder().decode(asset.body);
}

Deno.test("web/assets.ts is what scripts/web_assets.ts makes of web/static/ (run it after editing the page)", async () => {
  const current = await Deno.readTextFile(new URL(ASSETS_FILE, ROOT));
  assert.ok(current === await renderWebAssets(), `${ASSETS_FILE} is out of date`);
  assert.equal(served("/app.js"), await Deno.readTextFile(new URL(APP_JS_FILE, ROOT)));
});

Deno.test("the served app.js parses as a classic script and never turns text into markup or code", () => {
  const script = served("/app.js");
  // Compiling without calling it checks the syntax; the page's CSP forbids this, a test may.
  assert.doesNotThrow(() => new Function(script));
  for (
    const sink of [
      /\.innerHTML\b/,
      /\.outerHTML\b/,
      /insertAdjacentHTML/,
      /document\.write/,
      /\beval\(/,
      /new Function/,
      /setTimeout\(\s*["'`]/,
      /\.setAttribute\(\s*["']on/,
      /\.setAttribute\(\s*["']style/,
    ]
  ) {
    assert.doesNotMatch(script, sink);
  }
  // Links are built for http(s) only, and open without handing the page to the target.
  assert.match(script, /parsed\.protocol === "http:" \|\| parsed\.protocol === "https:"/);
  assert.match(script, /rel = "noopener noreferrer"/);
});

Deno.test("the page has the hooks scripts and assistive tech rely on, and no inline script or style", () => {
  const html = served("/");
  assert.match(html, /<input id="nick" name="nick" type="text"/);
  assert.match(html, /<label for="message"[^>]*>message<\/label>/);
  assert.match(html, /<textarea id="message"/);
  assert.match(html, /id="log" role="log" aria-live="polite"/);
  assert.match(html, /<script src="\/app\.js" defer><\/script>/);
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/);
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
  const css = served("/style.css");
  assert.match(css, /prefers-color-scheme: dark/);
  assert.match(css, /@media \(max-width: 700px\)/);
  assert.match(served("/favicon.ico"), /^<svg /);
});
