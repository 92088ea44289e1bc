/**
 * The web port against hostile clients (issue 14): a banned address is refused on every path,
 * page requests are charged to a budget per address (429 with Retry-After past it) whose table
 * stays bounded, and connections that `Deno.serve` keeps open without a request (idle, a
 * half-sent head, a slowloris drip) do not stop the port from serving everyone else.
 */

import assert from "node:assert/strict";
import {
  WEB_CONNECTION_BURST,
  WEB_CONNECTIONS_PER_SECOND,
  WEB_PAGE_REQUEST_BURST,
  WEB_PAGE_REQUESTS_PER_SECOND,
  WEB_PAGE_TRACKED_ADDRESSES,
} from "../config/web_limits.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { ServerOptions } from "../server.ts";
import { createLogger } from "../log/logger.ts";
import { createSockchatMetrics } from "../metrics/sockchat_metrics.ts";
import { addressBlock } from "../core/moderation.ts";
import { PageGate } from "../transport/ws/page_gate.ts";
import { secret } from "./helpers/core.ts";
import { rawUpgrade, webAddr, WsClient } from "./helpers/web.ts";
import { denoArgs } from "./helpers/cli.ts";
import { command, JsonClient, testServer, within } from "./helpers/wire.ts";

const WEB = { host: "127.0.0.1", port: 0, origins: [] };
const encoder = new TextEncoder();

function webServer(options: ServerOptions = {}) {
  return testServer({ web: WEB, ...options });
}

function text(frame: ServerFrame): string {
  return frame.type === "info" ? frame.text : JSON.stringify(frame);
}

/** GETs `path` and returns the status, a header and the body. */
async function get(
  base: string,
  path: string,
  header = "retry-after",
): Promise<{ status: number; header: string | null; body: string }> {
  const response = await fetch(`${base}${path}`);
  return {
    status: response.status,
    header: response.headers.get(header),
    body: await response.text(),
  };
}

Deno.test("web abuse: an address banned by an operator gets 403 on every path; /ws refuses it with TCP's error frame; /unban lets it back", async () => {
  const server = webServer({ operSecret: secret("s") });
  const { hostname, port } = webAddr(server);
  const base = `http://${hostname}:${port}`;
  const op = await JsonClient.login(server, "op");
  try {
    assert.equal((await command(op, "/oper s")).type, "info");
    const web = await WsClient.login(server, "webby");
    assert.match(text(await command(op, "/ban addr:127.0.0.1 1h")), /Banned address 127\.0\.0\.1/);
    // The WebSocket already in is removed, as a TCP client would be.
    assert.equal((await web.expect("bye")).reason, "banned");
    await web.expectClose();

    for (const path of ["/", "/app.js", "/style.css", "/favicon.ico", "/no/such/page"]) {
      const page = await get(base, path);
      assert.equal(page.status, 403, path);
      assert.match(page.body, /banned/, path);
    }
    const post = await fetch(`${base}/`, { method: "POST", body: "x" });
    assert.equal(post.status, 403, "any method");
    await post.body?.cancel();

    // The same error frame a TCP connection gets at the door.
    const tcp = new JsonClient(await Deno.connect({ hostname, port: server.addr.port }));
    const tcpError = await tcp.next("the door's refusal");
    tcp.close();
    assert.equal(tcpError?.type, "error");
    const upgrade = await rawUpgrade(server, base);
    upgrade.conn.close();
    assert.equal(upgrade.status, 403);
    // The sentence first (what a browser shows), then the frame, as a line of its own.
    const body = upgrade.head.slice(upgrade.head.indexOf("\r\n\r\n") + 4).trim().split("\n");
    assert.equal(body[0], tcpError?.type === "error" ? tcpError.message : "");
    assert.deepEqual(JSON.parse(body[body.length - 1]), tcpError);
    // A ban is said first, whatever else is wrong with the request.
    const plain = await get(base, "/ws");
    assert.equal(plain.status, 403, "GET /ws without an upgrade");
    const wrongOrigin = await rawUpgrade(server, "http://evil.example");
    wrongOrigin.conn.close();
    assert.equal(wrongOrigin.status, 403);
    assert.match(wrongOrigin.head, /"code":"banned"/);

    assert.match(text(await command(op, "/unban addr:127.0.0.1")), /127\.0\.0\.1/);
    assert.equal((await get(base, "/")).status, 200, "lifted at once");
    const back = await WsClient.login(server, "webby");
    await back.close();
  } finally {
    op.close();
    await server.shutdown();
  }
});

