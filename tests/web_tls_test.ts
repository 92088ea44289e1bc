/**
 * The web port with `--tls-cert`/`--tls-key` (issue 14): the same port serves https and wss.
 * A test PKI signs the server's certificate; Deno trusts its CA per client, and Chromium is told
 * to accept it (`ignoreHTTPSErrors`), so the page really runs on an `https://` origin and its
 * WebSocket is wss. A plain-http request to the TLS port fails cleanly and costs nothing.
 */

import assert from "node:assert/strict";
import {
  WEB_CONNECTION_BURST,
  WEB_HSTS_MAX_AGE_SECONDS,
  WEB_PAGE_REQUEST_BURST,
} from "../config/web_limits.ts";
import { createSockchatMetrics } from "../metrics/sockchat_metrics.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { ChatServer } from "../server.ts";
import { makeTestPki, type TestPki } from "./helpers/certs.ts";
import { maskedTextFrame, webAddr } from "./helpers/web.ts";
import { JsonClient, testServer, WAIT_MS, within } from "./helpers/wire.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server whose native and web ports both speak TLS with `pki`'s leaf certificate. */
function tlsServer(pki: TestPki): ChatServer {
  return testServer({
    tls: { cert: pki.leaf.cert, key: pki.leaf.key },
    web: { host: "127.0.0.1", port: 0, origins: [] },
  });
}

/** Runs `body` with a fresh PKI and a TLS server, and always cleans both up. */
async function withTlsServer(
  body: (server: ChatServer, pki: TestPki, base: string) => Promise<void>,
): Promise<void> {
  const pki = await makeTestPki();
  try {
    const server = tlsServer(pki);
    try {
      await body(server, pki, `https://127.0.0.1:${webAddr(server).port}`);
    } finally {
      await server.shutdown();
    }
  } finally {
    await pki.remove();
  }
}

/** An NDJSON client on the native TLS port, trusting the test CA. */
async function tlsLogin(server: ChatServer, pki: TestPki, nick: string): Promise<JsonClient> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.addr.port,
    caCerts: [pki.ca.cert],
  });
  const client = new JsonClient(conn);
  await client.send({ type: "hello", v: 1, nick });
  await client.expect("welcome");
  return client;
}

/** A wss connection made by hand over `Deno.connectTls`: the upgrade's status, then frames. */
class RawWss {
  readonly conn: Deno.TlsConn;
  readonly status: number;
  #buffer: Uint8Array<ArrayBuffer>;

  private constructor(conn: Deno.TlsConn, status: number, rest: Uint8Array<ArrayBuffer>) {
    this.conn = conn;
    this.status = status;
    this.#buffer = rest;
  }

  /** Upgrades `/ws` with `origin`, trusting the test CA. */
  static async open(port: number, pki: TestPki, origin: string): Promise<RawWss> {
    const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [pki.ca.cert] });
    const request = [
      "GET /ws HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      `Origin: ${origin}`,
    ].join("\r\n") + "\r\n\r\n";
    await conn.write(encoder.encode(request));
    let bytes = new Uint8Array(0);
    const end = await within(
      (async () => {
        while (true) {
          const at = findHeadEnd(bytes);
          if (at !== -1) return at;
          const chunk = new Uint8Array(4096);
          const n = await conn.read(chunk);
          if (n === null) throw new Error("closed before the upgrade's answer");
          bytes = concat(bytes, chunk.subarray(0, n));
        }
      })(),
      "the upgrade's answer",
    );
    const head = decoder.decode(bytes.subarray(0, end));
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? "0");
    return new RawWss(conn, status, bytes.subarray(end + 4));
  }

  /** Sends one frame as one masked text message. */
  async send(frame: unknown): Promise<void> {
    await this.conn.write(maskedTextFrame(JSON.stringify(frame)));
  }

  /** The next text message from the server, as a frame (the server never masks). */
  async next(what = "a frame"): Promise<ServerFrame> {
    return await within(
      (async () => {
        while (true) {
          const message = this.#take();
          if (message !== null) return JSON.parse(message) as ServerFrame;
          const chunk = new Uint8Array(16384);
          const n = await this.conn.read(chunk);
          if (n === null) throw new Error(`closed while waiting for ${what}`);
          this.#buffer = concat(this.#buffer, chunk.subarray(0, n));
        }
      })(),
      what,
    );
  }

  /** One whole text message from the buffer, or null if it has not all arrived. */
  #take(): string | null {
    const b = this.#buffer;
    if (b.length < 2) return null;
    assert.equal(b[0], 0x81, "one unfragmented text message");
    assert.equal(b[1] & 0x80, 0, "server frames are not masked");
    let length = b[1] & 0x7f;
    let start = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = (b[2] << 8) | b[3];
      start = 4;
    } else if (length === 127) {
      throw new Error("a message longer than 64 KiB");
    }
    if (b.length < start + length) return null;
    this.#buffer = b.subarray(start + length);
    return decoder.decode(b.subarray(start, start + length));
  }

  close(): void {
    this.conn.close();
  }
}

function findHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

Deno.test("web TLS: the page is served over https to a client that trusts the CA, with the security headers and Strict-Transport-Security", async () => {
  await withTlsServer(async (_server, pki, base) => {
    const client = Deno.createHttpClient({ caCerts: [pki.ca.cert] });
    try {
      const page = await fetch(`${base}/`, { client });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /role="log"/);
      const csp = page.headers.get("content-security-policy") ?? "";
      assert.match(csp, /connect-src 'self';/);
      assert.equal(page.headers.get("x-content-type-options"), "nosniff");
      // Over https the browser is told to come back only over https (security review, 7).
      assert.equal(
        page.headers.get("strict-transport-security"),
        `max-age=${WEB_HSTS_MAX_AGE_SECONDS}`,
      );
      const script = await fetch(`${base}/app.js`, { client });
      assert.equal(script.status, 200);
      assert.match(await script.text(), /wss:/);
    } finally {
      client.close();
    }
  });
});

Deno.test("web TLS: plain http to the TLS web port gets a TLS alert and a close, reaches no handler, and https goes on", async () => {
  await withTlsServer(async (server, pki, base) => {
    const { port } = webAddr(server);
    // Nearly as many attempts as the page budget holds (and fewer than the new connections an
    // address may open at once): had they reached the handler, the third https request below
    // would be refused 429.
    const attempts = Math.min(WEB_PAGE_REQUEST_BURST, WEB_CONNECTION_BURST) - 2;
    const answers = await Promise.all(Array.from({ length: attempts }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(encoder.encode(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
        let got = new Uint8Array(0);
        await within(
          (async () => {
            const chunk = new Uint8Array(1024);
            while (true) {
              let n: number | null;
              try {
                n = await conn.read(chunk);
              } catch (error) {
                if (error instanceof Deno.errors.ConnectionReset) return;
                throw error;
              }
              if (n === null) return;
              got = concat(got, chunk.subarray(0, n));
            }
          })(),
          "the TLS port to close a plain-http connection",
        );
        return got;
      } finally {
        conn.close();
      }
    }));
    for (const got of answers) {
      // Nothing that looks like HTTP: at most a TLS alert record (content type 21), then EOF.
      assert.ok(got.length === 0 || got[0] === 0x15, `got ${decoder.decode(got).slice(0, 40)}`);
      assert.doesNotMatch(decoder.decode(got), /HTTP\//);
    }
    const client = Deno.createHttpClient({ caCerts: [pki.ca.cert] });
    try {
      // One kept-alive connection: one more new connection, three page requests.
      for (let i = 0; i < 3; i++) {
        const page = await fetch(`${base}/`, { client });
        assert.equal(page.status, 200, "still serving, and nothing was charged");
        await page.body?.cancel();
      }
    } finally {
      client.close();
    }
    assert.equal(server.connections.size, 0, "no peer was made for any of them");
  });
});

Deno.test("web TLS: a connection that never starts the TLS handshake is closed at the TLS deadline, counted, and costs no slot after", async () => {
  const pki = await makeTestPki();
  const metrics = createSockchatMetrics();
  // --handshake-timeout bounds the TLS deadline too (as on the native port): 300 ms here.
  const server = testServer({
    tls: { cert: pki.leaf.cert, key: pki.leaf.key },
    web: { host: "127.0.0.1", port: 0, origins: [] },
    handshakeTimeoutMs: 300,
    maxConnsPerIp: 2,
    metrics,
  });
  try {
    const { port } = webAddr(server);
    const silent = [
      await Deno.connect({ hostname: "127.0.0.1", port }),
      await Deno.connect({ hostname: "127.0.0.1", port }),
    ];
    const started = performance.now();
    try {
      for (const conn of silent) {
        const n = await within(
          conn.read(new Uint8Array(64)).catch((error) => {
            if (error instanceof Deno.errors.ConnectionReset) return null;
            throw error;
          }),
          "the server to close a silent TLS connection",
        );
        assert.equal(n, null, "closed without a byte");
      }
    } finally {
      for (const conn of silent) conn.close();
    }
    assert.ok(performance.now() - started >= 250, "not before the deadline");
    assert.equal(metrics.rejectedConnections.value("tls_handshake"), 2);
    // Their slots of --max-conns-per-ip (2) were given back: https works from the address.
    const client = Deno.createHttpClient({ caCerts: [pki.ca.cert] });
    try {
      const page = await fetch(`https://127.0.0.1:${port}/`, { client });
      assert.equal(page.status, 200);
      await page.body?.cancel();
    } finally {
      client.close();
    }
  } finally {
    await server.shutdown();
    await pki.remove();
  }
});

Deno.test("web TLS: wss with the page's https origin chats with an NDJSON client on the TLS port; the http origin of the same host is refused", async () => {
  await withTlsServer(async (server, pki, base) => {
    const { port } = webAddr(server);
    const wrongScheme = await RawWss.open(port, pki, `http://127.0.0.1:${port}`);
    wrongScheme.close();
    assert.equal(wrongScheme.status, 403, "the origin's scheme is part of the check");

    const tcp = await tlsLogin(server, pki, "tcpy");
    const wss = await RawWss.open(port, pki, base);
    try {
      assert.equal(wss.status, 101);
      await wss.send({ type: "hello", v: 1, nick: "secure" });
      let frame = await wss.next("the welcome");
      assert.equal(frame.type, "welcome");
      assert.equal((await tcp.expect("join")).nick, "secure");
      await tcp.send({ type: "msg", room: "#lobby", text: "hello over tls" });
      do frame = await wss.next("the message"); while (frame.type !== "msg");
      assert.equal(frame.text, "hello over tls");
      await wss.send({ type: "msg", room: "#lobby", text: "hello over wss" });
      const got = await tcp.expect("msg");
      assert.equal(got.from, "secure");
      assert.equal(got.text, "hello over wss");
    } finally {
      wss.close();
      tcp.close();
    }
  });
});

Deno.test("web TLS: Chromium opens the page on https, its WebSocket is wss, and it chats with an NDJSON client", async () => {
  await withTlsServer(async (server, pki, base) => {
    const tcp = await tlsLogin(server, pki, "carol");
    try {
      // Loaded here, not at the top: Playwright needs --allow-sys, and without it only this
      // test should fail, not the whole file.
      const { withBrowser } = await import("./helpers/browser.ts");
      await withBrowser(async (browser) => {
        // The test CA is not in Chromium's store: accept the certificate for this context only.
        const context = await browser.newContext({ ignoreHTTPSErrors: true });
        context.setDefaultTimeout(WAIT_MS);
        const page = await context.newPage();
        await page.goto(`${base}/`);
        assert.equal(await page.evaluate("location.origin"), base);
        const opened = page.waitForEvent("websocket");
        const field = page.getByLabel("Nickname", { exact: true });
        await field.fill("alice");
        await field.press("Enter");
        const socket = await opened;
        assert.equal(socket.url(), `${base.replace("https:", "wss:")}/ws`);
        // A locator, not waitForFunction: the page's CSP forbids the eval a polled predicate needs.
        await page.getByLabel("message", { exact: true }).and(page.locator(":focus")).waitFor();
        assert.equal((await tcp.expect("join")).nick, "alice");
        await tcp.send({ type: "msg", room: "#lobby", text: "hi from the terminal" });
        await page.getByRole("log").getByText("hi from the terminal").first().waitFor();
        const box = page.getByLabel("message", { exact: true });
        await box.fill("hello from https");
        await box.press("Enter");
        const seen = await tcp.expect("msg");
        assert.equal(seen.from, "alice");
        assert.equal(seen.text, "hello from https");
        await context.close();
      });
    } finally {
      tcp.close();
    }
  });
});
