/**
 * One client, whatever its front end: the peer type every transport shares. It owns the link
 * (bytes in and out), the bounded outbound queue, flood control, the login and idle deadlines,
 * bad-frame counting and login bookkeeping, and it is the hub's sink for its user. A front end
 * adds only its link and a session opener that picks the codec (TCP sniffs NDJSON or plain text,
 * see `tcp/sniff.ts`). Every way a peer can end funnels through {@linkcode Peer.finish}.
 *
 * @module
 */

import { type Awaitable, then } from "../core/awaitable.ts";
import {
  LINGER_MS,
  MAX_BAD_FRAMES,
  NICK_MAX_LENGTH,
  QUEUE_BURST_FACTOR,
  SHUTDOWN_GRACE_MS,
  SLOW_WRITE_GRACE_MS,
} from "../config/limits.ts";
import type { Hub, PeerSink, User } from "../core/hub.ts";
import type { AccountView, KeyProof } from "../core/identity.ts";
import type { AccountCheck } from "../core/account_proof.ts";
import { type CommandOutcome, runCommand } from "../core/commands/chat.ts";
import { SocketReader } from "./socket_reader.ts";
import {
  assertNever,
  type ErrorFrame,
  errorFrame,
  type FloodLimits,
  type LeaveReason,
  type ServerFrame,
} from "../protocol/frames.ts";
import { type Deliverable, Outgoing } from "../protocol/outgoing.ts";
import type { Logger } from "../log/logger.ts";
import { isRejectReason, type RejectReason } from "../metrics/sockchat_metrics.ts";
import { FloodGuard, type FloodGuardOptions } from "../security/token_bucket.ts";
import { OutboundQueue } from "./outbound_queue.ts";
import type { FrameCodec } from "../protocol/codec.ts";
import { NDJSON } from "../protocol/ndjson/encode.ts";
import type { MessageKind } from "../core/relay.ts";
import type {
  HistoryAnswer,
  HistoryQuery,
  TargetsAnswer,
  WireBytes,
} from "../core/history_slice.ts";
import type { DirectHow } from "../core/direct.ts";
import type {
  ChatView,
  LoginAttempt,
  OpenedSession,
  ProtocolSession,
  SessionPort,
} from "../protocol/session.ts";
import type { Link } from "./link.ts";

/** Settings shared by every connection of a server. */
export interface PeerOptions {
  /** The chat core every peer logs in to. */
  hub: Hub;
  /** Where the peer reports what it does. */
  logger: Logger;
  /** Longest frame a client may send, in bytes. */
  maxFrame: number;
  /** Bytes the peer may fall behind before it is dropped as too slow. */
  maxQueueBytes: number;
  /** Flood control settings; null turns flood control off (benchmarks, trusted links). */
  flood: FloodGuardOptions | null;
  /** A connection not logged in by then is closed. */
  handshakeTimeoutMs: number;
  /** An NDJSON client silent for half this is pinged; silent for all of it, dropped. */
  idleTimeoutMs: number;
  /** Counters and gauges to keep up to date. */
  metrics: PeerMetrics;
}

/** What a connection reports as it goes. Every method must be cheap: no allocation. */
export interface PeerMetrics {
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

/**
 * Picks the codec and session for a new peer from its first bytes (or its front end), or null if
 * the peer hung up first. `first` is the chunk it read, handed to the frame decoder.
 */
export type SessionOpener = (
  reader: SocketReader,
  port: SessionPort,
) => Promise<{ first: Uint8Array | null; opened: OpenedSession } | null>;

/** A live client: the hub's sink for it, its session's port, and the owner of its link. */
export class Peer implements PeerSink, SessionPort {
  readonly #conn: Link;
  readonly #options: PeerOptions;
  readonly #queue: OutboundQueue;
  /** NDJSON until the session says otherwise: errors before that are read by programs. */
  #codec: FrameCodec = NDJSON;
  /** Whether this client's codec is pinged when silent. */
  #pinged = true;
  /** The session, when it renders for its reader (see `ProtocolSession.render`). */
  #reader: ProtocolSession | null = null;
  /** See `ProtocolSession.closesAtOnce`. */
  #closesAtOnce = false;
  /** The session's lines wait for flood control (IRC): reads are timed for its lag. */
  #delaysFlood = false;
  /** The session, for its replay preferences (`replaysOnJoin`, `replayBytes`). */
  #session: ProtocolSession | null = null;
  readonly #open: SessionOpener;
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
  /** A key the front end proved before the session started (SSH), or undefined. */
  readonly #proven: KeyProof | undefined;

