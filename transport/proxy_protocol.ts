/**
 * The PROXY protocol (HAProxy's, versions 1 and 2), so that behind a load balancer the door
 * still sees each client's own address: bans, `--max-conns-per-ip` and the login rate would
 * otherwise all count the balancer. Only connections from the sources `serve --proxy-from`
 * names must, and may, start with a header; anyone else is served as before, so a client
 * cannot pretend to be another address by sending one.
 *
 * The header is read exactly (never a byte past it), under the handshake deadline, within
 * {@linkcode PROXY_V1_MAX_BYTES} or {@linkcode PROXY_V2_MAX_BYTES}, so that what follows (a TLS
 * handshake, an SSH version line, an HTTP request) reaches its front end untouched. A
 * malformed or missing header closes the connection; a `LOCAL` command (a v2 health check) or
 * a v1 `UNKNOWN` is answered by closing it too: it carries no client. So is a connection the
 * balancer closes before its first byte (a TCP health check), without a warning.
 *
 * @module
 */

import { formatPrefix, parseAddress, prefixOf } from "../core/address_prefix.ts";
import type { Logger } from "../log/logger.ts";
import { LogThrottle } from "../log/throttle.ts";
import { closeQuietly } from "./link.ts";

/** Longest v1 header, its `\r\n` included: the specification's own bound. */
export const PROXY_V1_MAX_BYTES = 107;

/**
 * Longest v2 address block read (the 16-byte header's length field): a UNIX socket pair's, the
 * largest the specification defines. A header announcing more (TLVs beyond it) is refused
 * rather than read: HAProxy's `send-proxy-v2` sends none unless told to.
 */
export const PROXY_V2_MAX_ADDRESS_BYTES = 216;

/** Longest v2 header: the fixed 16 bytes and {@linkcode PROXY_V2_MAX_ADDRESS_BYTES}. */
export const PROXY_V2_MAX_BYTES: number = 16 + PROXY_V2_MAX_ADDRESS_BYTES;

/**
 * Address blocks `--proxy-from` may list: a deployment has a few balancers; past this the list
 * is a mistake, and every connection is checked against each entry.
 */
export const MAX_PROXY_SOURCES = 64;

/** The 12 bytes every v2 header starts with. */
const V2_SIGNATURE = Uint8Array.from([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);

/** What every v1 header starts with. */
const V1_PREFIX = new TextEncoder().encode("PROXY ");

/** Bytes read before deciding between v1 and v2 (no header of either kind is shorter). */
const SNIFF_BYTES = 8;

/** A `--proxy-from` list that cannot be used; the message is one sentence for the operator. */
export class ProxySourceError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "ProxySourceError";
}

/**
 * The addresses whose connections carry a PROXY header (`--proxy-from`), as CIDR blocks.
 *
 * @example
 * ```ts
 * const sources = ProxySources.parse("10.0.0.0/8,::1");
 * sources.trusts("10.1.2.3"); // true
 * sources.trusts("::ffff:10.1.2.3"); // true (IPv4 on a dual-stack socket)
 * sources.trusts("192.0.2.1"); // false
 * ```
 */
export class ProxySources {
  readonly #blocks: { family: 4 | 6; bytes: Uint8Array; length: number }[];
  /** The blocks as given, normalised, for the log. */
  readonly text: string;

  private constructor(blocks: { family: 4 | 6; bytes: Uint8Array; length: number }[]) {
    this.#blocks = blocks;
    this.text = blocks.map(formatPrefix).join(",");
  }

