/**
 * `serve --proxy-from CIDR[,CIDR]` (issue 16): behind HAProxy (`send-proxy-v2`), connections
 * from the balancer start with a PROXY v1 or v2 header, and the door sees the client it names
 * on every TCP listener: a ban on the forwarded address refuses it. The header is read exactly,
 * within its size bounds and the handshake timeout; a broken or missing one closes the
 * connection with a log line; a LOCAL one (a health check) is closed; connections from other
 * addresses are served as before. Headers here are made by hand.
 */

import assert from "node:assert/strict";
import { parseServeArgs } from "../cli/serve_args.ts";
import { SERVE_HELP, UsageError } from "../cli/usage.ts";
import type { Logger } from "../log/logger.ts";
import type { ChatServer, ServerOptions } from "../server.ts";
import {
  MAX_PROXY_SOURCES,
  parseProxyV1,
  parseProxyV2,
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_ADDRESS_BYTES,
  ProxySources,
  readProxyHeader,
} from "../transport/proxy_protocol.ts";
import { secret } from "./helpers/core.ts";
import { makeTestPki } from "./helpers/certs.ts";
import { sshServer } from "./helpers/ssh.ts";
import { command, JsonClient, LineSocket, testServer, within } from "./helpers/wire.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A v1 header for a TCP4 client. */
function v1(client: string, port = 51000): string {
  return `PROXY TCP4 ${client} 10.0.0.1 ${port} 7342\r\n`;
}

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** A v2 PROXY header for a TCP4 client, or a LOCAL one. */
function v2(client: string | null, port = 51000): Uint8Array {
  if (client === null) return Uint8Array.from([...SIGNATURE, 0x20, 0x00, 0x00, 0x00]);
  const src = client.split(".").map(Number);
  return Uint8Array.from([
    ...SIGNATURE,
    0x21,
    0x11,
    0x00,
    0x0c,
    ...src,
    10,
    0,
    0,
    1,
    port >> 8,
    port & 0xff,
    0x1c,
    0xae,
  ]);
}

/** A v2 PROXY header for a TCP6 client. */
function v2six(bytes: number[], port: number): Uint8Array {
  return Uint8Array.from([
    ...SIGNATURE,
    0x21,
    0x21,
    0x00,
    0x24,
    ...bytes,
    ...new Array(16 - bytes.length).fill(0),
    ...new Array(15).fill(0),
    1,
    port >> 8,
    port & 0xff,
    0x1c,
    0xae,
  ]);
}

function concat(...parts: (Uint8Array | string)[]): Uint8Array {
  const bytes = parts.map((p) => typeof p === "string" ? encoder.encode(p) : p);
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** A logger that keeps what it is told. */
function keptLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const keep = (level: string) => (event: string, fields: Record<string, unknown> = {}) =>
    void lines.push({ level, event, ...fields });
  return {
    logger: {
      debug: keep("debug"),
      info: keep("info"),
      warn: keep("warn"),
      error: keep("error"),
    } as unknown as Logger,
    lines,
  };
}

/** Connects to `port` and sends `header` before anything else. */
async function through(port: number, header: Uint8Array | string): Promise<JsonClient> {
  const client = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  await client.write(header);
  return client;
}

/** Logs in through a header naming `address`. */
async function loginAs(port: number, address: string, nick: string): Promise<JsonClient> {
  const client = await through(port, v1(address));
  await client.send({ type: "hello", v: 1, nick });
  const frame = await client.next("welcome");
  assert.equal(frame?.type, "welcome", JSON.stringify(frame));
  return client;
}

/** A server trusting 127.0.0.1 (every test connection) as its balancer. */
function proxiedServer(extra: ServerOptions = {}): ChatServer {
  return testServer({
    proxyFrom: ProxySources.parse("127.0.0.1"),
    operSecret: secret("sekrit"),
    ...extra,
  });
}

/** An operator (through a header of its own) bans `address`. */
async function banned(server: ChatServer, address: string): Promise<JsonClient> {
  const op = await loginAs(server.addr.port, "198.51.100.1", "op");
  await command(op, "/oper sekrit");
  await command(op, `/ban ${address} 10m`);
  return op;
}

