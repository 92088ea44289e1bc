/**
 * One accepted connection (TCP, or TLS over TCP: any {@linkcode Link}): reads frames, feeds them to the hub through a protocol session
 * (NDJSON or plain text, told apart by the first byte), and drains its bounded outbound queue.
 * Every way a connection can end funnels through {@linkcode Connection.finish}.
 *
 * @module
 */

import {
  LINGER_MS,
  MAX_BAD_FRAMES,
  NICK_MAX_LENGTH,
  PLAIN_GREETING_DELAY_MS,
  QUEUE_BURST_FACTOR,
  SHUTDOWN_GRACE_MS,
  SLOW_WRITE_GRACE_MS,
} from "../config/limits.ts";
import type { Hub, PeerSink, User } from "../core/hub.ts";
import { type CommandOutcome, runCommand } from "../core/commands/chat.ts";
import { SocketReader } from "./socket_reader.ts";
import {
  assertNever,
  type ErrorFrame,
  errorFrame,
  type LeaveReason,
  type ServerFrame,
} from "../protocol/frames.ts";
import { type Deliverable, Outgoing } from "../protocol/outgoing.ts";
import type { Logger } from "../log/logger.ts";
import { isRejectReason, type RejectReason } from "../metrics/sockchat_metrics.ts";
import { FloodGuard, type FloodGuardOptions } from "../security/token_bucket.ts";
import { OutboundQueue, writeAll } from "./outbound_queue.ts";
import { NdjsonSession } from "../protocol/ndjson/session.ts";
import { PLAIN_GREETING, PlainSession } from "../protocol/plain/session.ts";
import type { Link } from "./link.ts";

/** Settings shared by every connection of a server. */
export interface ConnectionOptions {
  hub: Hub;
  logger: Logger;
  maxFrame: number;
  maxQueueBytes: number;
  /** Flood control settings; null turns flood control off (benchmarks, trusted links). */
  flood: FloodGuardOptions | null;
  /** A connection not logged in by then is closed. */
  handshakeTimeoutMs: number;
  /** An NDJSON client silent for half this is pinged; silent for all of it, dropped. */
  idleTimeoutMs: number;
  /** Counters and gauges to keep up to date. */
  metrics: ConnectionMetrics;
}

/** What a connection reports as it goes. Every method must be cheap: no allocation. */
export interface ConnectionMetrics {
  /** `n` frames were admitted by flood control. */
  framesIn(n: number): void;
  /** `n` frames (in one buffer) were queued for this peer. */
  delivered(n: number): void;
  /** This peer's queue overflowed; it is being dropped as `too_slow`. */
  droppedSlow(): void;
  /** Flood control refused one frame. */
  rateLimited(): void;
  /** The connection was turned away before it logged in. */
  rejected(reason: RejectReason): void;
}

/** What a wire-format session does with the frames of its connection. */
export interface ProtocolSession {
  /** Called once, when the mode is known (or the greeting delay passed). */
  start(): void;
  /** One complete frame's bytes. */
  frame(bytes: Uint8Array): void;
  /** A burst of input has been handed over (a plain-text paste ends here). */
  endOfBatch(): void;
}

/** The wire format a connection speaks. */
export type WireMode = "json" | "plain";

const OPEN_BRACE = 0x7b;

/** A live connection: the hub's sink for it, and the owner of its socket. */
export class Connection implements PeerSink {
  readonly #conn: Link;
  readonly #options: ConnectionOptions;
  readonly #queue: OutboundQueue;
  readonly #remote: string;
  #mode: WireMode = "json";
  #writer: Promise<void> = Promise.resolve();
  #user: User | null = null;
  #finishing = false;
  #closed = false;
  #badFrames = 0;
  #reason: LeaveReason = "dropped";
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #guard: FloodGuard | null;
  readonly #opened: number;
  #lastHeard = performance.now();
  #pingToken: string | null = null;
  #pings = 0;