  /**
   * Parses `CIDR[,CIDR...]` (a lone address is its own block), at most
   * {@linkcode MAX_PROXY_SOURCES}; throws {@linkcode ProxySourceError}.
   */
  static parse(text: string): ProxySources {
    const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
    if (items.length === 0) {
      throw new ProxySourceError(
        "--proxy-from needs the balancer's addresses, such as 10.0.0.5 or 10.0.0.0/24.",
      );
    }
    if (items.length > MAX_PROXY_SOURCES) {
      throw new ProxySourceError(
        `--proxy-from takes at most ${MAX_PROXY_SOURCES} address blocks, not ${items.length}.`,
      );
    }
    return new ProxySources(items.map((item) => {
      const parsed = parseAddress(item);
      if (parsed === null) {
        throw new ProxySourceError(
          `--proxy-from wants addresses or CIDR blocks such as 10.0.0.0/24 or 2001:db8::/64, ` +
            `not ${JSON.stringify(item)}.`,
        );
      }
      const full = parsed.family === 4 ? 32 : 128;
      return prefixOf(parsed.family, parsed.bytes, parsed.length ?? full);
    }));
  }

  /** True when a connection from `hostname` must start with a PROXY header. */
  trusts(hostname: string): boolean {
    const parsed = parseAddress(hostname);
    if (parsed === null) return false;
    for (const block of this.#blocks) {
      if (block.family !== parsed.family) continue;
      const masked = prefixOf(parsed.family, parsed.bytes, block.length).bytes;
      if (masked.every((byte, i) => byte === block.bytes[i])) return true;
    }
    return false;
  }
}

/** What a header said. */
export type ProxyHeader =
  /** A proxied client: its address and port. */
  | { kind: "proxy"; remote: Deno.NetAddr }
  /** No client: a v2 `LOCAL` (health check), v1 `UNKNOWN`, or a v2 family other than TCP. */
  | { kind: "local" }
  /**
   * The balancer closed or reset the connection before its first byte: a plain TCP health
   * check (HAProxy resets its checks at once), nothing wrong.
   */
  | { kind: "gone" }
  /** Not a header, or a broken one: why, for the log. */
  | { kind: "invalid"; reason: string };

/**
 * Parses a whole v1 line (its `\r\n` included).
 *
 * @example
 * ```ts
 * parseProxyV1("PROXY TCP4 203.0.113.7 10.0.0.1 51000 7342\r\n");
 * // { kind: "proxy", remote: { transport: "tcp", hostname: "203.0.113.7", port: 51000 } }
 * ```
 */
export function parseProxyV1(line: string): ProxyHeader {
  if (!line.startsWith("PROXY ") || !line.endsWith("\r\n")) {
    return { kind: "invalid", reason: "not a PROXY v1 line" };
  }
  const fields = line.slice(0, -2).split(" ");
  if (fields[1] === "UNKNOWN") return { kind: "local" };
  if (fields.length !== 6 || (fields[1] !== "TCP4" && fields[1] !== "TCP6")) {
    return { kind: "invalid", reason: "a PROXY v1 line without TCP4/TCP6 and four fields" };
  }
  const [, proto, source, destination, sourcePort, destinationPort] = fields;
  const family = proto === "TCP4" ? 4 : 6;
  const src = parseAddress(source);
  const dst = parseAddress(destination);
  const v4Text = (text: string) => /^[\d.]+$/.test(text);
  if (
    src === null || dst === null || src.length !== null || dst.length !== null ||
    v4Text(source) !== (family === 4) || v4Text(destination) !== (family === 4)
  ) {
    return { kind: "invalid", reason: `a PROXY v1 line with a bad ${proto} address` };
  }
  const port = portOf(sourcePort);
  if (port === null || portOf(destinationPort) === null) {
    return { kind: "invalid", reason: "a PROXY v1 line with a bad port" };
  }
  return { kind: "proxy", remote: netAddr(src.family, src.bytes, port) };
}

/**
 * Parses a whole v2 header (the 16 fixed bytes and the address block its length gives).
 *
 * @example
 * ```ts
 * const header = Uint8Array.from([
 *   0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
 *   0x21, 0x11, 0x00, 0x0c, 203, 0, 113, 7, 10, 0, 0, 1, 0xc7, 0x38, 0x1c, 0xae,
 * ]);
 * parseProxyV2(header); // { kind: "proxy", remote: { ..., hostname: "203.0.113.7", port: 51000 } }
 * ```
 */