Deno.test("PROXY v1 and v2 headers parse: TCP4, TCP6, UNKNOWN and LOCAL, and broken ones are refused", () => {
  assert.deepEqual(parseProxyV1(v1("203.0.113.7")), {
    kind: "proxy",
    remote: { transport: "tcp", hostname: "203.0.113.7", port: 51000 },
  });
  assert.deepEqual(parseProxyV1("PROXY TCP6 2001:db8::7 2001:db8::1 4000 7342\r\n"), {
    kind: "proxy",
    remote: { transport: "tcp", hostname: "2001:db8::7", port: 4000 },
  });
  assert.deepEqual(parseProxyV1("PROXY UNKNOWN\r\n"), { kind: "local" });
  for (
    const bad of [
      "PROXY TCP4 203.0.113.7 10.0.0.1 51000\r\n",
      "PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n",
      "PROXY TCP6 203.0.113.7 10.0.0.1 1 2\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 70000 2\r\n",
      "PROXY UDP4 203.0.113.7 10.0.0.1 1 2\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 1 2\n",
    ]
  ) {
    assert.equal(parseProxyV1(bad).kind, "invalid", bad);
  }
  assert.deepEqual(parseProxyV2(v2("203.0.113.7", 4321)), {
    kind: "proxy",
    remote: { transport: "tcp", hostname: "203.0.113.7", port: 4321 },
  });
  assert.deepEqual(parseProxyV2(v2six([0x20, 0x01, 0x0d, 0xb8], 80)), {
    kind: "proxy",
    remote: { transport: "tcp", hostname: "2001:db8::", port: 80 },
  });
  assert.deepEqual(parseProxyV2(v2(null)), { kind: "local" });
  const wrongVersion = v2("203.0.113.7");
  wrongVersion[12] = 0x11;
  assert.equal(parseProxyV2(wrongVersion).kind, "invalid");
  const short = v2("203.0.113.7");
  short[15] = 4; // says 4 bytes of addresses, gives 12
  assert.equal(parseProxyV2(short).kind, "invalid");
});

Deno.test("--proxy-from: CIDR blocks (IPv4 seen on a dual-stack socket too), capped at MAX_PROXY_SOURCES; serve --help says so", () => {
  const sources = ProxySources.parse("10.0.0.0/8, 2001:db8::/32,192.0.2.9");
  assert.ok(sources.trusts("10.20.30.40"));
  assert.ok(sources.trusts("::ffff:10.20.30.40"));
  assert.ok(sources.trusts("2001:db8:1::5"));
  assert.ok(sources.trusts("192.0.2.9"));
  assert.ok(!sources.trusts("192.0.2.10"));
  assert.ok(!sources.trusts("11.0.0.1"));
  assert.ok(!sources.trusts("2001:db9::1"));
  assert.equal(sources.text, "10.0.0.0/8,2001:db8::/32,192.0.2.9");

  assert.match(SERVE_HELP, /--proxy-from LIST {4}addresses or CIDR blocks of load balancers/);
  assert.match(SERVE_HELP, /at most\s+64: a connection from one of them/);
  const parse = (args: string[]) => parseServeArgs(["--db", ":memory:", ...args]);
  assert.equal(parse([]).proxyFrom, undefined, "off by default");
  assert.ok(parse(["--proxy-from", "127.0.0.1"]).proxyFrom?.trusts("127.0.0.1"));
  const refused = (value: string, pattern: RegExp) =>
    assert.throws(
      () => parse(["--proxy-from", value]),
      (e: unknown) => e instanceof UsageError && pattern.test(e.message),
      value,
    );
  refused("not-an-address", /addresses or CIDR blocks/);
  refused("10.0.0.0/33", /addresses or CIDR blocks/);
  refused(",", /needs the balancer's addresses/);
  const many = Array.from({ length: MAX_PROXY_SOURCES + 1 }, (_, i) => `10.0.${i}.1`).join(",");
  refused(many, new RegExp(`at most ${MAX_PROXY_SOURCES} address blocks`));
  assert.ok(
    parse(["--proxy-from", many.split(",").slice(0, MAX_PROXY_SOURCES).join(",")]).proxyFrom,
  );
});

Deno.test("a header is read exactly: the bytes after it (v1, v2, UNKNOWN) reach the front end untouched", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const cases: [Uint8Array | string, string][] = [
      [v1("203.0.113.7"), "proxy"],
      [v2("203.0.113.7"), "proxy"],
      ["PROXY TCP6 2001:db8::7 2001:db8::1 4000 7342\r\n", "proxy"],
      ["PROXY UNKNOWN\r\n", "local"],
      ["PROXY UNKNOWN anything at all\r\n", "local"],
      [v2(null), "local"],
    ];
    // Sent a byte at a time too: the reader never asks for more than the line can still hold.
    const trickled: [string, string][] = [
      [v1("203.0.113.7"), "proxy"],
      ["PROXY UNKNOWN\r\n", "local"],
      ["PROXY TCP6 ::1 ::2 1 2\r\n", "proxy"],
    ];
    for (const [header, kind] of trickled) {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const server = await listener.accept();
      try {
        const reading = readProxyHeader(server, 5000);
        for (const byte of encoder.encode(header)) await client.write(Uint8Array.of(byte));
        await client.write(encoder.encode("next"));
        const parsed = await reading;
        assert.equal(parsed.kind, kind, `${JSON.stringify(header)}: ${JSON.stringify(parsed)}`);
        const rest = new Uint8Array(16);
        const n = await server.read(rest);
        assert.equal(decoder.decode(rest.subarray(0, n ?? 0)), "next");
      } finally {
        client.close();
        server.close();
      }
    }
    for (const [header, kind] of cases) {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const server = await listener.accept();
      try {
        // Header and first bytes in one segment, as a balancer sends them.
        await client.write(concat(header, "hello after\n"));
        const parsed = await readProxyHeader(server, 5000);
        assert.equal(parsed.kind, kind, JSON.stringify(parsed));
        const rest = new Uint8Array(64);
        const n = await server.read(rest);
        assert.equal(decoder.decode(rest.subarray(0, n ?? 0)), "hello after\n");
      } finally {
        client.close();
        server.close();
      }
    }
    // Too long: a v1 line past 107 bytes, a v2 header past 16 + 216, and no header at all.
    const longV1 = `PROXY TCP4 ${"1".repeat(PROXY_V1_MAX_BYTES)}`;
    const longV2 = v2("203.0.113.7");
    const size = PROXY_V2_MAX_ADDRESS_BYTES + 1;
    longV2[14] = size >> 8;
    longV2[15] = size & 0xff;
    for (
      const [bytes, reason] of [
        [longV1, /longer than 107 bytes/],
        [longV2, /at most 232/],
        ['{"type":"hello"}\n', /no PROXY header/],
      ] as const
    ) {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const server = await listener.accept();
      try {
        await client.write(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
        const parsed = await readProxyHeader(server, 5000);
        assert.ok(parsed.kind === "invalid" && reason.test(parsed.reason), JSON.stringify(parsed));
      } finally {
        client.close();
        server.close();
      }
    }
  } finally {
    listener.close();
  }
});

