/**
 * The cluster's command line and front door (issue 16): `serve --redis` and `--node-id` (parsing,
 * boundaries, the environment variable, `--help`), and docs/haproxy.cfg run by a real HAProxy in
 * front of two plain servers, forwarding every front end with the client's own address (PROXY
 * v2). The cluster's behaviour itself is tested in the other cluster_*_test.ts files.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { parseNodeId, redactRedisUrl } from "../cli/cluster_args.ts";
import { parseServeArgs } from "../cli/serve_args.ts";
import { SERVE_HELP, UsageError } from "../cli/usage.ts";
import { NODE_ID_MAX_LENGTH, NODE_ID_PATTERN } from "../config/server_config.ts";
import type { Logger } from "../log/logger.ts";
import type { ChatServer, ServerOptions } from "../server.ts";
import { ClusterNode } from "../cluster/node.ts";
import { RedisSharedCounter } from "../cluster/shared_counter.ts";
import { shareLockouts } from "../core/lockout.ts";
import { ProxySources } from "../transport/proxy_protocol.ts";
import { denoArgs, runCli } from "./helpers/cli.ts";
import { startRedis } from "./helpers/redis.ts";
import { sshServer } from "./helpers/ssh.ts";
import { rawUpgrade } from "./helpers/web.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";

const HAPROXY = "/usr/sbin/haproxy";
const SAMPLE = new URL("../docs/haproxy.cfg", import.meta.url);

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

/** A free TCP port on 127.0.0.1 (bound, then closed). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A plain node (no cluster) with every TCP front end, trusting 127.0.0.1 as its balancer. */
function node(options: ServerOptions = {}) {
  const { logger, lines } = keptLogger();
  const server = sshServer({
    ...options,
    logger,
    proxyFrom: ProxySources.parse("127.0.0.1"),
    irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" },
    web: { host: "127.0.0.1", port: 0, origins: [] },
  });
  return { server, lines };
}

/** Each sample front end by the port it binds in docs/haproxy.cfg. */
const FRONT_ENDS = { 7342: "native", 6667: "irc", 8080: "web", 2222: "ssh" } as const;
type FrontEnd = (typeof FRONT_ENDS)[keyof typeof FRONT_ENDS];

/** The port a node serves `front` on. */
function portOf(server: ChatServer, front: FrontEnd): number {
  const addr = front === "native"
    ? server.addresses.native
    : front === "irc"
    ? server.addresses.irc
    : front === "web"
    ? server.addresses.web
    : server.addresses.ssh;
  if (addr === undefined) throw new Error(`the node has no ${front} port`);
  return addr.port;
}

/**
 * The sample config, made to run here: each front end binds a free port on 127.0.0.1, servers
 * `a` and `b` are the two nodes, and nothing else changes.
 */
function configFor(
  sample: string,
  fronts: Record<FrontEnd, number>,
  nodes: ChatServer[],
): string {
  let front: FrontEnd | null = null;
  const out = sample.split("\n").map((line) => {
    const bind = /^(\s*)bind :(\d+)$/.exec(line);
    if (bind !== null) {
      front = FRONT_ENDS[Number(bind[2]) as keyof typeof FRONT_ENDS];
      assert.ok(front !== undefined, `a front end in the sample binds ${bind[2]}`);
      return `${bind[1]}bind 127.0.0.1:${fronts[front]}`;
    }
    const server = /^(\s*)server ([ab]) [\d.]+:(\d+)(.*)$/.exec(line);
    if (server !== null) {
      const which = FRONT_ENDS[Number(server[3]) as keyof typeof FRONT_ENDS];
      const target = nodes[server[2] === "a" ? 0 : 1];
      return `${server[1]}server ${server[2]} 127.0.0.1:${portOf(target, which)}${server[4]}`;
    }
    return line;
  });
  assert.ok(front !== null, "the sample has front ends");
  return out.join("\n");
}