export function parseProxyV2(bytes: Uint8Array): ProxyHeader {
  if (bytes.length < 16 || !V2_SIGNATURE.every((b, i) => bytes[i] === b)) {
    return { kind: "invalid", reason: "not a PROXY v2 header" };
  }
  const version = bytes[12] >> 4;
  const command = bytes[12] & 0x0f;
  const length = (bytes[14] << 8) | bytes[15];
  if (version !== 2) return { kind: "invalid", reason: `PROXY version ${version}, not 2` };
  if (bytes.length !== 16 + length) {
    return { kind: "invalid", reason: "a PROXY v2 header whose length does not match" };
  }
  if (command === 0x0) return { kind: "local" };
  if (command !== 0x1) return { kind: "invalid", reason: `PROXY v2 command ${command}` };
  const family = bytes[13] >> 4;
  const transport = bytes[13] & 0x0f;
  const body = bytes.subarray(16);
  // UNSPEC, UNIX and datagrams carry no TCP client to see: used as LOCAL is.
  if ((family !== 1 && family !== 2) || transport !== 1) return { kind: "local" };
  const size = family === 1 ? 4 : 16;
  if (body.length < 2 * size + 4) {
    return { kind: "invalid", reason: "a PROXY v2 address block too short for its family" };
  }
  const port = (body[2 * size] << 8) | body[2 * size + 1];
  return { kind: "proxy", remote: netAddr(family === 1 ? 4 : 6, body.subarray(0, size), port) };
}

/** Settings for {@linkcode readProxyHeader}'s callers: who sends headers, and how long they may take. */
export interface ProxyProtocolOptions {
  /** Connections from these must start with a header. */
  sources: ProxySources;
  /** The whole header must arrive within this (the handshake timeout). */
  timeoutMs: number;
}

/**
 * Reads a PROXY header off `conn`, exactly: never a byte past it. Gives up (closing `conn`)
 * after `timeoutMs`; a peer that closes, or sends bytes no header starts with, ends it early.
 * Never throws.
 */