Deno.test("native port: the door sees the client a v1 or v2 header names: a ban on it refuses it, another forwarded address gets in", async () => {
  const server = proxiedServer();
  const port = server.addr.port;
  const op = await banned(server, "203.0.113.7");
  const clients: JsonClient[] = [];
  try {
    for (const header of [v1("203.0.113.7"), v2("203.0.113.7")]) {
      const refused = await through(port, header);
      clients.push(refused);
      await refused.send({ type: "hello", v: 1, nick: "mallory" });
      const error = await refused.expect("error");
      assert.equal(error.code, "banned");
      await refused.expectEof();
    }
    // The connection itself is from 127.0.0.1, which is not banned: another client gets in.
    const fine = await through(port, v2("203.0.113.8"));
    clients.push(fine);
    await fine.send({ type: "hello", v: 1, nick: "alice" });
    assert.equal((await fine.expect("welcome")).nick, "alice");
    const user = [...server.hub.users].find((u) => u.nick === "alice");
    assert.equal(user?.address, "203.0.113.8");
  } finally {
    for (const c of clients) c.close();
    op.close();
    await server.shutdown();
  }
});

Deno.test("IRC, web and SSH ports: a ban on the forwarded address refuses it there too", async () => {
  const server = sshServer({
    proxyFrom: ProxySources.parse("127.0.0.1"),
    operSecret: secret("sekrit"),
    irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" },
    web: { host: "127.0.0.1", port: 0, origins: [] },
  });
  const op = await banned(server, "203.0.113.7");
  const sockets: LineSocket[] = [];
  const open = async (port: number, header: Uint8Array | string) => {
    const socket = new LineSocket(await Deno.connect({ hostname: "127.0.0.1", port }));
    sockets.push(socket);
    await socket.write(header);
    return socket;
  };
  try {
    const irc = server.addresses.irc?.port ?? 0;
    const bannedIrc = await open(irc, v2("203.0.113.7"));
    await bannedIrc.write("NICK mallory\r\nUSER m 0 * :m\r\n");
    assert.match(await bannedIrc.readLine("ERROR") ?? "", /^ERROR .*banned/i);
    const fineIrc = await open(irc, v1("203.0.113.8"));
    await fineIrc.write("NICK carol\r\nUSER c 0 * :c\r\n");
    assert.match(await fineIrc.readUntilText(" 001 "), / 001 $/);

    const web = server.addresses.web?.port ?? 0;
    const bannedWeb = await open(web, v2("203.0.113.7"));
    await bannedWeb.write("GET / HTTP/1.1\r\nhost: chat\r\n\r\n");
    assert.equal(await bannedWeb.readLine("the status"), "HTTP/1.1 403 Forbidden");
    const fineWeb = await open(web, v2("203.0.113.8"));
    await fineWeb.write("GET / HTTP/1.1\r\nhost: chat\r\nconnection: close\r\n\r\n");
    assert.equal(await fineWeb.readLine("the status"), "HTTP/1.1 200 OK");

    const bannedSsh = await open(server.sshPort, v1("203.0.113.7"));
    assert.match(await bannedSsh.readLine("the refusal") ?? "", /^sockchat: .*banned/i);
    const fineSsh = await open(server.sshPort, v2("203.0.113.8"));
    assert.match(await fineSsh.readLine("the version") ?? "", /^SSH-2\.0-/);
  } finally {
    for (const s of sockets) s.close();
    op.close();
    await server.shutdown();
  }
});

