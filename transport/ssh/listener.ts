/**
 * The SSH front end's listener: accepts sockets with `Deno.listen`, puts each through the shared
 * {@linkcode Door} exactly as the TCP listener does (both by a {@linkcode DoorListener}), then
 * runs `ssh2`'s server protocol over it. From accept until the chat's first login is welcomed, a
 * connection counts as a login in progress, and must get there within the server's handshake
 * timeout, as on TCP: the key exchange, authentication and any `Nickname: ` question all count.
 * The chat must also start within `SSH_SESSION_START_MS` of authentication. A refused connection
 * costs one text line (before any key exchange) and a close.
 *
 * @module
 */

import { Duplex } from "node:stream";
import {
  SSH_AUTH_LOCKOUT_MS,
  SSH_HANGUP_MS,
  SSH_KEEPALIVE_COUNT_MAX,
  SSH_KEEPALIVE_INTERVAL_MS,
  SSH_MAX_AUTH_FAILURES_PER_ADDRESS,
} from "../../config/ssh_limits.ts";
import { MAX_AUTH_TRACKED } from "../../config/limits.ts";
import type { AccountView, KeyProof } from "../../core/identity.ts";
import { Lockout } from "../../core/lockout.ts";
import type { Logger } from "../../log/logger.ts";
import type { Door } from "../door.ts";
import { DoorListener } from "../door_listener.ts";
import type { ProxyGate } from "../proxy_protocol.ts";
import { closeQuietly, type Link } from "../link.ts";
import { writeAll } from "../outbound_queue.ts";
import { SshAuthenticator } from "./auth.ts";
import { parseHostKey } from "./host_key.ts";
import { type HostedChatStarter, SshSessions } from "./session.ts";
import { finishPartialPacket, newSshServer, type ParsedKey, type SshConnection } from "./ssh2.ts";

/** How long a disconnected client has to hang up before its socket is closed. */
const SSH_DISCONNECT_LINGER_MS = 1000;

/** What a connection's SSH handlers may do to it. */
interface ConnectionControl {
  /** Closes the socket now. */
  close(): void;
  /** Closes the socket in `ms`, if the client has not hung up by then. */
  linger(ms: number): void;
  /** The chat's first login was welcomed: no longer a login in progress, no deadline. */
  loggedIn(): void;
  /** Keeps the sessions, to close them with the connection. */
  setSessions(sessions: SshSessions): void;
}

/** Settings for an {@linkcode SshListener}. */
export interface SshListenerOptions {
  /** Address to listen on. */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** The host key: OpenSSH ed25519 private key text. */
  hostKey: string;
  /** Admission checks shared with every other listener. */
  door: Door;
  /** Where refusals and failures are logged. */
  logger: Logger;
  /** SSH handshake and authentication must finish within this. */
  handshakeTimeoutMs: number;
  /** True once the server is stopping: accepted sockets are closed. */
  stopping(): boolean;
  /** The account a nick is registered to, if any. */
  account(nick: string): AccountView | undefined;
  /** True when logins need the server password. */
  needsPassword(): boolean;
  /** Keyless guests are refused (`--require-account`). */
  requireAccount: boolean;
  /** Serves the server end of an in-process chat link as a peer proving `key`. */
  serve(link: Link, acceptedAt: number, key: KeyProof | undefined): Promise<void>;
  /** Runs the chat in a session channel; null: shells are refused. */
  startChat: HostedChatStarter | null;
  /** `--proxy-from`: read a PROXY header from these sources first. @default null */
  proxy?: ProxyGate | null;
}

/**
 * One listening socket for SSH and every connection in flight from it.
 *
 * @example
 * ```ts
 * import type { Door } from "../door.ts";
 * import { silentLogger } from "../../log/logger.ts";
 *
 * declare const door: Door;
 * declare const hostKey: string;
 * const listener = new SshListener({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   hostKey,
 *   door,
 *   logger: silentLogger,
 *   handshakeTimeoutMs: 30_000,
 *   stopping: () => false,
 *   account: () => undefined,
 *   needsPassword: () => false,
 *   requireAccount: false,
 *   serve: (link) => Promise.resolve(link.close()),
 *   startChat: null,
 * });
 * console.log(`ssh listening on ${listener.addr.port}`);
 * listener.close();
 * ```
 */