export async function readProxyHeader(conn: Deno.Conn, timeoutMs: number): Promise<ProxyHeader> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, timeoutMs);
  const buffer = new Uint8Array(PROXY_V2_MAX_BYTES);
  let have = 0;
  /** Reads until `have` is `upTo`; false if the bytes stop looking like a header. */
  const fill = async (upTo: number, plausible: () => boolean): Promise<boolean> => {
    while (have < upTo) {
      const n = await conn.read(buffer.subarray(have, upTo));
      if (n === null) throw new Deno.errors.UnexpectedEof("closed before the end of the header");
      have += n;
      if (!plausible()) return false;
    }
    return true;
  };
  const startsLike = (prefix: Uint8Array) => () => {
    const n = Math.min(have, prefix.length);
    for (let i = 0; i < n; i++) if (buffer[i] !== prefix[i]) return false;
    return true;
  };
  const v1 = startsLike(V1_PREFIX);
  const v2 = startsLike(V2_SIGNATURE);
  try {
    if (!await fill(SNIFF_BYTES, () => v1() || v2())) {
      return { kind: "invalid", reason: "no PROXY header (the connection spoke first)" };
    }
    if (v2()) {
      if (!await fill(16, v2)) return { kind: "invalid", reason: "not a PROXY v2 header" };
      const length = (buffer[14] << 8) | buffer[15];
      if (length > PROXY_V2_MAX_ADDRESS_BYTES) {
        return {
          kind: "invalid",
          reason: `a PROXY v2 header of ${16 + length} bytes (at most ${PROXY_V2_MAX_BYTES})`,
        };
      }
      await fill(16 + length, () => true);
      return parseProxyV2(buffer.subarray(0, have));
    }
    const decoder = new TextDecoder("latin1");
    while (true) {
      const text = decoder.decode(buffer.subarray(0, have));
      const newline = text.indexOf("\n");
      if (newline !== -1) {
        // Only ever read up to a lower bound of what is left, so a \n is the last byte read.
        return newline === have - 1 && text.endsWith("\r\n")
          ? parseProxyV1(text)
          : { kind: "invalid", reason: "a PROXY v1 line with a bare \\n" };
      }
      const more = v1LeastLeft(text);
      if (more === null) return { kind: "invalid", reason: "a malformed PROXY v1 line" };
      if (have + more > PROXY_V1_MAX_BYTES) {
        return {
          kind: "invalid",
          reason: `a PROXY v1 line longer than ${PROXY_V1_MAX_BYTES} bytes`,
        };
      }
      await fill(have + more, () => true);
    }
  } catch (error) {
    if (timedOut) return { kind: "invalid", reason: `no PROXY header within ${timeoutMs} ms` };
    if (have === 0) return { kind: "gone" };
    const why = error instanceof Deno.errors.UnexpectedEof
      ? error.message
      : `the connection failed (${error instanceof Error ? error.message : String(error)})`;
    return { kind: "invalid", reason: why };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The fewest bytes an unfinished v1 line `text` still needs, so that reading that many can never
 * read past its end (into what the client sends after it); null if no valid line starts so.
 * A TCP line is `PROXY PROTO SRC DST SPORT DPORT\r\n`: five spaces, a character or more per
 * field; `UNKNOWN` may be followed by anything up to `\r\n`.
 */
function v1LeastLeft(text: string): number | null {
  const crlf = text.endsWith("\r") ? 1 : 2;
  const fields = (crlf === 1 ? text.slice(0, -1) : text).split(" ");
  const proto = fields[1] ?? "";
  if (fields.length === 2 && "UNKNOWN".startsWith(proto)) {
    return "UNKNOWN".length - proto.length + crlf;
  }
  if (proto === "UNKNOWN") return crlf;
  if (
    fields.length === 2
      ? !"TCP4".startsWith(proto) && !"TCP6".startsWith(proto)
      : proto !== "TCP4" && proto !== "TCP6"
  ) {
    return null;
  }
  if (text.includes("\r") && !text.endsWith("\r")) return null;
  const missing = 6 - fields.length;
  if (missing < 0) return null;
  const current = fields[fields.length - 1];
  const currentLeft = fields.length === 2 ? "TCP4".length - proto.length : current === "" ? 1 : 0;
  return 2 * missing + currentLeft + crlf;
}

/** A port as a header writes it: decimal, 0 to 65535. */
function portOf(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

/** A client address for the door, as `Deno.NetAddr` writes one (IPv4 dotted, IPv6 RFC 5952). */
function netAddr(family: 4 | 6, bytes: Uint8Array, port: number): Deno.NetAddr {
  const parsed = parseAddress(
    family === 4 ? Array.from(bytes).join(".") : formatPrefix({ family: 6, bytes, length: 128 }),
  );
  // An IPv4-mapped IPv6 client is the IPv4 client it maps, as bans and limits count it.
  const hostname = parsed !== null && parsed.family === 4
    ? Array.from(parsed.bytes).join(".")
    : formatPrefix({ family: 6, bytes, length: 128 });
  return { transport: "tcp", hostname, port };
}

/**
 * An accepted socket whose client is the one its PROXY header named: everything goes to the
 * socket, only {@linkcode ProxiedConn.remoteAddr} differs.
 */
export class ProxiedConn implements Deno.TcpConn {
  readonly #conn: Deno.Conn;
  /** The client, as the header gave it. */
  readonly remoteAddr: Deno.NetAddr;

  /** Wraps `conn`, whose header named `remote`. */
  constructor(conn: Deno.Conn, remote: Deno.NetAddr) {
    this.#conn = conn;
    this.remoteAddr = remote;
  }

  /** The balancer's address: where the bytes really come from. */
  get proxyAddr(): Deno.NetAddr {
    return this.#conn.remoteAddr as Deno.NetAddr;
  }

  /** The local end of the socket. */
  get localAddr(): Deno.NetAddr {
    return this.#conn.localAddr as Deno.NetAddr;
  }

  /** The socket's bytes after the header. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#conn.readable;
  }

  /** The socket's sending side. */
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.#conn.writable;
  }

  /** Reads from the socket (after the header). */
  read(p: Uint8Array): Promise<number | null> {
    return this.#conn.read(p);
  }

  /** Writes to the socket. */
  write(p: Uint8Array): Promise<number> {
    return this.#conn.write(p);
  }

  /** Half-closes the socket. */
  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  /** Closes the socket. */
  close(): void {
    this.#conn.close();
  }

  /** See `Deno.Conn.ref`. */
  ref(): void {
    this.#conn.ref();
  }

  /** See `Deno.Conn.unref`. */
  unref(): void {
    this.#conn.unref();
  }

  /** See `Deno.TcpConn.setNoDelay`. */
  setNoDelay(noDelay?: boolean): void {
    if ("setNoDelay" in this.#conn) (this.#conn as Deno.TcpConn).setNoDelay(noDelay);
  }

  /** See `Deno.TcpConn.setKeepAlive`. */
  setKeepAlive(keepAlive?: boolean): void {
    if ("setKeepAlive" in this.#conn) (this.#conn as Deno.TcpConn).setKeepAlive(keepAlive);
  }

  /** Closes the socket. */
  [Symbol.dispose](): void {
    closeQuietly(this.#conn);
  }
}

/**
 * What a listener does with each accepted socket when `--proxy-from` is on: a socket from a
 * trusted source is held (in `holding`, so closing the listener closes it) until its header
 * is read, then handed to `admit` as a {@linkcode ProxiedConn}; anyone else goes straight on.
 * Bad headers are logged (once per balancer per window) and closed.
 */
export class ProxyGate {
  readonly #options: ProxyProtocolOptions;
  readonly #logger: Logger;
  readonly #failures = new LogThrottle();

  /** Reads headers from `options.sources` within `options.timeoutMs`, logging to `logger`. */
  constructor(options: ProxyProtocolOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
  }

  /**
   * Hands `conn` to `admit`: at once when it is not from a trusted source, else after its
   * header (a {@linkcode ProxiedConn}), or never (closed). The promise, when there is one,
   * settles once the header is dealt with: the listener keeps it until then.
   */
  pass(
    conn: Deno.Conn,
    holding: Set<Deno.Conn>,
    admit: (conn: Deno.Conn) => void,
  ): Promise<void> | null {
    const proxy = conn.remoteAddr as Deno.NetAddr;
    if (!this.#options.sources.trusts(proxy.hostname)) {
      admit(conn);
      return null;
    }
    holding.add(conn);
    return readProxyHeader(conn, this.#options.timeoutMs).then((header) => {
      holding.delete(conn);
      const from = `${proxy.hostname}:${proxy.port}`;
      switch (header.kind) {
        case "proxy":
          admit(new ProxiedConn(conn, header.remote));
          return;
        case "local":
        case "gone":
          this.#logger.debug(`proxy_${header.kind}`, { proxy: from });
          closeQuietly(conn);
          return;
        case "invalid": {
          closeQuietly(conn);
          const suppressed = this.#failures.take(proxy.hostname, performance.now());
          if (suppressed === null) return;
          this.#logger.warn("proxy_header_invalid", {
            proxy: from,
            reason: header.reason,
            ...(suppressed > 0 ? { suppressed } : {}),
          });
          return;
        }
        default: {
          const unknown: never = header;
          throw new Error(`unknown header ${JSON.stringify(unknown)}`);
        }
      }
    });
  }
}
