import assert from "node:assert/strict";
import type { ServerOptions } from "../server.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";
import { maskedTextFrame, rawUpgrade, webAddr, WsClient } from "./helpers/web.ts";
import { addressBlock } from "../core/moderation.ts";
import { MAX_AUTH_FAILURES } from "../config/limits.ts";
import { registerPassword } from "./helpers/accounts.ts";
import { hello } from "./helpers/wire.ts";
import type { ErrorFrame, ServerFrame } from "../protocol/frames.ts";
import { WEB_INBOUND_FRAMES } from "../config/web_limits.ts";
import { WEB_ASSETS } from "../web/assets.ts";

const WEB = { host: "127.0.0.1", port: 0, origins: [] };

function webServer(options: ServerOptions = {}) {
  return testServer({ web: WEB, ...options });
}

Deno.test("the page, its script, style and icon are served with strict security headers; other paths are 404", async () => {
  const server = webServer();
  const { hostname, port } = webAddr(server);
  const base = `http://${hostname}:${port}`;
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  assert.equal(page.headers.get("referrer-policy"), "no-referrer");
  const html = await page.text();
  assert.match(html, /role="log"/);
  assert.match(html, /<script src="\/app\.js"/);
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, "no inline script");
  assert.doesNotMatch(html, /\son[a-z]+=/i, "no inline event handlers");
  const typed: [string, RegExp][] = [["/app.js", /^text\/javascript/], [
    "/style.css",
    /^text\/css/,
  ]];
  for (const [path, type] of typed) {
    const response = await fetch(`${base}${path}`);
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get("content-type") ?? "", type);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    await response.body?.cancel();
  }
  // HEAD says how long the GET body is (the program sends it; Deno alone would say 0).
  const head = await fetch(`${base}/app.js`, { method: "HEAD" });
  const got = await fetch(`${base}/app.js`);
  assert.equal(head.headers.get("content-length"), String((await got.arrayBuffer()).byteLength));
  const icon = await fetch(`${base}/favicon.ico`);
  assert.equal(icon.status, 200);
  assert.match(await icon.text(), /<svg/);
  const missing = await fetch(`${base}/etc/passwd`);
  assert.equal(missing.status, 404);
  assert.ok(missing.headers.get("content-security-policy"));
  await missing.body?.cancel();
  await server.shutdown();
});

Deno.test("a WebSocket client and an NDJSON TCP client chat in the same room", async () => {
  const server = webServer();
  const web = await WsClient.login(server, "webby");
  const tcp = await JsonClient.login(server, "tcpy");
  assert.equal((await web.expect("join")).nick, "tcpy");
  await tcp.send({ type: "msg", room: "#lobby", text: "hello from tcp" });
  const got = await web.expect("msg");
  assert.equal(got.from, "tcpy");
  assert.equal(got.text, "hello from tcp");
  web.send({ type: "msg", room: "#lobby", text: "hello from the web", ref: "r1" });
  assert.equal((await web.expect("ack")).ref, "r1");
  const back = await tcp.expect("msg");
  assert.equal(back.from, "webby");
  assert.equal(back.text, "hello from the web");
  await web.close();
  tcp.close();
  await server.shutdown();
});

Deno.test("a page from another origin is refused with 403; the page's own origin is upgraded", async () => {
  const server = webServer();
  const { hostname, port } = webAddr(server);
  const wrong = await rawUpgrade(server, "http://evil.example");
  assert.equal(wrong.status, 403);
  wrong.conn.close();
  const own = await rawUpgrade(server, `http://${hostname}:${port}`);
  assert.equal(own.status, 101);
  own.conn.close();
  await server.shutdown();
});

Deno.test("--web-origin replaces the default: listed origins only", async () => {
  const server = webServer({ web: { ...WEB, origins: ["https://chat.example.org"] } });
  const { hostname, port } = webAddr(server);
  const own = await rawUpgrade(server, `http://${hostname}:${port}`);
  assert.equal(own.status, 403);
  own.conn.close();
  const listed = await rawUpgrade(server, "https://chat.example.org");
  assert.equal(listed.status, 101);
  listed.conn.close();
  await server.shutdown();
});

Deno.test("the door's cap per address applies to WebSockets, shared with TCP", async () => {
  const server = webServer({ maxConnsPerIp: 2 });
  const web = await WsClient.login(server, "one");
  const tcp = await JsonClient.login(server, "two");
  const third = await rawUpgrade(server);
  assert.equal(third.status, 429);
  assert.match(third.head, /too_many_connections/);
  third.conn.close();
  await web.close();
  tcp.close();
  await server.shutdown();
});