  /**
   * @param openedAt When the socket was accepted (`performance.now()`), if earlier than now:
   * time spent on a TLS handshake counts against the handshake timeout.
   */
  constructor(conn: Link, options: ConnectionOptions, openedAt: number = performance.now()) {
    this.#conn = conn;
    this.#opened = openedAt;
    this.#options = options;
    this.#queue = new OutboundQueue({
      cap: options.maxQueueBytes,
      burstFactor: QUEUE_BURST_FACTOR,
      graceMs: SLOW_WRITE_GRACE_MS,
    });
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.#remote = `${addr.hostname}:${addr.port}`;
    this.address = addr.hostname;
    this.#guard = options.flood === null ? null : new FloodGuard(options.flood);
  }

  /** The client's IP address. */
  readonly address: string;

  /**
   * Called by the server's sweep, about once a second: enforces the handshake timeout, pings
   * quiet NDJSON clients and drops those that stay silent. One timer serves every connection.
   */
  tick(now: number): void {
    if (this.#finishing) return;
    if (this.#queue.bytes > this.#options.maxQueueBytes && this.#queue.stalled) {
      // Past the cap with a socket that takes nothing: no push may come to notice it.
      this.#overflow();
      return;
    }
    if (this.#user === null) {
      if (now - this.#opened > this.#options.handshakeTimeoutMs) {
        this.send(errorFrame(
          "handshake_timeout",
          `No login within ${
            Math.round(this.#options.handshakeTimeoutMs / 1000)
          } seconds; closing.`,
          { fatal: true },
        ));
        this.#options.metrics.rejected("handshake_timeout");
        this.finish("timeout", true);
      }
      return;
    }
    if (this.#mode !== "json") return; // people on netcat may lurk in silence
    const quiet = now - this.#lastHeard;
    if (quiet > this.#options.idleTimeoutMs) {
      this.send(errorFrame("ping_timeout", "No answer to ping; closing.", { fatal: true }));
      this.finish("timeout", true);
    } else if (quiet > this.#options.idleTimeoutMs / 2 && this.#pingToken === null) {
      this.#pingToken = `p${++this.#pings}`;
      this.send({ type: "ping", token: this.#pingToken });
    }
  }

  /** The hub this connection talks to. */
  get hub(): Hub {
    return this.#options.hub;
  }

  /** Largest frame accepted. */
  get maxFrame(): number {
    return this.#options.maxFrame;
  }

  /** The logged-in user, once there is one. */
  get user(): User | null {
    return this.#user;
  }

  /** Bytes waiting in the outbound queue. */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  /** True once the connection is on its way out; its frames are ignored from then on. */
  get finishing(): boolean {
    return this.#finishing;
  }

  /** Records a successful login. */
  loggedIn(user: User): void {
    // An overflow during the welcome finishes us only after this (see #overflow), and that
    // finish logs the user out, so no ghost is left in the hub.
    this.#user = user;
    this.#options.logger.info("login", { remote: this.#remote, nick: user.nick, mode: this.#mode });
  }

  /**
   * Tells the peer why its login failed. A fatal refusal (banned, server full, wrong password,
   * ...) is counted, logged and ends the connection; others (a nick taken) allow a retry.
   */
  loginRefused(error: ErrorFrame, nick: string): void {
    this.send(error);
    if (!error.fatal) return;
    if (isRejectReason(error.code)) this.#options.metrics.rejected(error.code);
    this.#options.logger.info("login_refused", {
      remote: this.#remote,
      // Cut to a nick's length: a refused hello's nick is unchecked and may be a frame long.
      nick: [...nick.slice(0, 4 * NICK_MAX_LENGTH)].slice(0, NICK_MAX_LENGTH).join(""),
      code: error.code,
    });
    this.finish("protocol_error", true);
  }

  /** {@inheritDoc PeerSink.deliver} */
  deliver(out: Deliverable): void {
    if (this.#finishing || this.#overflowed) return;
    const bytes = this.#mode === "json" ? out.ndjson() : out.plain();
    if (bytes.length === 0) return;
    if (!this.#queue.push(bytes)) {
      this.#overflow();
      return;
    }
    this.#options.metrics.delivered(out.count);
  }

  /**
   * The peer cannot keep up. Its queue is dropped now, but the connection is finished in a
   * microtask: deliver() runs inside hub calls (a broadcast, a login), which must not be
   * re-entered to log this user out while they are still iterating.
   */
  #overflow(): void {
    if (this.#overflowed) return;
    this.#overflowed = true;
    this.#queue.abort();
    this.#options.metrics.droppedSlow();
    queueMicrotask(() => this.finish("too_slow", false));
  }

  #overflowed = false;

  /** {@inheritDoc PeerSink.close} */
  close(reason: LeaveReason): void {
    this.finish(reason, true);
  }

  /** Sends a goodbye (even before login) and closes gracefully. */
  shutdown(): void {
    if (this.#finishing) return;
    this.send({
      type: "bye",
      reason: "shutdown",
      message: "The server is shutting down. Goodbye!",
    });
    this.finish("shutdown", true);
  }

  /** Tells the peer about a bad frame; closes the connection once it has sent too many. */
  protocolError(error: ErrorFrame): void {
    this.#badFrames++;
    if (this.#badFrames < MAX_BAD_FRAMES) {
      this.send(error);
      return;
    }
    this.send(errorFrame(
      "too_many_errors",
      `${error.message} That makes ${MAX_BAD_FRAMES} bad frames; closing the connection.`,
      { fatal: true },
    ));
    this.finish("protocol_error", true);
  }

  /** Runs a slash command for this connection's user, and leaves if the command says so. */
  command(user: User, line: string, room: string, ref?: string): CommandOutcome {
    const outcome = runCommand(this.#options.hub, user, line, room, ref);
    if (outcome.quit) this.finish("quit", true);
    else if (outcome.close) this.finish(outcome.close, true);
    return outcome;
  }

  /** Sends one frame to this connection only. */
  send(frame: ServerFrame): void {
    this.deliver(new Outgoing(frame));
  }

  /** Queues raw bytes (a plain-text prompt). */
  sendRaw(bytes: Uint8Array): void {
    if (this.#finishing || this.#overflowed) return;
    if (!this.#queue.push(bytes)) this.#overflow();
  }

  /**
   * Ends the connection, once. Logs the user out (telling their rooms `reason`), then either
   * flushes the queue and closes (graceful) or drops everything at once.
   */
  finish(reason: LeaveReason, graceful: boolean): void {
    if (this.#finishing) return;
    this.#finishing = true;
    this.#reason = reason;
    if (this.#user !== null) this.#options.hub.logout(this.#user, reason);
    this.#options.logger.info("disconnect", {
      remote: this.#remote,
      nick: this.#user?.nick,
      reason,
    });
    if (!graceful) {
      this.#queue.abort();
      this.#hardClose();
      return;
    }
    this.#queue.end();
    // Flush, then half-close so the peer reads everything before it sees EOF, and keep reading
    // (discarding) until the peer closes or LINGER_MS passes: closing with unread input would
    // send a reset that can destroy our last frames in the peer's buffers.
    const grace = setTimeout(() => this.#hardClose(), SHUTDOWN_GRACE_MS);
    this.#writer.finally(() => {
      clearTimeout(grace);
      if (this.#closed) return;
      // closeWrite() rejects (not throws) when the peer is already gone; an unhandled
      // rejection would take the whole server down.
      let halfClosed: Promise<void>;
      try {
        halfClosed = this.#conn.closeWrite();
      } catch {
        halfClosed = Promise.reject();
      }
      halfClosed.catch(() => this.#hardClose());
      this.#lingerTimer = setTimeout(() => this.#hardClose(), LINGER_MS);
    });
  }

  /** Runs the connection to its end. Never rejects. */
  async run(): Promise<void> {
    const progress = () => this.#queue.progress();
    this.#writer = this.#queue.drain((bytes) => writeAll(this.#conn, bytes, progress)).catch(
      () => {
        this.finish("dropped", false);
      },
    );
    const reader = new SocketReader(this.#conn);
    try {
      const first = await this.#firstChunk(reader);
      if (first !== null) {
        const session = this.#session(modeOf(first));
        session.start();
        for await (
          const { frames, more } of reader.frames(first, { maxFrame: this.#options.maxFrame })
        ) {
          this.#lastHeard = performance.now();
          this.#pingToken = null;
          // Synchronously, so that the hub commits a read's messages as one batch.
          for (const decoded of frames) {
            if (this.#finishing) break;
            if (decoded.kind === "too_large") {
              this.send(errorFrame(
                "frame_too_large",
                `That frame is longer than ${decoded.limit} bytes; closing the connection.`,
                { fatal: true },
              ));
              this.finish("protocol_error", true);
              break;
            }
            session.frame(decoded.bytes);
          }
          if (!this.#finishing && !more) session.endOfBatch();
        }
      }
      // EOF: the peer closed its side. A quit frame has already finished us as "quit".
      this.finish(this.#finishing ? this.#reason : "dropped", true);
    } catch (error) {
      // A reset, a broken pipe or our own close() interrupting the read is routine; anything
      // else is a bug in handling this peer's frames, which must not pass in silence.
      if (!isIoError(error)) {
        this.#options.logger.error("connection_failed", {
          remote: this.#remote,
          error: error instanceof Error ? `${error.stack ?? error}` : String(error),
        });
      }
      this.finish(this.#finishing ? this.#reason : "dropped", false);
    }
    await this.#writer;
    this.#hardClose();
  }

  /**
   * Waits for the first bytes, which decide the wire mode. If none arrive within the greeting
   * delay the peer is probably a person on netcat waiting to be asked something, so a plain
   * greeting goes out (NDJSON clients skip lines that are not JSON before their welcome).
   * Returns null at EOF before any byte.
   */
  async #firstChunk(reader: SocketReader): Promise<Uint8Array | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = reader.read();
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), PLAIN_GREETING_DELAY_MS);
    });
    let early: Uint8Array | null | "late";
    try {
      early = await Promise.race([next, late]);
    } finally {
      clearTimeout(timer);
    }
    if (early === "late") {
      this.#greeted = true;
      this.sendRaw(PLAIN_GREETING);
    }
    const first = early === "late" ? await next : early;
    return first === null ? null : first.slice();
  }

  #greeted = false;

  /**
   * Flood control: true if a message (or command, or login line) of `bytes` bytes may be
   * handled. Sessions call it once per unit of work: an NDJSON frame, or a whole plain-text paste.
   */
  admit(bytes: number): boolean {
    if (this.#guard === null) {
      this.#options.metrics.framesIn(1);
      return true;
    }
    const verdict = this.#guard.check(bytes);
    switch (verdict) {
      case "ok":
        this.#options.metrics.framesIn(1);
        return true;
      case "limited":
        this.#options.metrics.rateLimited();
        if (this.#guard.streak === 1) {
          this.#options.logger.warn("rate_limited", {
            remote: this.#remote,
            nick: this.#user?.nick,
          });
          this.send(errorFrame(
            "rate_limited",
            "You are sending too fast; that was dropped. Slow down, or you will be disconnected.",
          ));
        }
        return false;
      case "disconnect":
        this.#options.metrics.rateLimited();
        this.send(errorFrame("rate_limited", "Flooding; closing the connection.", { fatal: true }));
        this.finish("flood", true);
        return false;
      default:
        return assertNever(verdict);
    }
  }

  #session(mode: WireMode): ProtocolSession {
    this.#mode = mode;
    return mode === "json" ? new NdjsonSession(this) : new PlainSession(this, this.#greeted);
  }

  #hardClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#lingerTimer);
    try {
      this.#conn.close();
    } catch {
      // Already closed by EOF.
    }
  }
}

const IO_ERRORS: readonly (new (...args: never[]) => Error)[] = Object.values(Deno.errors);

/** True for the errors sockets raise (`Deno.errors.*`: reset, broken pipe, bad TLS, ...). */
function isIoError(error: unknown): boolean {
  return IO_ERRORS.some((kind) => error instanceof kind);
}

function modeOf(bytes: Uint8Array): WireMode {
  return bytes[0] === OPEN_BRACE ? "json" : "plain";
}
