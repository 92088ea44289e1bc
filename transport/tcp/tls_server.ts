/**
 * Server-side TLS on an accepted TCP socket, run by `node:tls`.
 *
 * Why not `Deno.listenTls`: a `Deno.TlsConn` closed before its handshake ends keeps its socket
 * open until the peer speaks or hangs up, so silent peers could hold file descriptors without
 * bound. Here the server accepts plain TCP with `Deno.listen` and runs the handshake itself;
 * closing the TCP socket aborts the handshake and frees the descriptor at once, so every
 * handshake that fails or misses its deadline gives its socket back within the deadline.
 *
 * One limit of Deno's `node:tls`: once the client half-closes (close_notify), the session can
 * send nothing more. sockchat's own client never half-closes; a client that does so over TLS
 * still has everything the server sent before that point.
 *
 * @module
 */

import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { TLS_HANDSHAKE_TIMEOUT_MS } from "../../config/security_limits.ts";
import { closeQuietly, type Link } from "../link.ts";
import { type TlsCredentials, TlsError } from "./tls.ts";

/** A checked certificate and key, ready for handshakes. */
export type ServerTlsContext = tls.SecureContext;

/**
 * Builds the context for {@linkcode acceptTls}, explaining a certificate or key that cannot be
 * used (`node:tls` would only fail later, at each handshake).
 *
 * @example
 * ```ts
 * import { loadTlsCredentials } from "./tls.ts";
 *
 * const context = serverTlsContext(await loadTlsCredentials("cert.pem", "key.pem"));
 * ```
 */
export function serverTlsContext(credentials: TlsCredentials): ServerTlsContext {
  let certKey: string;
  let keyKey: string;
  try {
    certKey = new X509Certificate(credentials.cert).publicKey.export({
      type: "spki",
      format: "pem",
    })
      .toString();
  } catch (error) {
    throw new TlsError(`The TLS certificate cannot be used: ${messageOf(error)}.`);
  }
  try {
    keyKey = createPublicKey(createPrivateKey(credentials.key)).export({
      type: "spki",
      format: "pem",
    }).toString();
  } catch (error) {
    throw new TlsError(`The TLS key cannot be used: ${messageOf(error)}.`);
  }
  if (certKey !== keyKey) {
    throw new TlsError("The TLS key does not belong to the certificate; check --tls-key.");
  }
  return tls.createSecureContext({ cert: credentials.cert, key: credentials.key });
}

/** How a server handshake went. On failure the socket is already closed. */
export type TlsAcceptResult =
  | { ok: true; link: TlsLink }
  | { ok: false; reason: string; timedOut: boolean };

/**
 * Runs the server side of a TLS handshake on `conn` within `timeoutMs`. On failure or timeout
 * the socket is closed before this resolves, so a refused peer holds no file descriptor.
 *
 * @param timeoutMs @default 10000
 */
export function acceptTls(
  conn: Deno.Conn,
  context: ServerTlsContext,
  timeoutMs: number = TLS_HANDSHAKE_TIMEOUT_MS,
): Promise<TlsAcceptResult> {
  const duplex = Duplex.fromWeb(
    { readable: conn.readable, writable: conn.writable },
    // Bytes, not objects; and the peer's FIN must not close our sending side before our
    // close_notify has gone out (Node's default for web stream pairs).
    { objectMode: false, allowHalfOpen: true } as Parameters<typeof Duplex.fromWeb>[1],
  );
  const socket = new tls.TLSSocket(duplex, {
    isServer: true,
    secureContext: context,
    // The peer's close_notify ends our reading only: what we still send must reach it.
    allowHalfOpen: true,
  } as tls.TLSSocketOptions);
  const { promise, resolve } = Promise.withResolvers<TlsAcceptResult>();
  const fail = (reason: string, timedOut: boolean) => {
    clearTimeout(timer);
    socket.removeListener("secure", onSecure);
    socket.destroy();
    closeQuietly(conn);
    resolve({ ok: false, reason, timedOut });
  };
  const onSecure = () => {
    clearTimeout(timer);
    socket.removeListener("error", onError);
    socket.removeListener("close", onClose);
    resolve({ ok: true, link: new TlsLink(conn, duplex, socket) });
  };
  const onError = (error: Error) => fail(describeServerTlsError(error), false);
  const onClose = () => fail("the client hung up during the TLS handshake", false);
  const timer = setTimeout(
    () => fail(`handshake not finished within ${timeoutMs} ms`, true),
    timeoutMs,
  );
  socket.once("secure", onSecure);
  socket.once("error", onError);
  socket.once("close", onClose);
  return promise;
}