Deno.test("web abuse: page requests past the per-address burst get 429 with Retry-After; /ws is not charged; the budget refills", async () => {
  const server = webServer();
  const { hostname, port } = webAddr(server);
  const base = `http://${hostname}:${port}`;
  try {
    const paths = ["/", "/app.js", "/style.css", "/favicon.ico", "/missing"];
    const started = performance.now();
    for (let i = 0; i < WEB_PAGE_REQUEST_BURST; i++) {
      const path = paths[i % paths.length];
      const page = await get(base, path);
      assert.notEqual(page.status, 429, `request ${i + 1} of the burst (${path})`);
    }
    // The budget refills while the burst is spent (4 a second): on a busy machine a request or
    // two more may pass, as many as the time taken earned, and no more.
    let refused = await get(base, "/app.js");
    let extra = 0;
    while (refused.status !== 429 && extra < 16) {
      extra++;
      refused = await get(base, "/app.js");
    }
    const earned = ((performance.now() - started) / 1000) * WEB_PAGE_REQUESTS_PER_SECOND;
    assert.ok(extra <= Math.ceil(earned), `${extra} more served; ${earned.toFixed(1)} earned`);
    assert.equal(refused.status, 429);
    const wait = Number(refused.header);
    assert.ok(Number.isInteger(wait) && wait >= 1, `Retry-After: ${refused.header}`);
    assert.ok(wait <= Math.ceil(1 / WEB_PAGE_REQUESTS_PER_SECOND), "one request's worth");
    assert.match(refused.body, /Too many requests/);
    const head = await fetch(`${base}/`, { method: "HEAD" });
    assert.equal(head.status, 429, "every method is charged");
    await head.body?.cancel();

    // The chat itself is the door's business, not the page budget's.
    const web = await WsClient.login(server, "stillhere");
    await web.close();

    // The budget refills with time (there is no event for that: poll, bounded).
    await within(
      (async () => {
        while ((await get(base, "/")).status === 429) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
      "the page budget to refill",
      (wait + 2) * 1000,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("web abuse: the page budget's table of addresses stays bounded, and a busy address keeps its debt", () => {
  let now = 0;
  const gate = new PageGate({ burst: 2, perSecond: 1, maxAddresses: 100, now: () => now });
  assert.deepEqual(gate.admit("198.51.100.1"), { ok: true });
  assert.deepEqual(gate.admit("198.51.100.1"), { ok: true });
  assert.deepEqual(gate.admit("198.51.100.1"), { ok: false, retryAfterSeconds: 1 });
  // A spray from many addresses: the busy one keeps asking, so it is never the one forgotten.
  for (let i = 0; i < 1000; i++) {
    gate.admit(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(gate.admit("198.51.100.1").ok, false, `still in debt after ${i} others`);
    assert.ok(gate.addresses <= 100);
  }
  // IPv6 by /64: a host cannot dodge its budget by changing the low bits.
  assert.equal(gate.admit("2001:db8:1:2::1").ok, true);
  assert.equal(gate.admit("2001:db8:1:2::ffff").ok, true);
  assert.equal(gate.admit("2001:db8:1:2:abcd::9").ok, false);
  now += 1000;
  assert.equal(gate.admit("2001:db8:1:2::1").ok, true, "refilled");
  // The defaults: bounded as documented.
  const real = new PageGate();
  for (let i = 0; i < WEB_PAGE_TRACKED_ADDRESSES + 500; i++) {
    real.admit(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  }
  assert.equal(real.addresses, WEB_PAGE_TRACKED_ADDRESSES);
});

/**
 * This process's open descriptors. Listed by `ls`: reading `/proc/self/fd` directly needs
 * `--allow-all`, which `deno task test` does not grant.
 */
async function descriptors(): Promise<number> {
  const out = await new Deno.Command("ls", { args: [`/proc/${Deno.pid}/fd`], stdout: "piped" })
    .output();
  // ls's own descriptors are its, not ours: /proc/PID/fd lists this process's.
  return new TextDecoder().decode(out.stdout).split("\n").filter((line) => line !== "").length;
}

/** Sends `head` by hand and returns the response's status line and body. */
async function rawRequest(port: number, head: string): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(head));
    let got = "";
    const chunk = new Uint8Array(4096);
    await within(
      (async () => {
        // The head, then as many body bytes as it says.
        while (true) {
          const end = got.indexOf("\r\n\r\n");
          const length = Number(/content-length: (\d+)/i.exec(got)?.[1] ?? "0");
          if (end !== -1 && got.length >= end + 4 + length) return;
          const n = await conn.read(chunk);
          if (n === null) return;
          got += new TextDecoder().decode(chunk.subarray(0, n));
        }
      })(),
      "the answer",
    );
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? "0");
    return { status, body: got.slice(got.indexOf("\r\n\r\n") + 4) };
  } finally {
    conn.close();
  }
}

Deno.test("web abuse: a Host header that is no host name gets 400, not a logged server error, and is charged like any page", async () => {
  const logged: string[] = [];
  const logger = createLogger({ format: "json", write: (line) => logged.push(line) });
  const server = webServer({ logger });
  const { port } = webAddr(server);
  try {
    for (const host of ["a b", "evil.example; script-src *", "a<b"]) {
      for (const path of ["/", "/ws"]) {
        const answer = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        assert.equal(answer.status, 400, `${path} with Host: ${host}`);
        assert.match(answer.body, /Host header/);
      }
    }
    assert.deepEqual(logged.filter((line) => line.includes('"level":"error"')), []);
    // Charged: past the burst they are refused 429 like any other page request.
    let status = 0;
    for (let i = 0; i < WEB_PAGE_REQUEST_BURST && status !== 429; i++) {
      status = (await rawRequest(port, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n")).status;
    }
    assert.equal(status, 429);
  } finally {
    await server.shutdown();
  }
});

Deno.test("web abuse: on a dual-stack web port (::) an IPv4 ban holds for the same host seen as ::ffff:IPv4", async () => {
  const server = testServer({ web: { host: "::", port: 0, origins: [] } });
  const { port } = webAddr(server);
  const base = `http://127.0.0.1:${port}`;
  try {
    const prefix = addressBlock("127.0.0.1");
    assert.ok(prefix !== null);
    server.hub.moderation.bans.add({ kind: "address", prefix }, 0, "test", "op", server.hub.now());
    assert.equal((await get(base, "/")).status, 403);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(
      [
        "GET /ws HTTP/1.1",
        `Host: 127.0.0.1:${port}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
      ].join("\r\n") + "\r\n\r\n",
    ));
    const chunk = new Uint8Array(4096);
    const n = await within(conn.read(chunk), "the refusal");
    conn.close();
    const head = new TextDecoder().decode(chunk.subarray(0, n ?? 0));
    assert.match(head, /^HTTP\/1\.1 403/);
    assert.match(head, /"code":"banned"/);
  } finally {
    await server.shutdown();
  }
});

/** Reads `conn` until EOF (or a reset) and returns what came, within `ms`. */
async function readToEnd(conn: Deno.Conn, what: string, ms?: number): Promise<string> {
  let got = "";
  const chunk = new Uint8Array(4096);
  await within(
    (async () => {
      while (true) {
        let n: number | null;
        try {
          n = await conn.read(chunk);
        } catch (error) {
          if (error instanceof Deno.errors.ConnectionReset) return;
          throw error;
        }
        if (n === null) return;
        got += new TextDecoder().decode(chunk.subarray(0, n));
      }
    })(),
    what,
    ms,
  );
  return got;
}

Deno.test("web abuse: an address holding --max-conns-per-ip idle connections to the web port is refused more (429, closed at once, TCP too), while another address gets the page, chats, and is seen as itself", async () => {
  // A dual-stack port: 127.0.0.1 and ::1 are two addresses. The front pipes both from
  // 127.0.0.1, so the chat seeing ::1 shows the real address was passed through.
  const server = testServer({
    maxConnsPerIp: 4,
    maxLoginsPerMinute: 0,
    web: { host: "::", port: 0, origins: [] },
  });
  const { port } = webAddr(server);
  const held: Deno.Conn[] = [];
  const before = await descriptors();
  let ws: WebSocket[] = [];
  try {
    // Idle, half-sent head, slowloris: each holds one of the address's slots.
    for (let i = 0; i < 4; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await held[1].write(encoder.encode(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`));
    await held[2].write(encoder.encode(`GET / HTTP/1.1\r\nX-Pad: ${"a".repeat(2000)}`));
    await held[2].write(encoder.encode(`\r\nX-1: y`));
    // Each further connection from the address gets 429 and is closed at once, whatever it
    // sends: nothing of it waits for a deadline.
    for (let i = 0; i < 20; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(encoder.encode(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
        const answer = await readToEnd(conn, "the refusal and the close", 2_000);
        assert.match(answer, /^HTTP\/1\.1 429 /);
        // A browser shows the body as it is: the sentence comes first, the frame after it.
        assert.match(answer, /\r\n\r\nToo many connections from your address[^\n]*\n\n\{/);
        assert.match(answer, /"code":"too_many_connections"/);
      } finally {
        conn.close();
      }
    }
    // The refused ones gave their descriptors back: what is left is the four held (each is three
    // here, the client's end, the front's and the private server's, and the pipe's fourth).
    await within(
      (async () => {
        while ((await descriptors()) > before + 4 * 4 + 4) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
      "the refused connections to be closed",
    );
    // The web connections count with the native port's: TCP from the address is refused too.
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const refusal = await readToEnd(tcp, "the native port's refusal");
    tcp.close();
    assert.match(refusal, /"code":"too_many_connections"/);
    // Another address is untouched: the page, and two WebSockets that chat.
    const page = await fetch(`http://[::1]:${port}/`);
    assert.equal(page.status, 200);
    await page.body?.cancel();
    const a = new WebSocket(`ws://[::1]:${port}/ws`);
    const b = new WebSocket(`ws://[::1]:${port}/ws`);
    ws = [a, b];
    const inbox: Record<string, unknown>[] = [];
    const got = (pred: (frame: Record<string, unknown>) => boolean, what: string) =>
      within(
        (async () => {
          while (!inbox.some(pred)) await new Promise((resolve) => setTimeout(resolve, 10));
        })(),
        what,
      );
    b.onmessage = (event) => inbox.push(JSON.parse(String(event.data)));
    await within(
      Promise.all(ws.map((socket) => new Promise((resolve) => (socket.onopen = resolve)))),
      "both WebSockets to open",
    );
    a.send(JSON.stringify({ type: "hello", v: 1, nick: "six" }));
    b.send(JSON.stringify({ type: "hello", v: 1, nick: "sixer" }));
    await got((frame) => frame.type === "welcome", "sixer's welcome");
    await within(
      (async () => {
        while (server.hub.user("six") === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      "six to log in",
    );
    a.send(JSON.stringify({ type: "msg", room: "#lobby", text: "over v6" }));
    await got((frame) => frame.type === "msg" && frame.text === "over v6", "the message");
    assert.equal(server.hub.user("six")?.address, "::1", "the client's address, not the front's");
    // A ban of the front's own address (127.0.0.1) does not touch ::1's WebSockets.
    const prefix = addressBlock("127.0.0.1");
    assert.ok(prefix !== null);
    server.hub.moderation.bans.add({ kind: "address", prefix }, 0, "test", "op", server.hub.now());
    const again = new WebSocket(`ws://[::1]:${port}/ws`);
    ws.push(again);
    await within(new Promise((resolve) => (again.onopen = resolve)), "a WebSocket after the ban");
  } finally {
    for (const socket of ws) socket.close();
    await within(
      Promise.all(
        ws.map((socket) =>
          socket.readyState === WebSocket.CLOSED
            ? undefined
            : new Promise((resolve) => socket.addEventListener("close", resolve))
        ),
      ),
      "the WebSockets to close",
    );
    for (const conn of held) conn.close();
    await server.shutdown();
  }
});

Deno.test("web abuse: idle, half-sent, slowloris and idle keep-alive connections are closed at their deadlines; a WebSocket is not", async () => {
  // --handshake-timeout bounds the web port's deadlines too: 1 s here, short enough for a test
  // and long enough for the WebSocket below to log in on a cold, busy machine.
  const server = webServer({ handshakeTimeoutMs: 1_000, maxLoginsPerMinute: 0 });
  const { hostname, port } = webAddr(server);
  const conns: Deno.Conn[] = [];
  try {
    const web = await WsClient.login(server, "stays");
    const open = async () => {
      const conn = await Deno.connect({ hostname, port });
      conns.push(conn);
      return conn;
    };
    const idle = await open();
    const half = await open();
    await half.write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`));
    const drip = await open();
    await drip.write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`));
    const kept = await open();
    await kept.write(
      encoder.encode(`GET /style.css HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`),
    );
    const started = performance.now();
    // The slowloris drip: a header line every 50 ms, until the server hangs up.
    let dripping = true;
    const dripper = (async () => {
      for (let i = 0; dripping && i < 200; i++) {
        try {
          await drip.write(encoder.encode(`X-${i}: y\r\n`));
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const [idleGot, halfGot, dripGot, keptGot] = await Promise.all(
      [idle, half, drip, kept].map((conn) => readToEnd(conn, "the server to close it")),
    );
    dripping = false;
    await dripper;
    assert.ok(performance.now() - started >= 900, "not before the deadline");
    assert.equal(idleGot, "");
    assert.equal(halfGot, "");
    assert.equal(dripGot, "");
    assert.match(
      keptGot,
      /^HTTP\/1\.1 200 /,
      "the request was answered, then the idle kept-alive connection closed",
    );
    // The WebSocket, past both deadlines, is the peer's to time out: it still chats.
    web.send({ type: "msg", room: "#lobby", text: "still here", ref: "r1" });
    assert.equal((await web.expect("ack")).ref, "r1");
    await web.close();
  } finally {
    for (const conn of conns) conn.close();
    await server.shutdown();
  }
});

Deno.test("web abuse: at --max-conns-per-ip, an idle kept-alive connection of the address gives its slot to a new one; a silent one does not", async () => {
  const server = webServer({ maxConnsPerIp: 2, maxLoginsPerMinute: 0 });
  const { hostname, port } = webAddr(server);
  const conns: Deno.Conn[] = [];
  try {
    const open = async () => {
      const conn = await Deno.connect({ hostname, port });
      conns.push(conn);
      return conn;
    };
    const silent = await open();
    const kept = await open();
    await kept.write(
      encoder.encode(`GET /style.css HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`),
    );
    const chunk = new Uint8Array(64 * 1024);
    const n = await within(kept.read(chunk), "the style sheet");
    assert.match(new TextDecoder().decode(chunk.subarray(0, n ?? 0)), /^HTTP\/1\.1 200 /);
    // A third connection: the kept-alive one is closed for it, and it is served.
    const page = await rawRequest(port, `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
    assert.equal(page.status, 200);
    assert.match(
      await readToEnd(kept, "the kept-alive connection to be closed"),
      /^(HTTP\/1\.1 200 [^]*)?$/,
    );
    // The silent one still holds its slot (only its head deadline frees it): with the third
    // gone, a fourth is served; with two held, a fifth is refused.
    const fourth = await open();
    const fifth = await open();
    await fifth.write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`));
    assert.match(await readToEnd(fifth, "the refusal", 2_000), /^HTTP\/1\.1 429 /);
    assert.ok(silent !== fourth, "both hold a slot: the silent one and the fourth");
  } finally {
    for (const conn of conns) conn.close();
    await server.shutdown();
  }
});

Deno.test("web abuse: under ulimit -n 64, one address holding 60 idle connections to the web port does not stop the native port", async () => {
  // Before the web port had a door, each idle connection held a descriptor for good: some 40 of
  // them ran the process out, and Deno.serve's accept loop then threw (an uncaught Http error:
  // "Too many open files") and took the whole server down. Now the address holds its
  // --max-conns-per-ip (three descriptors each: its socket, the pipe and the private server's
  // end) and the refusals' short lingers (WEB_REFUSALS_IN_PROGRESS at most).
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      'ulimit -n 64 && exec "$0" "$@"',
      Deno.execPath(),
      ...denoArgs([
        "serve",
        "--host",
        "::",
        "--port",
        "0",
        "--web-port",
        "0",
        "--max-conns-per-ip",
        "4",
        "--db",
        ":memory:",
        "--log-level",
        "error",
      ]),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const held: Deno.Conn[] = [];
  try {
    let out = "";
    const ports = await within(
      (async () => {
        const both = /listening on .*:(\d+)[^]*web listening on http:\/\/.*:(\d+)\//;
        while (!both.test(out)) {
          const { value, done } = await reader.read();
          if (done) throw new Error("serve exited");
          out += value;
        }
        const [, native, web] = both.exec(out) ?? [];
        return { native: Number(native), web: Number(web) };
      })(),
      "serve to listen",
      20_000,
    );
    for (let i = 0; i < 60; i++) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port: ports.web }));
    }
    // Another address logs in on the native port while all 60 are still held (the refused ones'
    // short linger may delay it a moment).
    const welcome = await within(
      (async () => {
        while (true) {
          try {
            const client = new JsonClient(
              await Deno.connect({ hostname: "::1", port: ports.native }),
            );
            try {
              await client.send({ type: "hello", v: 1, nick: "native" });
              const frame = await client.next("welcome", 2_000);
              if (frame?.type === "welcome") return frame;
            } finally {
              client.close();
            }
          } catch {
            // Refused or reset: out of descriptors for now.
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      "a native login with 60 web connections held",
      8_000,
    );
    assert.equal(welcome.type, "welcome");
    for (const conn of held.splice(0)) conn.close();
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0, "alive until asked to stop, and stopped cleanly");
  } finally {
    for (const conn of held) conn.close();
    try {
      child.kill("SIGTERM");
    } catch {
      // It has already exited (the assertion above says how).
    }
    await child.status;
    await reader.cancel();
  }
});

Deno.test("web abuse: a request straight to the private server (not through the web port) gets 403 and is counted", async () => {
  const metrics = createSockchatMetrics();
  const server = webServer({ metrics });
  try {
    const inner = server.addresses.webPrivate;
    assert.ok(inner !== undefined, "the server says where its private web server listens");
    assert.equal(inner.hostname, "127.0.0.1");
    const direct = await rawRequest(inner.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    assert.equal(direct.status, 403);
    const upgrade = await rawRequest(
      inner.port,
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert.equal(upgrade.status, 403);
    assert.equal(metrics.rejectedConnections.value("not_via_web_port"), 2);
    assert.equal(server.connections.size, 0);
    // Through the web port, the same requests are served.
    assert.equal((await get(`http://127.0.0.1:${webAddr(server).port}`, "/")).status, 200);
  } finally {
    await server.shutdown();
  }
});

/** Sends `request` on `conn` and reads one whole answer (head and body), or "" at EOF. */
async function ask(conn: Deno.Conn, request: string): Promise<string> {
  try {
    await conn.write(encoder.encode(request));
  } catch {
    return "";
  }
  let got = "";
  const chunk = new Uint8Array(4096);
  while (true) {
    const end = got.indexOf("\r\n\r\n");
    const length = Number(/content-length: (\d+)/i.exec(got)?.[1] ?? "0");
    if (end !== -1 && got.length >= end + 4 + length) return got;
    let n: number | null;
    try {
      n = await conn.read(chunk);
    } catch {
      return "";
    }
    if (n === null) return "";
    got += new TextDecoder().decode(chunk.subarray(0, n));
  }
}

Deno.test("web abuse: a connection that keeps asking but never becomes a WebSocket is closed at --handshake-timeout in all", async () => {
  // Each answer restarts the keep-alive deadline; the total one does not restart.
  const server = webServer({ handshakeTimeoutMs: 1_000, maxLoginsPerMinute: 0 });
  const { hostname, port } = webAddr(server);
  const conn = await Deno.connect({ hostname, port });
  try {
    const request = `GET /ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`;
    const started = performance.now();
    let answered = 0;
    await within(
      (async () => {
        // A request every 100 ms (10 a second, within the page budget for the second it lasts).
        for (let i = 0; i < 40; i++) {
          const answer = await ask(conn, request);
          if (answer === "") return;
          assert.match(answer, /^HTTP\/1\.1 426 /);
          answered++;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      "the connection to be closed",
    );
    const lasted = performance.now() - started;
    assert.ok(answered >= 3, `answered ${answered} requests first`);
    assert.ok(lasted >= 900 && lasted < 2_500, `closed after ${Math.round(lasted)} ms`);
  } finally {
    conn.close();
    await server.shutdown();
  }
});

Deno.test("web abuse: new connections from one address past the burst get 429 too_many_connections, counted, and are closed at once", async () => {
  const metrics = createSockchatMetrics();
  const server = webServer({ metrics, maxLoginsPerMinute: 0 });
  const { hostname, port } = webAddr(server);
  try {
    const started = performance.now();
    let served = 0;
    let refused = 0;
    let refusal = "";
    // Each connection asks once and is closed: the churn of the review's churn.py, bounded.
    for (let i = 0; i < WEB_CONNECTION_BURST + 24; i++) {
      const conn = await Deno.connect({ hostname, port });
      try {
        const answer = await within(
          ask(conn, `GET /ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`),
          "an answer",
        );
        if (/^HTTP\/1\.1 426 /.test(answer)) served++;
        else if (/^HTTP\/1\.1 429 /.test(answer)) {
          refused++;
          refusal = answer;
        } else throw new Error(`unexpected answer: ${answer.slice(0, 100)}`);
      } finally {
        conn.close();
      }
    }
    const seconds = (performance.now() - started) / 1000;
    assert.ok(refused > 0, "some were refused");
    assert.ok(
      served <= WEB_CONNECTION_BURST + Math.ceil(seconds * WEB_CONNECTIONS_PER_SECOND) + 1,
      `${served} served in ${seconds.toFixed(1)} s`,
    );
    assert.match(refusal, /"code":"too_many_connections"/);
    assert.match(refusal, /Too many new connections from your address; try again in \d+ s/);
    assert.ok(metrics.rejectedConnections.value("too_many_connections") >= refused);
  } finally {
    await server.shutdown();
  }
});

Deno.test("web abuse: /ws requests that are not upgraded (no Upgrade header, a foreign Origin) are charged to the page budget", async () => {
  const server = webServer({ maxLoginsPerMinute: 0 });
  const { hostname, port } = webAddr(server);
  const base = `http://${hostname}:${port}`;
  try {
    // Half the burst as /ws without Upgrade (426), on one kept-alive connection...
    const half = WEB_PAGE_REQUEST_BURST / 2;
    for (let i = 0; i < half; i++) {
      const answer = await get(base, "/ws");
      assert.equal(answer.status, 426, `request ${i + 1}`);
    }
    // ...the other half as upgrades from another site's page (403)...
    for (let i = 0; i < WEB_PAGE_REQUEST_BURST - half; i++) {
      const upgrade = await rawUpgrade(server, "https://elsewhere.example");
      upgrade.conn.close();
      assert.equal(upgrade.status, 403, `upgrade ${i + 1}`);
    }
    // ...and the budget is spent: the next of either is refused like a page.
    const refused = await get(base, "/ws");
    assert.equal(refused.status, 429);
    assert.match(refused.body, /Too many requests from your address/);
    // A proper upgrade is still the door's business, not the page budget's.
    const web = await WsClient.login(server, "stillin");
    await web.close();
  } finally {
    await server.shutdown();
  }
});