Deno.test("a banned address is refused at /ws with 403", async () => {
  const server = webServer();
  const prefix = addressBlock("127.0.0.1");
  assert.ok(prefix !== null);
  server.hub.moderation.bans.add({ kind: "address", prefix }, 0, "test", "op", server.hub.now());
  const refused = await rawUpgrade(server);
  assert.equal(refused.status, 403);
  assert.match(refused.head, /banned/);
  refused.conn.close();
  await server.shutdown();
});

Deno.test("a message over --max-frame is refused as on TCP: frame_too_large, then close", async () => {
  const server = webServer({ maxFrame: 1024 });
  const web = await WsClient.login(server, "big");
  web.socket.send(JSON.stringify({ type: "msg", room: "#lobby", text: "x".repeat(2000) }));
  const error = await web.expect("error");
  assert.equal(error.code, "frame_too_large");
  assert.equal(error.fatal, true);
  await web.expectClose();
  assert.equal(server.hub.user("big"), undefined);
  await server.shutdown();
});

Deno.test("a binary message is refused with a clear error and the WebSocket is closed (1003)", async () => {
  const server = webServer();
  const web = await WsClient.login(server, "bin");
  web.socket.send(new TextEncoder().encode('{"type":"msg","text":"hi"}'));
  const error = await web.expect("error");
  assert.equal(error.code, "bad_frame");
  assert.match(error.message, /[Bb]inary/);
  assert.equal(await web.expectClose(), 1003);
  await server.shutdown();
});

Deno.test("a WebSocket client that stops reading is dropped too_slow while another goes on", async () => {
  const server = webServer({ maxQueueBytes: 64 * 1024, flood: null });
  const sender = await JsonClient.login(server, "sender");
  const reader = await WsClient.login(server, "reader");
  // The sloth upgrades and logs in by hand, then never reads again.
  const sloth = await rawUpgrade(server);
  assert.equal(sloth.status, 101);
  await sloth.conn.write(maskedTextFrame(JSON.stringify({ type: "hello", v: 1, nick: "sloth" })));
  await sender.expect("join");
  await sender.expect("join");
  const pad = "p".repeat(2000);
  const WINDOW = 200;
  const LIMIT = 20_000;
  let sent = 0;
  let sawLeave = false;
  let expected = 0;
  while (!sawLeave && sent < LIMIT) {
    let batch = "";
    for (let i = 0; i < WINDOW; i++) {
      batch += JSON.stringify({ type: "msg", text: `${sent++} ${pad}` }) + "\n";
    }
    await sender.write(batch);
    for (let i = 0; i < WINDOW; i++) await sender.expect("ack", 30_000);
    // The reader keeps up, in order.
    while (expected < sent) {
      const frame = await reader.next("messages", 30_000);
      if (frame === null) throw new Error("the reader lost its connection");
      if (frame.type === "leave" && frame.nick === "sloth") {
        assert.equal(frame.reason, "too_slow");
        sawLeave = true;
      }
      if (frame.type !== "msg") continue;
      assert.equal(frame.text, `${expected} ${pad}`, "in order, none missing");
      expected++;
    }
  }
  assert.ok(sawLeave, `the sloth was dropped within ${sent} messages`);
  assert.equal(server.hub.user("sloth"), undefined);
  sloth.conn.close();
  await reader.close();
  sender.close();
  await server.shutdown();
});

Deno.test("shutdown says bye over the WebSocket, then closes it", async () => {
  const server = webServer();
  const web = await WsClient.login(server, "leaver");
  const stopped = server.shutdown();
  const bye = await web.expect("bye");
  assert.equal(bye.reason, "shutdown");
  await web.expectClose();
  await within(stopped, "the server to stop");
  // The port is free again at once.
  const again = Deno.listen({ hostname: "127.0.0.1", port: webAddr(server).port });
  again.close();
});

/** The first frame answering a WebSocket hello: the welcome or an error. */
async function webAnswer(server: ReturnType<typeof webServer>, frame: Record<string, unknown>) {
  const client = await WsClient.open(server);
  client.send({ type: "hello", v: 1, ...frame });
  const answer = await client.next("the answer to hello");
  assert.ok(answer !== null, "closed without answering the hello");
  return { client, answer };
}

function asError(frame: ServerFrame): ErrorFrame {
  assert.equal(frame.type, "error", JSON.stringify(frame));
  return frame as ErrorFrame;
}