  /**
   * Reads nothing until {@linkcode run}: `open` then picks the session from the first bytes.
   *
   * @param openedAt When the socket was accepted (`performance.now()`), if earlier than now:
   * time spent on a TLS handshake counts against the handshake timeout.
   * @param proven What the front end proved about this client before the peer existed (the key
   * an SSH client authenticated with), added to every login it attempts.
   */
  constructor(
    conn: Link,
    options: PeerOptions,
    open: SessionOpener,
    openedAt: number = performance.now(),
    proven: { key?: KeyProof } = {},
  ) {
    this.#conn = conn;
    this.#proven = proven.key;
    this.#open = open;
    this.#opened = openedAt;
    this.#options = options;
    this.#queue = new OutboundQueue({
      cap: options.maxQueueBytes,
      burstFactor: QUEUE_BURST_FACTOR,
      graceMs: SLOW_WRITE_GRACE_MS,
    });
    const addr = conn.remoteAddr as Deno.NetAddr;
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
    if (!this.#pinged) return; // people on netcat may lurk in silence
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

  /** {@inheritDoc PeerSink.flood} */
  get flood(): FloodLimits | undefined {
    if (this.#guard === null) return undefined;
    const { messagesPerSecond, messageBurst, bytesPerSecond, byteBurst } = this.#guard.limits;
    return {
      rate: messagesPerSecond,
      burst: messageBurst,
      rateBytes: bytesPerSecond,
      burstBytes: byteBurst,
    };
  }

  /** Bytes waiting in the outbound queue. */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  /** {@inheritDoc PeerSink.replaysOnJoin} */
  get replaysOnJoin(): boolean {
    return this.#session?.replaysOnJoin !== false;
  }

  /** {@inheritDoc PeerSink.probe} */
  probe(): boolean {
    if (!this.#pinged) return false;
    this.#pingToken ??= `p${++this.#pings}`;
    this.send({ type: "ping", token: this.#pingToken });
    return true;
  }

  /** {@inheritDoc PeerSink.quietMs} */
  quietMs(): number {
    return performance.now() - this.#lastHeard;
  }

  /** {@inheritDoc PeerSink.replayBytes} */
  replayBytes(out: Outgoing): number | undefined {
    return this.#session?.replayBytes?.(out);
  }

  /** True once the connection is on its way out; its frames are ignored from then on. */
  get finishing(): boolean {
    return this.#finishing;
  }

  /** True when logins need the server password. */
  get needsPassword(): boolean {
    return this.#options.hub.needsPassword;
  }

  /** {@inheritDoc SessionPort.login} */
  login(attempt: LoginAttempt): Awaitable<ErrorFrame | null> {
    if (this.#user !== null) {
      const error = errorFrame(
        "already_joined",
        `You are already logged in as ${this.#user.nick}.`,
      );
      this.send(error);
      return error;
    }
    const request = this.#proven === undefined
      ? { ...attempt, address: this.address }
      : { ...attempt, address: this.address, key: this.#proven };
    return then(this.#options.hub.login(this, request), (result) => {
      if (result.ok) {
        this.#loggedIn(result.user);
        return null;
      }
      this.#loginRefused(result.error, attempt.nick);
      return result.error;
    });
  }

  /** {@inheritDoc SessionPort.checkAccountPassword} */
  checkAccountPassword(nick: string, password: string): Awaitable<AccountCheck> {
    return this.#options.hub.checkAccountPassword(nick, password, this.address);
  }

  /** {@inheritDoc SessionPort.account} */
  account(nick: string): AccountView | undefined {
    return this.#options.hub.account(nick);
  }

  /** {@inheritDoc SessionPort.refuse} */
  refuse(error: ErrorFrame, nick: string): void {
    this.#loginRefused(error, nick);
  }

  /** {@inheritDoc SessionPort.say} */
  say(
    room: string,
    text: string,
    ref?: string,
    kind?: MessageKind,
    breaks?: readonly number[],
  ): void {
    if (this.#user !== null) this.#options.hub.say(this.#user, room, text, ref, kind, breaks);
  }

  /** {@inheritDoc SessionPort.direct} */
  direct(to: string, text: string, ref: string, how: DirectHow): Awaitable<void> {
    if (this.#user !== null) return this.#options.hub.direct(this.#user, to, text, ref, how);
  }

  /** {@inheritDoc SessionPort.chat} */
  get chat(): ChatView {
    return this.#options.hub;
  }

  /** {@inheritDoc SessionPort.historySlice} */
  historySlice(
    room: string,
    query: HistoryQuery,
    wireBytes?: WireBytes,
  ): Awaitable<HistoryAnswer> {
    if (this.#user === null) return { ok: false, reason: "not_in_room" };
    return this.#options.hub.historySlice(this.#user, room, query, wireBytes);
  }

  /** {@inheritDoc SessionPort.historyTargets} */
  historyTargets(from: number, to: number, limit: number): Awaitable<TargetsAnswer> {
    if (this.#user === null) return { ok: false, reason: "not_in_room" };
    return this.#options.hub.historyTargets(this.#user, from, to, limit);
  }

  /** {@inheritDoc SessionPort.setTopic} */
  setTopic(room: string, topic: string, ref?: string): Awaitable<void> {
    const hub = this.#options.hub;
    const found = hub.room(room);
    if (this.#user === null || found === undefined || !this.#user.rooms.has(found)) return;
    // As /topic: a guest on a server that requires accounts may not.
    if (hub.needsAccount(this.#user)) {
      hub.reply(this.#user, "account_required", "Only registered users can set topics here.", ref);
      return;
    }
    return hub.setTopic(this.#user, found, topic, ref);
  }

  /** {@inheritDoc SessionPort.announceRealname} */
  announceRealname(realname: string): boolean {
    return this.#user !== null && this.#options.hub.announceRealname(this.#user, realname);
  }

  /** {@inheritDoc SessionPort.settled} */
  settled(): Awaitable<void> {
    return this.#options.hub.flush();
  }

  /** {@inheritDoc SessionPort.isIn} */
  isIn(room: string): boolean {
    const found = this.#options.hub.room(room);
    return found !== undefined && this.#user !== null && this.#user.rooms.has(found);
  }

  /** {@inheritDoc SessionPort.anyRoom} */
  anyRoom(): string | undefined {
    for (const room of this.#user?.rooms ?? []) return room.name;
    return undefined;
  }

  /** {@inheritDoc SessionPort.oper} */
  oper(secret: string, ref: string): boolean {
    return this.#user !== null && this.#options.hub.moderation.oper(this.#user, secret, ref);
  }

  /** {@inheritDoc SessionPort.quit} */
  quit(): void {
    this.finish("quit", true);
  }

  /** Records a successful login. */
  #loggedIn(user: User): void {
    // An overflow during the welcome finishes us only after this (see #overflow), and that
    // finish logs the user out, so no ghost is left in the hub.
    this.#user = user;
    this.#options.logger.info("login", {
      remote: this.#remote(),
      nick: user.nick,
      mode: this.#codec.name,
    });
    // The connection ended while the login waited for the store: it is over for the user too.
    if (this.#finishing) this.#options.hub.logout(user, this.#reason);
  }

  /**
   * Tells the peer why its login failed. A fatal refusal (banned, server full, wrong password,
   * ...) is counted, logged and ends the connection; others (a nick taken) allow a retry.
   */
  #loginRefused(error: ErrorFrame, nick: string): void {
    this.send(error);
    if (!error.fatal) return;
    if (isRejectReason(error.code)) this.#options.metrics.rejected(error.code);
    this.#options.logger.info("login_refused", {
      remote: this.#remote(),
      // Cut to a nick's length: a refused hello's nick is unchecked and may be a frame long.
      nick: [...nick.slice(0, 4 * NICK_MAX_LENGTH)].slice(0, NICK_MAX_LENGTH).join(""),
      code: error.code,
    });
    // The log says why, once: the refusal's code, not a protocol error the client did not make.
    this.finish("protocol_error", true, error.code);
  }

  /** {@inheritDoc PeerSink.deliver} */
  deliver(out: Deliverable): void {
    if (this.#finishing || this.#overflowed) return;
    const bytes = this.#reader?.render === undefined
      ? out.encode(this.#codec)
      : this.#reader.render(out);
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

  /** Runs a slash command for this peer's user, and leaves if the command says so. */
  command(line: string, room: string, ref?: string): Awaitable<CommandOutcome> {
    if (this.#user === null) return {};
    return then(runCommand(this.#options.hub, this.#user, line, room, ref), (outcome) => {
      if (outcome.quit) this.finish("quit", true);
      else if (outcome.close) this.finish(outcome.close, true);
      return outcome;
    });
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
   *
   * @param logged The reason the log gives, when it says more than `reason` (a refused
   * login's error code: `bad_password`, `server_full`, `banned`).
   */
  finish(reason: LeaveReason, graceful: boolean, logged: string = reason): void {
    if (this.#finishing) return;
    this.#finishing = true;
    this.#reason = reason;
    clearTimeout(this.#holdTimer);
    this.#holdWake?.();
    this.#holdWake = null;
    if (this.#user !== null) this.#options.hub.logout(this.#user, reason);
    this.#options.logger.info("disconnect", {
      remote: this.#remote(),
      nick: this.#user?.nick,
      reason: logged,
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
    this.#queue.stopped().then(() => {
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
      if (this.#closesAtOnce) {
        // A person's netcat is not waited for: it reads the goodbye and EOF, and is closed.
        halfClosed.then(() => this.#hardClose(), () => this.#hardClose());
        return;
      }
      halfClosed.catch(() => this.#hardClose());
      this.#lingerTimer = setTimeout(() => this.#hardClose(), LINGER_MS);
    });
  }

  /** Runs the connection to its end. Never rejects. */
  async run(): Promise<void> {
    this.#queue.start(this.#conn, () => this.finish("dropped", false));
    const reader = new SocketReader(this.#conn);
    try {
      const start = await this.#open(reader, this);
      if (start !== null) {
        const { session, codec, pings } = start.opened;
        this.#codec = codec;
        this.#pinged = pings;
        this.#useExtras(session);
        session.start();
        // The read loop is inline (no generator over the reader): an idle peer then parks just
        // this function on the socket's own read promise.
        let batch = reader.start(start.first, { maxFrame: this.#options.maxFrame });
        while (true) {
          if (batch !== null) {
            this.#lastHeard = performance.now();
            this.#pingToken = null;
            if (this.#delaysFlood) this.#guard?.arrived(batch.more);
            // Synchronously, so that the hub commits a read's messages as one batch. A frame
            // whose handling waits for the store (a login, a join, with an engine across the
            // network) holds this peer's next frames, so they are handled in the order they came.
            for (const decoded of batch.frames) {
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
              const handled = session.frame(decoded.bytes);
              if (handled instanceof Promise) await handled;
            }
            if (!this.#finishing && !batch.more) session.endOfBatch();
          }
          if (reader.failed) break;
          const n = await reader.fill();
          if (n === null) break;
          batch = reader.took(n);
        }
      }
      // EOF: the peer closed its side. A quit frame has already finished us as "quit".
      this.finish(this.#finishing ? this.#reason : "dropped", true);
    } catch (error) {
      // A reset, a broken pipe or our own close() interrupting the read is routine; anything
      // else is a bug in handling this peer's frames, which must not pass in silence.
      if (!isIoError(error)) {
        this.#options.logger.error("connection_failed", {
          remote: this.#remote(),
          error: error instanceof Error ? `${error.stack ?? error}` : String(error),
        });
      }
      this.finish(this.#finishing ? this.#reason : "dropped", false);
    }
    await this.#queue.stopped();
    this.#hardClose();
  }

  /**
   * Flood control: true if a message (or command, or login line) of `bytes` bytes may be
   * handled. Sessions call it once per unit of work: an NDJSON frame, or a whole plain-text paste.
   * A dropped frame is answered with `rate_limited` when it is the first of a run of drops, and
   * also, naming it, when it carries a `ref` (found by `ref`, only then): its client can send that
   * one again. Past a burst's worth of drops in a run, no more are answered: a client that reads
   * its answers has stopped by then, and one that does not must not be fed a reply per frame.
   */
  admit(bytes: number, ref?: () => string | undefined): boolean {
    if (this.#guard === null) {
      this.#options.metrics.framesIn(1);
      return true;
    }
    const verdict = this.#guard.check(bytes);
    switch (verdict) {
      case "ok":
        this.#options.metrics.framesIn(1);
        return true;
      case "limited": {
        this.#options.metrics.rateLimited();
        const streak = this.#guard.streak;
        const named = streak <= this.#guard.limits.messageBurst ? ref?.() : undefined;
        if (streak === 1) {
          this.#options.logger.warn("rate_limited", {
            remote: this.#remote(),
            nick: this.#user?.nick,
          });
        }
        if (streak === 1 || named !== undefined) {
          this.send(errorFrame(
            "rate_limited",
            "You are sending too fast; that was dropped. Slow down, or you will be disconnected.",
            { ref: named },
          ));
        }
        return false;
      }
      case "disconnect":
        this.#options.metrics.rateLimited();
        this.send(errorFrame("rate_limited", "Flooding; closing the connection.", { fatal: true }));
        this.finish("flood", true);
        return false;
      default:
        return assertNever(verdict);
    }
  }

  /** {@inheritDoc SessionPort.hold} */
  hold(bytes: number): Awaitable<boolean> {
    if (this.#finishing) return false;
    if (this.#guard === null) {
      this.#options.metrics.framesIn(1);
      return true;
    }
    const wait = this.#guard.delay(bytes);
    if (wait === 0) {
      this.#options.metrics.framesIn(1);
      return true;
    }
    if (wait === null) {
      // A client that kept sending while its lines were held is not slowed down any longer.
      this.#options.metrics.rateLimited();
      this.#options.logger.warn("excess_flood", { remote: this.#remote(), nick: this.#user?.nick });
      this.send(errorFrame("rate_limited", "Excess Flood", { fatal: true }));
      this.finish("flood", true);
      return false;
    }
    return new Promise<boolean>((resolve) => {
      this.#holdWake = () => resolve(false);
      this.#holdTimer = setTimeout(() => {
        this.#holdTimer = undefined;
        this.#holdWake = null;
        resolve(this.hold(bytes));
      }, wait);
    });
  }

  /** A held frame's timer (see {@linkcode Peer.hold}), cleared when the connection ends. */
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** Ends a held frame's wait early (the connection is ending). */
  #holdWake: (() => void) | null = null;

  /** Takes up a session's optional parts: its own rendering, closing at once. */
  #useExtras(session: ProtocolSession): void {
    if (session.render !== undefined) this.#reader = session;
    this.#closesAtOnce = session.closesAtOnce === true;
    this.#delaysFlood = session.delaysFlood === true;
    this.#session = session;
  }

  /** `host:port`, for the log: made when a line is logged, not kept by every idle peer. */
  #remote(): string {
    const addr = this.#conn.remoteAddr as Deno.NetAddr;
    return `${addr.hostname}:${addr.port}`;
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
