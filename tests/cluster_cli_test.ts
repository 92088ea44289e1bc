/**
 * The cluster's command line and front door (issue 16): `serve --redis` and `--node-id` (parsing,
 * boundaries, the environment variable, `--help`), and docs/haproxy.cfg run by a real HAProxy in
 * front of two plain servers, forwarding every front end with the client's own address (PROXY
 * v2). The cluster's behaviour itself is tested in the other cluster_*_test.ts files.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import type { Logger } from "../log/logger.ts";
import type { ChatServer } from "../server.ts";
import { ProxySources } from "../transport/proxy_protocol.ts";
import { sshServer } from "./helpers/ssh.ts";
import { within } from "./helpers/wire.ts";

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
function node() {
  const { logger, lines } = keptLogger();
  const server = sshServer({
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