/** A server handshake error as a clause for the log. */
function describeServerTlsError(error: Error): string {
  const message = error.message;
  if (/wrong version number|corrupt message|InvalidContentType|http request/i.test(message)) {
    return "the client did not speak TLS (plain text to a TLS port?)";
  }
  if (/alert/i.test(message)) {
    return `the client refused the TLS handshake (${message.replace(/^.*alert:?\s*/i, "")}; ` +
      "does it trust the server's CA?)";
  }
  return `TLS failed: ${message}`;
}

/**
 * A finished TLS session as a {@linkcode Link}. Reads pull from the socket in paused mode, so
 * `node:tls` buffers at most its high-water mark and stops reading the TCP socket when the
 * connection is not consuming: back-pressure as on a plain socket.
 */
export class TlsLink implements Link {
  readonly #conn: Deno.Conn;
  readonly #tcp: Duplex;
  readonly #socket: tls.TLSSocket;
  /** Left over from the last chunk, when the caller's buffer was smaller. */
  #pending: Uint8Array | null = null;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #closed = false;

  /** Wraps a handshaken `socket` over `tcp`, the duplex made from `conn`. */
  constructor(conn: Deno.Conn, tcp: Duplex, socket: tls.TLSSocket) {
    this.#conn = conn;
    this.#tcp = tcp;
    this.#socket = socket;
    this.remoteAddr = conn.remoteAddr;
    const wake = () => {
      const w = this.#wake;
      this.#wake = null;
      w?.();
    };
    socket.on("readable", wake);
    socket.on("end", () => {
      this.#ended = true;
      wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      wake();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      wake();
    });
  }

  /** {@inheritDoc Link.remoteAddr} */
  readonly remoteAddr: Deno.Addr;

  /** {@inheritDoc Link.read} */
  async read(p: Uint8Array): Promise<number | null> {
    while (true) {
      if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
      let chunk = this.#pending;
      this.#pending = null;
      chunk ??= this.#socket.read() as Uint8Array | null;
      if (chunk !== null && chunk.length > 0) {
        const n = Math.min(p.length, chunk.length);
        p.set(chunk.subarray(0, n));
        if (n < chunk.length) this.#pending = chunk.subarray(n);
        return n;
      }
      if (this.#error !== null) throw asIoError(this.#error);
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** {@inheritDoc Link.write} */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed || this.#socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("the connection is closed"));
    }
    // node:tls may keep the chunk until it is encrypted: hand it a copy the caller cannot reuse.
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      this.#socket.write(copy, (error) => {
        if (error) reject(asIoError(error));
        else resolve(copy.length);
      });
    });
  }

  /** {@inheritDoc Link.closeWrite} */
  closeWrite(): Promise<void> {
    // close_notify first, then the TCP half-close (ending the TCP stream closes the socket's
    // writable side): the peer reads everything, then a clean EOF.
    return new Promise((resolve) => {
      this.#socket.end(() => {
        const tcp = this.#tcp;
        if (tcp.writableFinished || tcp.destroyed) resolve();
        else if (tcp.writableEnded) {
          tcp.once("finish", () => resolve()).once("close", () => resolve());
        } else tcp.end(() => resolve());
      });
    });
  }

  /** {@inheritDoc Link.close} */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    this.#closed = true;
    this.#socket.destroy();
    closeQuietly(this.#conn);
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
}

/** A stream error as the `Deno.errors` kind a connection treats as the peer going away. */
function asIoError(error: Error): Error {
  if (Object.values(Deno.errors).some((kind) => error instanceof kind)) return error;
  return new Deno.errors.ConnectionReset(error.message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