/** A socket from 127.0.0.2: a client address other than the balancer's own 127.0.0.1. */
class Client {
  readonly socket: net.Socket;
  #text = "";
  #wake: (() => void) | null = null;
  #ended = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#text += chunk;
      this.#poke();
    });
    const end = () => {
      this.#ended = true;
      this.#poke();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", () => {});
  }

  #poke(): void {
    this.#wake?.();
    this.#wake = null;
  }

  static async open(port: number): Promise<Client> {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" });
    await once(socket, "connect");
    return new Client(socket);
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Waits until what was read contains `text`; returns everything read so far. */
  until(text: string): Promise<string> {
    return within(
      (async () => {
        while (!this.#text.includes(text)) {
          if (this.#ended) throw new Error(`closed before ${JSON.stringify(text)}: ${this.#text}`);
          await new Promise<void>((resolve) => (this.#wake = resolve));
        }
        return this.#text;
      })(),
      JSON.stringify(text),
      10_000,
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The address the nodes hold for `nick`, wherever they logged in. */
function addressesOf(nodes: ChatServer[], nick: string): string[] {
  return nodes.flatMap((n) => [...n.hub.users].filter((u) => u.nick === nick))
    .map((u) => u.address);
}

Deno.test("docs/haproxy.cfg: real HAProxy in front of two nodes forwards every front end with the client's own address (send-proxy-v2), leastconn, health checks", async () => {
  const sample = await Deno.readTextFile(SAMPLE);
  for (
    const needed of [
      /^\s*mode tcp$/m,
      /^\s*balance leastconn$/m,
      /send-proxy-v2/,
      /\bcheck\b/,
      /^frontend native$/m,
      /^frontend irc$/m,
      /^frontend web$/m,
      /^frontend ssh$/m,
    ]
  ) {
    assert.match(sample, needed);
  }
  const nodes = [node(), node()];
  const servers = nodes.map((n) => n.server);
  const fronts: Record<FrontEnd, number> = {
    native: freePort(),
    irc: freePort(),
    web: freePort(),
    ssh: freePort(),
  };
  const dir = await Deno.makeTempDir();
  const cfg = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(cfg, configFor(sample, fronts, servers));
  const checked = await new Deno.Command(HAPROXY, { args: ["-c", "-f", cfg] }).output();
  assert.equal(checked.code, 0, new TextDecoder().decode(checked.stderr));
  const haproxy = new Deno.Command(HAPROXY, {
    args: ["-db", "-f", cfg],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    new Response(haproxy.stdout).text(),
    new Response(haproxy.stderr).text(),
  ]);
  const clients: Client[] = [];
  try {
    // HAProxy is up once its native front end answers.
    const first = await within(
      (async () => {
        while (true) {
          try {
            return await Client.open(fronts.native);
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      })(),
      "HAProxy to listen",
      10_000,
    );
    clients.push(first);
    first.write(JSON.stringify({ type: "hello", v: 1, nick: "alice" }) + "\n");
    await first.until('"type":"welcome"');
    assert.deepEqual(addressesOf(servers, "alice"), ["127.0.0.2"], "the client, not HAProxy");

    // leastconn: with alice on one node, the next login goes to the other.
    const second = await Client.open(fronts.native);
    clients.push(second);
    second.write(JSON.stringify({ type: "hello", v: 1, nick: "bob" }) + "\n");
    await second.until('"type":"welcome"');
    assert.deepEqual(addressesOf(servers, "bob"), ["127.0.0.2"]);
    assert.deepEqual(servers.map((s) => s.hub.userCount).sort(), [1, 1], "one on each node");

    const irc = await Client.open(fronts.irc);
    clients.push(irc);
    irc.write("NICK carol\r\nUSER c 0 * :Carol\r\n");
    await irc.until(" 001 carol ");
    assert.deepEqual(addressesOf(servers, "carol"), ["127.0.0.2"]);

    const web = await Client.open(fronts.web);
    clients.push(web);
    web.write("GET / HTTP/1.1\r\nhost: chat\r\nconnection: close\r\n\r\n");
    assert.match(await web.until("\r\n"), /^HTTP\/1\.1 200 OK\r\n/);

    const ssh = await Client.open(fronts.ssh);
    clients.push(ssh);
    assert.match(await ssh.until("\r\n"), /^SSH-2\.0-/);

    // Health checks (every 2 s) reach both nodes: a LOCAL header HAProxy resets at once,
    // so the node sees the header and closes it, or the reset before it reads (or accepts)
    // anything; never a warning.
    const checks = new Set(["proxy_local", "proxy_gone", "accept_failed"]);
    for (const { lines } of nodes) {
      await within(
        (async () => {
          while (!lines.some((l) => checks.has(String(l.event)))) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })(),
        "a health check",
        10_000,
      );
    }
    for (const { lines } of nodes) {
      assert.deepEqual(lines.filter((l) => l.level === "warn" || l.level === "error"), []);
    }
  } finally {
    for (const c of clients) c.close();
    haproxy.kill("SIGTERM");
    await haproxy.status;
    await output;
    for (const s of servers) await s.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docs/haproxy.cfg: per-source limits at the balancer (one stick table over every front end), a maxconn per front end within the global one, option redispatch; a 17th open connection from one address is refused by HAProxy", async () => {
  const sample = await Deno.readTextFile(SAMPLE);
  assert.match(sample, /^\s*option redispatch$/m);
  assert.match(sample, /^backend per_source\n\s*stick-table type ipv6 .*store conn_cur,conn_rate/m);
  const globalMax = Number(/^global\n(?:.*\n)*?\s*maxconn (\d+)/m.exec(sample)?.[1]);
  let sum = 0;
  for (const section of sample.split(/^(?=frontend )/m).slice(1)) {
    const name = section.split("\n")[0];
    const body = section.split(/^backend /m)[0];
    const maxconn = /^\s*maxconn (\d+)$/m.exec(body);
    assert.ok(maxconn !== null, `${name} has a maxconn`);
    sum += Number(maxconn[1]);
    assert.match(body, /tcp-request connection track-sc0 src\S* table per_source/, name);
    assert.match(body, /tcp-request connection reject if \{ sc0_conn_cur gt 16 \}/, name);
    assert.match(body, /sc0_conn_rate gt \d+/, name);
  }
  assert.ok(sum > 0 && sum <= globalMax, `front ends' maxconn ${sum} within global ${globalMax}`);

  // The nodes' own per-address caps opened wide: only HAProxy's limit is under test.
  const wide = { maxConnsPerIp: 1000, maxLoginsPerMinute: 0, maxPendingLogins: 1000 };
  const nodes = [node(wide), node(wide)];
  const servers = nodes.map((n) => n.server);
  const fronts: Record<FrontEnd, number> = {
    native: freePort(),
    irc: freePort(),
    web: freePort(),
    ssh: freePort(),
  };
  const dir = await Deno.makeTempDir();
  const cfg = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(cfg, configFor(sample, fronts, servers));
  const haproxy = new Deno.Command(HAPROXY, {
    args: ["-db", "-f", cfg],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    new Response(haproxy.stdout).text(),
    new Response(haproxy.stderr).text(),
  ]);
  const clients: Client[] = [];
  try {
    // 16 open connections from 127.0.0.2, over two front ends, each logged in.
    for (let i = 1; i <= 16; i++) {
      const irc = i > 12;
      const client = await within(
        (async () => {
          while (true) {
            try {
              return await Client.open(irc ? fronts.irc : fronts.native);
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
        })(),
        "HAProxy to listen",
        10_000,
      );
      clients.push(client);
      if (irc) {
        client.write(`NICK i${i}\r\nUSER i 0 * :I\r\n`);
        await client.until(` 001 i${i} `);
      } else {
        client.write(JSON.stringify({ type: "hello", v: 1, nick: `n${i}` }) + "\n");
        await client.until('"type":"welcome"');
      }
    }
    // The 17th, on a third front end: closed by HAProxy before any node sees it.
    // (Reset at connect, or closed with nothing read: HAProxy rejects at accept.)
    const sshBanner = async () => {
      const client = await Client.open(fronts.ssh);
      clients.push(client);
      return await client.until("SSH-");
    };
    await assert.rejects(sshBanner(), /ECONNRESET|closed before/);
    // One fewer open, and the same address gets in again.
    clients.shift()?.close();
    await within(
      (async () => {
        // HAProxy learns of the close a moment later: retry until it has.
        while (true) {
          try {
            return await sshBanner();
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      })(),
      "a new connection once one closed",
      10_000,
    );
  } finally {
    for (const c of clients) c.close();
    haproxy.kill("SIGTERM");
    await haproxy.status;
    await output;
    for (const s of servers) await s.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Makes the Redis on `port` require `password` (one inline command on a raw socket). */
async function requirePassword(port: number, password: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`CONFIG SET requirepass ${password}\r\n`));
    const buffer = new Uint8Array(64);
    const n = await within(conn.read(buffer), "CONFIG SET's answer");
    assert.equal(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "+OK\r\n");
  } finally {
    conn.close();
  }
}

/** The raw reply of Redis on `port` to `command` (inline), after AUTH `password`. */
async function redisAsk(port: number, password: string, command: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`AUTH ${password}\r\n${command}\r\nQUIT\r\n`));
    let text = "";
    const buffer = new Uint8Array(4096);
    while (true) {
      const n = await within(conn.read(buffer), "Redis's answer");
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    assert.ok(text.startsWith("+OK\r\n") && text.endsWith("+OK\r\n"), text);
    return text.slice(5, -5);
  } finally {
    conn.close();
  }
}

/** `serve`'s arguments parsed with `env` as the environment. */
function serveWith(args: string[], env: Record<string, string> = {}) {
  return parseServeArgs(["--db", ":memory:", ...args], (name) => env[name]);
}

/** The usage error `args` give (with `env`), or a failure if they give none. */
function usageError(args: string[], env: Record<string, string> = {}): string {
  try {
    serveWith(args, env);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`no usage error for ${args.join(" ")}`);
}

Deno.test("serve --redis: redis:// and rediss:// URLs with or without a password; anything else is refused without quoting the password", () => {
  assert.equal(serveWith([]).redis, undefined, "off by default");
  assert.equal(serveWith([]).nodeId, undefined);
  for (
    const [url, shown] of [
      ["redis://127.0.0.1", "redis://127.0.0.1:6379/0"],
      ["redis://cache.internal:6380/3", "redis://cache.internal:6380/3"],
      ["redis://:hunter2@cache.internal:6380/", "redis://cache.internal:6380/0"],
      ["rediss://sockchat:hunter2@[::1]:6390/1", "rediss://[::1]:6390/1"],
    ]
  ) {
    const parsed = serveWith(["--redis", url]);
    assert.equal(parsed.redis?.url, url, "the library gets the URL as given");
    assert.equal(parsed.redis?.shown, shown, "the log gets it without the password");
  }
  for (
    const [url, why] of [
      ["127.0.0.1:6379", /that is not a URL/],
      ["localhost:6379", /the scheme is localhost/],
      ["cache.internal", /that is not a URL/],
      ["http://:hunter2@cache.internal/", /the scheme is http/],
      ["redis://", /names no host/],
      ["redis://:hunter2@cache.internal/db2", /a database number/],
      ["redis://:hunter2@cache.internal:6379/0?timeout=1", /a query or fragment/],
      ["redis://:hunter2@cache.internal:99999", /that is not a URL/],
    ] as const
  ) {
    const message = usageError(["--redis", url]);
    assert.match(message, /^--redis wants redis:\/\/HOST:PORT\[\/DB\]/, message);
    assert.match(message, why, message);
    assert.ok(!message.includes("hunter2"), `the password stays out of: ${message}`);
  }
  assert.equal(redactRedisUrl("redis://:hunter2@h:1/2"), "redis://h:1/2");
  assert.equal(redactRedisUrl("not a url :hunter2@h"), "***@h");
});

Deno.test("serve --redis: a password holding /, ?, #, @, % or spaces is never printed, however the URL fails; a stray % is a usage error, not a crash", () => {
  const secret = "SECRET1";
  for (
    const url of [
      `redis://:Zm9v/YmFy+${secret}@10.0.0.5:6379/0`,
      `redis://admin:ab/${secret}@cache`,
      `redis://:ab?${secret}@cache:6379/0`,
      `redis://:ab#${secret}@cache:6379/0`,
      `redis://:a@b${secret}@cache:6379/0`,
      `redis://:a b ${secret}@cache:6379/0`,
      `redis://:1234/5678${secret}@cache`,
      `redis://:${secret}%ZZ@127.0.0.1:1/0`,
      `redis://${secret}%E0%A4%A@127.0.0.1:1/0`,
      `redis://:${secret}`,
      `redis//:${secret}@cache`,
    ]
  ) {
    for (
      const [flags, env] of [[["--redis", url], {}], [[], { SOCKCHAT_REDIS_URL: url }]] as [
        string[],
        Record<string, string>,
      ][]
    ) {
      // Refused (the message must not quote it) or, where the URL parser reads it right (an `@`
      // or a space in the password), accepted: then only the shown form reaches a log.
      let message: string;
      try {
        message = serveWith([...flags], env).redis?.shown ?? "";
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        message = error.message;
        assert.match(message, /redis:\/\/HOST:PORT\[\/DB\]/, message);
      }
      assert.ok(!message.includes(secret), `the password stays out of: ${message}`);
    }
    assert.ok(!redactRedisUrl(url).includes(secret), redactRedisUrl(url));
  }
  assert.match(usageError(["--redis", `redis://:${secret}%ZZ@127.0.0.1:1/0`]), /% as %25/);
  assert.equal(redactRedisUrl("redis://:ab/cd@cache"), "redis://***@cache");
  assert.equal(redactRedisUrl("redis://:1234/5678@h"), "redis://***@h");
  // Percent-encoded, the same passwords are fine: the library gets the URL as given.
  const encoded = `redis://:Zm9v%2FYmFy%2B${secret}%25@10.0.0.5:6379/0`;
  assert.equal(serveWith(["--redis", encoded]).redis?.url, encoded);
  assert.equal(serveWith(["--redis", encoded]).redis?.shown, "redis://10.0.0.5:6379/0");
});

Deno.test("serve: $SOCKCHAT_REDIS_URL stands in for --redis (the flag wins; empty is unset)", () => {
  const env = { SOCKCHAT_REDIS_URL: "redis://:hunter2@from-env:6379/1" };
  assert.equal(serveWith([], env).redis?.shown, "redis://from-env:6379/1");
  assert.equal(serveWith([], env).redis?.url, env.SOCKCHAT_REDIS_URL);
  assert.equal(serveWith(["--redis", "redis://flag"], env).redis?.shown, "redis://flag:6379/0");
  assert.equal(serveWith([], { SOCKCHAT_REDIS_URL: "" }).redis, undefined);
  const message = usageError([], { SOCKCHAT_REDIS_URL: "http://:hunter2@x" });
  assert.match(message, /^\$SOCKCHAT_REDIS_URL wants redis:/);
  assert.ok(!message.includes("hunter2"));
  // With the environment variable, --node-id needs no --redis; cluster mode needs no --db.
  assert.equal(serveWith(["--node-id", "7"], env).nodeId, "7");
  const noHome = parseServeArgs(["--redis", "redis://h"], () => undefined);
  assert.equal(noHome.redis?.shown, "redis://h:6379/0");
});

Deno.test("serve --node-id: any short token (numbers too), at most NODE_ID_MAX_LENGTH; random by default; only with --redis", () => {
  const redis = ["--redis", "redis://127.0.0.1"];
  for (const id of ["1", "42", "0", "a", "chat-eu-1", "n.2_b", "x".repeat(NODE_ID_MAX_LENGTH)]) {
    assert.equal(serveWith([...redis, "--node-id", id]).nodeId, id);
  }
  assert.match(
    usageError([...redis, "--node-id", "x".repeat(NODE_ID_MAX_LENGTH + 1)]),
    new RegExp(`at most ${NODE_ID_MAX_LENGTH} characters, not ${NODE_ID_MAX_LENGTH + 1}`),
  );
  for (const bad of ["", "a b", "n:1", "sc:*", "nœud", "a/b", "-"]) {
    if (bad === "-") {
      assert.equal(parseNodeId(bad), "-", "a lone dash is a token too");
      continue;
    }
    assert.match(usageError([...redis, "--node-id", bad]), /--node-id (wants|needs)/, bad);
  }
  const first = serveWith(redis).nodeId ?? "";
  const second = serveWith(redis).nodeId ?? "";
  assert.match(first, NODE_ID_PATTERN);
  assert.ok(first.length <= NODE_ID_MAX_LENGTH);
  assert.notEqual(first, second, "two nodes started alike get different ids");
  assert.match(usageError(["--node-id", "1"]), /--node-id goes with --redis/);
});

Deno.test("serve --help tells of --redis, \$SOCKCHAT_REDIS_URL and --node-id", async () => {
  for (
    const line of [
      /--redis URL {10}cluster mode/,
      /\$SOCKCHAT_REDIS_URL; it is never logged/,
      /--node-id ID {9}this server's name in the cluster/,
      new RegExp(`at most ${NODE_ID_MAX_LENGTH} characters`),
    ]
  ) {
    assert.match(SERVE_HELP, line);
  }
  const help = await runCli(["serve", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--redis URL/);
});

Deno.test("serve --redis with Redis unreachable at start: one line naming it (no password), exit 1, nothing listens", async () => {
  const dead = freePort();
  const result = await runCli([
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--redis",
    `redis://:hunter2@127.0.0.1:${dead}/0`,
    "--node-id",
    "7",
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(
      `^sockchat: cannot start cluster node 7 with Redis at redis://127\\.0\\.0\\.1:${dead}/0: `,
      "m",
    ),
  );
  assert.doesNotMatch(result.stdout, /listening on/);
  assert.ok(!(result.stdout + result.stderr).includes("hunter2"));
});

Deno.test("serve --redis (password in $SOCKCHAT_REDIS_URL): logs 'cluster node ID via redis://HOST:PORT/DB' and never the password; SIGTERM leaves the cluster, exit 0", async () => {
  const redis = await startRedis();
  await requirePassword(redis.port, "hunter2");
  const url = redis.url.replace("redis://", "redis://:hunter2@") + "/0";
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--node-id",
      "42",
      "--log-level",
      "debug",
    ]),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { SOCKCHAT_REDIS_URL: url },
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  let out = "";
  try {
    await within(
      (async () => {
        while (!/^listening on /m.test(out)) {
          const { value, done } = await stdout.read();
          if (done) throw new Error(`serve exited: ${out}`);
          out += value;
        }
      })(),
      "the node to listen",
      30_000,
    );
    assert.match(
      out,
      new RegExp(`^cluster node 42 via redis://127\\.0\\.0\\.1:${redis.port}/0$`, "m"),
    );
    assert.equal(await redisAsk(redis.port, "hunter2", "SMEMBERS sc:nodes"), "*1\r\n$2\r\n42\r\n");
    child.kill("SIGTERM");
    const status = await within(child.status, "the node to exit", 20_000);
    assert.equal(status.code, 0);
    assert.equal(await redisAsk(redis.port, "hunter2", "SMEMBERS sc:nodes"), "*0\r\n", "left");
    while (true) {
      const { value, done } = await stdout.read();
      if (done) break;
      out += value;
    }
    const log = await stderr;
    assert.match(log, /cluster_node node=42 redis=redis:\/\/127\.0\.0\.1:\d+\/0/);
    assert.ok(!(out + log).includes("hunter2"), "the password is never printed");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await stdout.cancel().catch(() => {});
    await child.status;
    await stderr.catch(() => "");
    await redis.stop();
  }
});

Deno.test("cluster door: --max-logins-per-minute counts an address's logins on every node (native and /ws), not per node", async () => {
  const redis = await startRedis();
  const servers: ChatServer[] = [];
  const clients: JsonClient[] = [];
  try {
    for (const node of ["a", "b"]) {
      const cluster = await ClusterNode.open({ url: redis.url, node, retention: 100 });
      // As main.ts does before it starts the server: the count every node shares is in Redis.
      if (node === "a") shareLockouts(new RedisSharedCounter(cluster.conn));
      const server = testServer({
        cluster,
        maxLoginsPerMinute: 2,
        web: { host: "127.0.0.1", port: 0, origins: [] },
      });
      servers.push(server);
      await server.ready;
    }
    const [a, b] = servers;
    clients.push(await JsonClient.login(a, "one"), await JsonClient.login(a, "two"));
    // Node b has counted none of this address's logins itself: only the shared count stops it.
    const third = new JsonClient(
      await Deno.connect({ hostname: "127.0.0.1", port: b.addr.port }),
    );
    clients.push(third);
    const refusal = await third.expect("error");
    assert.equal(refusal.code, "too_many_connections");
    assert.match(refusal.message, /on every server of this chat/);
    await third.expectEof();
    // The web port's /ws counts its logins there too (node b's own budget still has one).
    const upgrade = await rawUpgrade(b);
    upgrade.conn.close();
    assert.equal(upgrade.status, 429, upgrade.head);
    assert.match(upgrade.head, /on every server of this chat/);
  } finally {
    shareLockouts(null);
    for (const c of clients) c.close();
    for (const s of servers) await s.shutdown();
    await redis.stop();
  }
});