export class SshListener {
  /** The address actually bound. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the accept loop has ended. */
  readonly done: Promise<void>;
  readonly #options: SshListenerOptions;
  readonly #hostKey: ParsedKey;
  /**
   * The socket, its accept loop and door. Its `handshaking` holds the connections whose chat has
   * not logged in: counted as logins in progress.
   */
  readonly #listening: DoorListener;
  readonly #lockout = new Lockout({
    maxFailures: SSH_MAX_AUTH_FAILURES_PER_ADDRESS,
    lockoutMs: SSH_AUTH_LOCKOUT_MS,
    maxTracked: MAX_AUTH_TRACKED,
    kind: "ssh",
  });

  /** Binds at once; throws as `Deno.listen` does, or a HostKeyError for an unusable key. */
  constructor(options: SshListenerOptions) {
    this.#options = options;
    this.#hostKey = parseHostKey(options.hostKey, "given");
    const { hostname, port, door, logger, stopping } = options;
    this.#listening = new DoorListener({
      hostname,
      port,
      door,
      logger,
      stopping,
      failure: "the SSH listening socket failed",
      proxy: options.proxy,
      serve: (conn, remote) => this.#serve(conn, remote),
      refuse: (conn, error) => this.#listening.track(this.#refuse(conn, error.message)),
    });
    this.addr = this.#listening.addr;
    this.done = this.#listening.done;
  }

  /** Connections whose chat has not logged in. */
  get handshaking(): number {
    return this.#listening.handshaking.size;
  }

  /** Why the listener stopped on its own (not closed by the server), or null. */
  get failure(): string | null {
    return this.#listening.failure;
  }

  /** Stops accepting and drops connections whose chat has not logged in. */
  close(): void {
    this.#listening.close();
  }

  /** Resolves once every socket this listener accepted has been served or closed. */
  drained(): Promise<void> {
    return this.#listening.drained();
  }

  /**
   * A refusal before any key exchange: RFC 4253 lets a server send text lines before its version
   * string (OpenSSH shows them with -v), then the socket is closed.
   */
  async #refuse(conn: Deno.Conn, message: string): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      writeAll(conn, new TextEncoder().encode(`sockchat: ${message}\r\n`)).catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, this.#options.handshakeTimeoutMs))),
    ]);
    clearTimeout(timer);
    closeQuietly(conn);
  }

  /** Runs one admitted connection to its end. */
  #serve(conn: Deno.Conn, remote: Deno.NetAddr): Promise<void> {
    const { handshakeTimeoutMs } = this.#options;
    const { promise, resolve } = Promise.withResolvers<void>();
    const socket = Duplex.fromWeb(
      { readable: conn.readable, writable: conn.writable },
      { objectMode: false, allowHalfOpen: true } as Parameters<typeof Duplex.fromWeb>[1],
    );
    // What ssh2 reads off a node socket for its connection info.
    Object.assign(socket, {
      remoteAddress: remote.hostname,
      remotePort: remote.port,
      remoteFamily: remote.hostname.includes(":") ? "IPv6" : "IPv4",
    });
    const handshaking = this.#listening.handshaking;
    handshaking.add(conn);
    let sessions: SshSessions | null = null;
    let closed = false;
    let lingering: ReturnType<typeof setTimeout> | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      clearTimeout(deadline);
      clearTimeout(lingering);
      handshaking.delete(conn);
      sessions?.close();
      socket.destroy();
      closeQuietly(conn);
      resolve();
    };
    const deadline = setTimeout(() => {
      this.#options.door.refused(remote, "handshake_timeout", "no SSH login in time");
      // A chat waiting for a nick is told why it ends; a connection still authenticating is
      // simply closed.
      if (sessions === null) close();
      else sessions.loginTimedOut(Math.round(handshakeTimeoutMs / 1000));
    }, handshakeTimeoutMs);
    const lockedFor = this.#lockout.lockedFor(remote.hostname, Date.now());
    const server = newSshServer({
      hostKey: this.#hostKey,
      keepaliveInterval: SSH_KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: SSH_KEEPALIVE_COUNT_MAX,
      ...(lockedFor > 0
        ? {
          banner:
            `sockchat: too many failed logins from your address; try again in ${lockedFor} s.`,
        }
        : {}),
    }, (connection) =>
      this.#connected(connection, remote, {
        close,
        // end() sends a disconnect; the socket closes when the client hangs up, or at the latest
        // a moment later, once the disconnect has left.
        linger: (ms) => (lingering ??= setTimeout(close, ms)),
        loggedIn: () => {
          clearTimeout(deadline);
          handshaking.delete(conn);
        },
        setSessions: (s) => (sessions = s),
      }));
    socket.on("error", () => close());
    // SSH has no half-close: the client's end of the stream is the end of the connection.
    socket.on("end", () => close());
    socket.on("close", () => close());
    server.injectSocket(socket);
    return promise;
  }

  /** The client spoke SSH: authentication, then its sessions. */
  #connected(connection: SshConnection, remote: Deno.NetAddr, control: ConnectionControl): void {
    const options = this.#options;
    const auth = new SshAuthenticator({
      address: remote.hostname,
      account: options.account,
      needsPassword: options.needsPassword(),
      requireAccount: options.requireAccount,
      lockout: this.#lockout,
    });
    const end = (why: string) => {
      options.logger.debug("ssh_end", { remote: `${remote.hostname}:${remote.port}`, why });
      try {
        connection.end();
      } catch {
        // the socket is gone already
      }
      control.linger(SSH_DISCONNECT_LINGER_MS);
    };
    connection.on("error", (error) => {
      options.logger.debug("ssh_error", {
        remote: `${remote.hostname}:${remote.port}`,
        error: error.message,
      });
    });
    connection.on("close", () => {
      finishPartialPacket(connection);
      control.close();
    });
    connection.on("authentication", (context) => {
      auth.handle(context, (progress) => {
        if (progress === "exhausted") {
          options.door.refused(remote, "bad_password", "SSH authentication attempts used up");
          end("authentication attempts used up");
        }
      });
    });
    connection.on("ready", () => {
      const identity = auth.identity;
      if (identity === null || options.stopping()) {
        end("not authenticated");
        return;
      }
      options.logger.debug("ssh_login", {
        remote: `${remote.hostname}:${remote.port}`,
        nick: identity.nick,
        key: identity.key?.fingerprint,
      });
      control.setSessions(
        new SshSessions({
          connection,
          identity,
          remote,
          serve: options.serve,
          startChat: options.startChat,
          logger: options.logger,
          loggedIn: control.loggedIn,
          end,
          hangUp: () => control.linger(SSH_HANGUP_MS),
        }),
      );
    });
  }
}