Deno.test("native TLS port: the header comes before the TLS handshake, and the ban applies to the client it names", async () => {
  const pki = await makeTestPki();
  const server = proxiedServer({ tls: { cert: pki.leaf.cert, key: pki.leaf.key } });
  const caCerts = [pki.ca.cert];
  const conns: Deno.Conn[] = [];
  const tlsThrough = async (header: Uint8Array) => {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    for (let at = 0; at < header.length;) at += await tcp.write(header.subarray(at));
    const tls = await Deno.startTls(tcp, { hostname: "localhost", caCerts });
    conns.push(tls);
    return new JsonClient(tls);
  };
  try {
    const op = await tlsThrough(v2("198.51.100.1"));
    await op.send({ type: "hello", v: 1, nick: "op" });
    await op.expect("welcome");
    await command(op, "/oper sekrit");
    await command(op, "/ban 203.0.113.7 10m");
    const refused = await tlsThrough(v2("203.0.113.7"));
    assert.equal((await refused.expect("error")).code, "banned");
    const fine = await tlsThrough(encoder.encode(v1("203.0.113.8")));
    await fine.send({ type: "hello", v: 1, nick: "alice" });
    assert.equal((await fine.expect("welcome")).nick, "alice");
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
    await server.shutdown();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("from a trusted source, a missing, broken or late header closes the connection with a log line; LOCAL is closed quietly", async () => {
  const { logger, lines } = keptLogger();
  const server = proxiedServer({ logger, handshakeTimeoutMs: 400 });
  const port = server.addr.port;
  const sockets: JsonClient[] = [];
  try {
    // A client that speaks first: the server must not take it for a login.
    const speaks = await through(port, '{"type":"hello","v":1,"nick":"x"}\n');
    sockets.push(speaks);
    await speaks.expectEof();
    const broken = await through(port, "PROXY TCP4 nonsense here 1 2\r\n");
    sockets.push(broken);
    await broken.expectEof();
    const silent = await through(port, "");
    sockets.push(silent);
    await silent.expectEof(2000);
    const health = await through(port, v2(null));
    sockets.push(health);
    await health.expectEof();
    // A TCP health check: connected, then closed before a byte.
    const check = await through(port, "");
    check.close();
    const invalid = lines.filter((l) => l.event === "proxy_header_invalid");
    assert.equal(invalid.length, 1, "logged once per balancer per window");
    assert.equal(invalid[0].level, "warn");
    assert.match(String(invalid[0].reason), /no PROXY header/);
    assert.equal(invalid[0].suppressed, undefined);
    assert.ok(lines.some((l) => l.event === "proxy_local"), "LOCAL: a debug line only");
    await within(
      (async () => {
        while (!lines.some((l) => l.event === "proxy_gone")) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      "the closed check",
    );
    assert.equal(server.hub.userCount, 0);
    assert.ok(lines.some((l) => l.event === "proxy_protocol" && l.from === "127.0.0.1"));
  } finally {
    for (const s of sockets) s.close();
    await server.shutdown();
  }
});

Deno.test("connections from addresses not in --proxy-from are served as before, and their PROXY lines are not believed", async () => {
  const server = testServer({ proxyFrom: ProxySources.parse("10.0.0.0/8") });
  const clients: JsonClient[] = [];
  try {
    const plain = await JsonClient.login(server, "alice");
    clients.push(plain);
    const user = [...server.hub.users].find((u) => u.nick === "alice");
    assert.equal(user?.address, "127.0.0.1");
    // A forged header from an untrusted address is just bytes: no login as 203.0.113.7.
    const forged = await through(server.addr.port, v1("203.0.113.7"));
    clients.push(forged);
    // Taken for a person on netcat typing a line: answered as one, by the server, as usual.
    assert.notEqual(await forged.readLine("an answer"), null);
    await forged.send({ type: "hello", v: 1, nick: "bob" });
    assert.notEqual(await forged.readLine("an answer"), null);
    assert.ok(![...server.hub.users].some((u) => u.address === "203.0.113.7"));
  } finally {
    for (const c of clients) c.close();
    await server.shutdown();
  }
});