Deno.test("a nick registered to a password account: over the web, refused without its password (need), accepted with it, refused with a wrong one", async () => {
  const server = webServer();
  try {
    await registerPassword(server, "dana", "correct-horse");
    const bare = await webAnswer(server, { nick: "dana" });
    const refused = asError(bare.answer);
    assert.equal(refused.code, "nick_registered");
    assert.equal(refused.need, "password");
    await bare.client.close();
    // Lookalikes are the same nick on the web as on TCP.
    const lookalike = await webAnswer(server, { nick: "DANA" });
    assert.equal(asError(lookalike.answer).code, "nick_registered");
    await lookalike.client.close();

    const owner = await webAnswer(server, { nick: "dana", accountPassword: "correct-horse" });
    assert.equal(owner.answer.type, "welcome");
    assert.deepEqual(owner.answer.type === "welcome" && owner.answer.account, {
      kind: "password",
    });
    await owner.client.close();

    const wrong = await webAnswer(server, { nick: "dana", accountPassword: "wrong-horse" });
    assert.equal(asError(wrong.answer).code, "bad_account_password");
    await wrong.client.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("wrong account passwords count per address across TCP and the web: the lockout that TCP earned holds on /ws", async () => {
  const server = webServer();
  try {
    await registerPassword(server, "erin", "correct-horse");
    // All but the last guess over TCP...
    for (let i = 1; i < MAX_AUTH_FAILURES; i++) {
      const tcp = await hello(server.addr.port, { nick: "erin", accountPassword: `wrong-${i}` });
      const error = asError(await tcp.expect("error"));
      assert.equal(error.code, "bad_account_password");
      assert.notEqual(error.fatal, true, `TCP guess ${i}`);
      tcp.close();
    }
    // ...the last over the web locks the address out...
    const last = await webAnswer(server, { nick: "erin", accountPassword: "wrong-last" });
    const lockedOut = asError(last.answer);
    assert.equal(lockedOut.code, "bad_account_password");
    assert.equal(lockedOut.fatal, true);
    await last.client.expectClose();
    // ...and then even the right password is refused, on both.
    const web = await webAnswer(server, { nick: "erin", accountPassword: "correct-horse" });
    assert.match(asError(web.answer).message, /Too many wrong account passwords/);
    await web.client.expectClose();
    const tcp = await hello(server.addr.port, { nick: "erin", accountPassword: "correct-horse" });
    assert.match((await tcp.expect("error")).message, /Too many wrong account passwords/);
    tcp.close();
  } finally {
    await server.shutdown();
  }
});

/** The policy every response carries: nothing in it comes from the request. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

Deno.test("the Content-Security-Policy is the same whatever the Host header says: a Host cannot add directives; no HSTS over http", async () => {
  const server = webServer();
  const { hostname, port } = webAddr(server);
  try {
    for (const host of [`${hostname}:${port}`, "chat;report-uri", "chat;script-src"]) {
      for (const path of ["/", "/ws"]) {
        const conn = await Deno.connect({ hostname, port });
        try {
          await conn.write(
            new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
          );
          let head = "";
          const chunk = new Uint8Array(4096);
          await within(
            (async () => {
              while (!head.includes("\r\n\r\n")) {
                const n = await conn.read(chunk);
                if (n === null) break;
                head += new TextDecoder().decode(chunk.subarray(0, n));
              }
            })(),
            "the answer's head",
          );
          const csp = /^content-security-policy: (.*)$/im.exec(head)?.[1]?.trim();
          assert.equal(csp, CSP, `${path} with Host: ${host}`);
          assert.doesNotMatch(head, /strict-transport-security/i, "not over plain http");
        } finally {
          conn.close();
        }
      }
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("a WebSocket that sends more than WEB_INBOUND_FRAMES frames' worth while its peer is not reading is closed (1008), and the peer ends", async () => {
  const server = webServer({ maxFrame: 1024, maxLoginsPerMinute: 0 });
  try {
    // A login that waits for scrypt is a time when the peer reads nothing more.
    await registerPassword(server, "gale", "correct-horse");
    const up = await rawUpgrade(server);
    assert.equal(up.status, 101);
    const hello = { type: "hello", v: 1, nick: "gale", accountPassword: "correct-horse" };
    const parts = [maskedTextFrame(JSON.stringify(hello))];
    const filler = JSON.stringify({ type: "msg", room: "#lobby", text: "f".repeat(980) });
    // Twice the unread cap's worth, in one write right behind the hello.
    for (let i = 0; i < 2 * WEB_INBOUND_FRAMES; i++) parts.push(maskedTextFrame(filler));
    const all = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
    }
    await up.conn.write(all);
    // The server closes (1008). Deno then closes its socket with the rest of the input unread,
    // which resets it, so the close frame itself may not arrive: what must not come is the
    // welcome the login would have given, or an ack of any of the messages.
    let got = "";
    const chunk = new Uint8Array(4096);
    await within(
      (async () => {
        while (true) {
          let n: number | null;
          try {
            n = await up.conn.read(chunk);
          } catch (error) {
            if (error instanceof Deno.errors.ConnectionReset) return;
            throw error;
          }
          if (n === null) return;
          got += new TextDecoder().decode(chunk.subarray(0, n));
        }
      })(),
      "the server to close the WebSocket",
    );
    up.conn.close();
    assert.doesNotMatch(got, /"welcome"|"ack"/, got.slice(0, 200));
    if (got.includes("\x88")) assert.match(got, /too much unread input/);
    await within(
      (async () => {
        while (server.hub.user("gale") !== undefined) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
      "the peer to end",
    );
  } finally {
    await server.shutdown();
  }
});

/** One top-level function of the served app.js, by name, as its source text. */
function pageFunction(name: string): string {
  const asset = WEB_ASSETS.get("/app.js");
  assert.ok(asset !== undefined);
  const script = new TextDecoder().decode(asset.body);
  const start = script.indexOf(`\n  function ${name}(`);
  assert.ok(start !== -1, `app.js has function ${name}`);
  const end = script.indexOf("\n  }\n", start);
  return script.slice(start, end + 4);
}

/** Just enough of an element for richText and trimLines. */
class StubElement {
  children: (StubElement | string)[] = [];
  dataset: Record<string, string> = {};
  className = "";
  href = "";
  rel = "";
  target = "";
  textContent = "";
  parent: StubElement | null = null;
  append(...items: (StubElement | string)[]) {
    for (const item of items) {
      if (item instanceof StubElement) item.parent = this;
      this.children.push(item);
    }
  }
  remove() {
    const siblings = this.parent?.children ?? [];
    siblings.splice(siblings.indexOf(this), 1);
  }
  get childElementCount(): number {
    return this.children.length;
  }
  get firstElementChild(): StubElement | null {
    const first = this.children[0];
    return first instanceof StubElement ? first : null;
  }
}

Deno.test("app.js: trailing punctuation is cut from a link in linear time (60,000 dots: was seconds outside Chromium)", () => {
  const document = { createElement: () => new StubElement() };
  const richText = new Function(
    "document",
    "TRAILING_PUNCTUATION",
    `${pageFunction("richText")}\nreturn richText;`,
  )(document, ".,;:!?)]}'\"") as (text: string) => StubElement;
  const started = performance.now();
  const long = richText(`see http://a/${".".repeat(60_000)}x`);
  const took = performance.now() - started;
  assert.ok(took < 500, `took ${Math.round(took)} ms`);
  assert.equal((long.children[1] as StubElement).href, `http://a/${".".repeat(60_000)}x`);
  const span = richText('look: (http://example.org/a_(b)?q=1"), then "https://x.example/."!');
  const links = span.children.filter((child) => child instanceof StubElement) as StubElement[];
  assert.deepEqual(links.map((link) => link.textContent), [
    "http://example.org/a_(b)?q=1",
    "https://x.example/",
  ]);
  assert.deepEqual(span.children.filter((child) => typeof child === "string"), [
    "look: (",
    '"), then "',
    '."!',
  ]);
});

Deno.test("app.js: lines dropped past MAX_LINES take their ids with them (a long-lived tab's set of ids stays bounded)", () => {
  const trimLines = new Function(
    "MAX_LINES",
    "HTMLElement",
    `${pageFunction("trimLines")}\nreturn trimLines;`,
  )(3, StubElement) as (conv: unknown) => void;
  const list = new StubElement();
  const conv = { list, ids: new Set<number>(), more: false };
  for (let id = 1; id <= 5; id++) {
    const line = new StubElement();
    line.dataset.id = String(id);
    list.append(line);
    conv.ids.add(id);
  }
  const separator = new StubElement();
  list.children.unshift(separator);
  separator.parent = list;
  trimLines(conv);
  assert.equal(list.childElementCount, 3);
  assert.deepEqual([...conv.ids], [3, 4, 5]);
  assert.equal(conv.more, true);
});
