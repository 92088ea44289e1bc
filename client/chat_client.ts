/**
 * The client side of the NDJSON protocol: connect, hello, send with refs, and a stream of
 * server frames. It knows nothing about terminals.
 *
 * @module
 */

import { connectTls, TlsError } from "../transport/tcp/tls.ts";
import {
  type CommandFrame,
  type ErrorFrame,
  type FloodLimits,
  type HelloFrame,
  type IdentityKind,
  LOBBY,
  PROTOCOL_VERSION,
  type SayFrame,
  type ServerFrame,
  type WelcomeFrame,
} from "../protocol/frames.ts";
import type { Link } from "../transport/link.ts";
import { writeAll } from "../transport/outbound_queue.ts";
import { ClientError, lostConnection } from "./client_error.ts";
import { type Incoming, readServerFrames } from "./frame_reader.ts";
import { CONNECT_TIMEOUT_MS, MAX_UNANSWERED, MAX_UNSENT_BYTES } from "./limits.ts";
import { Pacer } from "./pacer.ts";
import { serverTarget } from "./identity_key.ts";
import { speaksTls, TLS_PORT_HINT } from "./tls_probe.ts";

export { ClientError } from "./client_error.ts";

/** How long the server may take to answer the hello before the client gives up. */
export const LOGIN_TIMEOUT_MS = 10_000;

/**
 * Times a message or command refused `rate_limited` is sent again before the refusal is the
 * answer. A client pacing itself is refused only when something else spent the server's tokens
 * (a server whose limits were lowered, a clock running fast); three more tries, each after the
 * buckets refill, get through that, while a server that refuses everything still ends it soon.
 */
export const MAX_RATE_RETRIES = 3;

const encoder = new TextEncoder();

/**
 * What a client runs over: a socket, or any other byte link to a server (such as an in-process
 * one for a front end that hosts the client inside the server).
 */
export type ChatConn = Pick<Link, "read" | "write" | "closeWrite" | "close">;

/** Signs one server's login challenge with the client's key for it (see `client/identity_key.ts`). */
export interface ChallengeSigner {
  /** The public key as an OpenSSH line, sent in the hello. */
  readonly publicLine: string;
  /** The base64 signature answering a challenge's base64 `nonce`. */
  prove(nonce: string): Promise<string>;
}

/**
 * The client's own key, which gives each server a key of its own: a server can then never pass
 * another server's challenge on to this client and log in there with the answer.
 */
export interface ServerKeySource {
  /** The key for `target`, the `host:port` dialled as `serverTarget` writes it. */
  forServer(target: string): Promise<ChallengeSigner>;
}

/** What proves who the client is, beyond its nick. Shared by a client's reconnections. */
export interface ClientIdentity {
  /**
   * The client's own key: the key derived from it for the server dialled is offered in every
   * hello, and proven when the server challenges it.
   */
  key?: ServerKeySource;
  /** The password of the account that owns the nick; set by `connect` once it has asked. */
  accountPassword?: string;
  /** Words to add to a `nick_registered` refusal this client cannot answer: what to do. */
  hint?: (need: IdentityKind | undefined) => string;
}

/** A login the server refused: its error frame's code, and what would prove the nick. */
export class LoginRefused extends ClientError {
  /** With `nick_registered`: what proves the nick (a password, or only its key). */
  readonly need?: IdentityKind;
  /** The server closes the connection after it. */
  readonly fatal: boolean;

  /** From the server's error frame. */
  constructor(frame: ErrorFrame, message: string = frame.message) {
    super(message, frame.code);
    this.need = frame.need;
    this.fatal = frame.fatal === true;
  }

  /** True when the account password (again, after a wrong one) could get this login through. */
  get wantsAccountPassword(): boolean {
    return !this.fatal && (this.code === "bad_account_password" ||
      (this.code === "nick_registered" && this.need === "password"));
  }
}

/** Where to connect and as whom. */
export interface ConnectOptions {
  /** The server's host name or address (with `dial`: only the server's name in messages). */
  host: string;
  /** The server's port (unused with `dial`). */
  port: number;
  /**
   * Opens the connection instead of TCP or TLS to `host:port` (for a client hosted inside the
   * server). @default Deno.connect, or TLS with `secure`
   */
  dial?: () => Promise<ChatConn>;
  /** The nick to log in as. */
  nick: string;
  /** Rooms to rejoin, each with the last message id seen there (see `hello.resume`). */
  resume?: Record<string, number>;
  /** The server password, for servers that have one. */
  password?: string;
  /** The client's key and account password, if any (kept across reconnections). */
  identity?: ClientIdentity;
  /**
   * The address (as `serverTarget` writes it) whose key to offer. `join a,b` offers the first
   * address's key on every node: they are one chat, sharing its accounts.
   * @default this connection's own `host:port`
   */
  keyServer?: string;
  /**
   * Asks the user for the account password of `nick` when the server says the nick is a
   * password account (`wrong`: the last one was refused); null or "" gives up. Absent: such a
   * refusal ends the login. The answer is kept in `identity` for reconnections.
   */
  askAccountPassword?: (nick: string, wrong: boolean) => Promise<string | null>;
  /** How long to wait for the welcome. @default LOGIN_TIMEOUT_MS */
  loginTimeoutMs?: number;
  /** How long the connection itself may take. @default CONNECT_TIMEOUT_MS */
  connectTimeoutMs?: number;
  /** Connect with TLS; `caCerts` replaces the system roots when given. @default plain TCP */
  secure?: { caCerts?: string[] };
  /**
   * Send messages and commands no faster than the flood limits the welcome gives, and send one
   * refused `rate_limited` again (see {@linkcode MAX_RATE_RETRIES}). False sends each at once,
   * as an old client did. @default true
   */
  pace?: boolean;
}

/** Something the user sent that the server has not answered yet. */
export interface Sent {
  /** Chat text or a slash command: what an answer to it will look like. */
  kind: "say" | "command";
  /** The room it was sent to (the current room, for commands). */
  room: string;
  /** The message text, or the command line. */
  text: string;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1).replace(/\.$/, "");
}

/** Describes a connection failure in words. */
function connectFailure(host: string, port: number, error: unknown): ClientError {
  const what = error instanceof Deno.errors.ConnectionRefused
    ? "connection refused (is the server running?)"
    : error instanceof Error
    ? error.message
    : String(error);
  return new ClientError(`cannot connect to ${host}:${port}: ${what}`);
}

/**
 * Opens a connection with `open`, failing after `ms`: an address whose host is gone would
 * otherwise hold the client for the system's TCP timeout. A connection that arrives after
 * the deadline is closed.
 */
async function connectWithin(open: () => Promise<ChatConn>, ms: number): Promise<ChatConn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const opening = open();
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      opening.then(closeQuietly, () => {});
      reject(new Error(`no answer within ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([opening, late]);
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: ChatConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/**
 * Reads the server's answer to the hello: its welcome, or why there is none. A `challenge` on
 * the way is answered with `prove` (the hello offered a key).
 */
async function awaitWelcome(
  frames: AsyncGenerator<Incoming>,
  prove: (nonce: string) => Promise<void>,
): Promise<WelcomeFrame> {
  // Not for-await: leaving that loop would end the generator, which must go on after the welcome.
  for (let next = await frames.next(); !next.done; next = await frames.next()) {
    const incoming = next.value;
    // A plain greeting may come first (the server took us for a person until the hello came).
    if (incoming.kind === "plain") continue;
    if (incoming.kind === "invalid") {
      throw new ClientError(`the server answered the login with ${incoming.problem}`);
    }
    const frame = incoming.frame;
    if (frame.type === "error") throw new LoginRefused(frame);
    if (frame.type === "challenge") {
      await prove(frame.nonce);
      continue;
    }
    if (frame.type !== "welcome") {
      throw new ClientError(`the server answered the login with "${frame.type}"`);
    }
    return frame;
  }
  throw new ClientError("the server closed the connection during login");
}

/** A connected, logged-in client. */
export class ChatClient {
  /** What the server said on login. */
  readonly welcome: WelcomeFrame;
  readonly #conn: ChatConn;
  readonly #target: string;
  readonly #frames: AsyncGenerator<Incoming>;
  /** Unanswered requests by ref, oldest first; at most {@linkcode MAX_UNANSWERED}. */
  readonly #pending = new Map<string, Sent>();
  #nextRef = 1;
  #settled: (() => void) | null = null;
  readonly #answered = new Map<string, () => void>();
  #ended = false;
  #writes: Promise<void> = Promise.resolve();
  /** Bytes handed to {@linkcode ChatClient.#write} and not yet written. */
  #unsent = 0;
  #closed = false;
  /** Why the client itself ended the connection, to report instead of the read it cut short. */
  #failure: ClientError | null = null;
  /** Paces messages and commands within the server's flood limits; null: none given, or off. */
  readonly #pacer: Pacer | null;
  /** How often each unanswered request was refused `rate_limited` and sent again. */
  readonly #retried = new Map<string, number>();

  private constructor(
    conn: ChatConn,
    target: string,
    frames: AsyncGenerator<Incoming>,
    welcome: WelcomeFrame,
    pace: boolean,
  ) {
    this.#conn = conn;
    this.#target = target;
    this.#frames = frames;
    this.welcome = welcome;
    const limits = floodLimits(welcome);
    this.#pacer = pace && limits !== null
      ? new Pacer({ limits, write: (bytes) => this.#writeBytes(bytes) })
      : null;
  }

  /**
   * Connects and logs in; throws {@linkcode ClientError} with a sentence on any failure. A nick
   * that is a password account is asked for (`askAccountPassword`) and tried again on a new
   * connection, so the server's handshake deadline never runs while a person types.
   */
  static async connect(options: ConnectOptions): Promise<ChatClient> {
    const identity = options.identity ?? {};
    while (true) {
      try {
        return await ChatClient.#connectOnce(options, identity);
      } catch (error) {
        if (!(error instanceof LoginRefused)) throw error;
        const ask = options.askAccountPassword;
        if (ask === undefined || !error.wantsAccountPassword) {
          throw error.code === "nick_registered" && identity.hint !== undefined
            ? new LoginRefused(
              { type: "error", code: error.code, message: error.message, need: error.need },
              `${refusalLead(error.message)}; ${identity.hint(error.need)}`,
            )
            : error;
        }
        const answer = await ask(options.nick, error.code === "bad_account_password");
        if (answer === null || answer === "") throw error;
        identity.accountPassword = answer;
      }
    }
  }

  static async #connectOnce(
    options: ConnectOptions,
    identity: ClientIdentity,
  ): Promise<ChatClient> {
    const target = options.dial ? options.host : `${options.host}:${options.port}`;
    // The key for the address dialled (or the chat's first one), never the key file's own: see
    // ServerKeySource.
    const key = await identity.key?.forServer(
      options.keyServer ?? serverTarget(options.host, options.port),
    );
    let conn: ChatConn;
    try {
      conn = await connectWithin(
        options.dial ?? (() =>
          options.secure
            ? connectTls({
              hostname: options.host,
              port: options.port,
              caCerts: options.secure.caCerts,
            })
            : Deno.connect({ hostname: options.host, port: options.port })),
        options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      );
    } catch (error) {
      if (error instanceof TlsError) throw new ClientError(lowerFirst(error.message));
      throw connectFailure(options.host, options.port, error);
    }
    const frames = readServerFrames(conn, { target });
    const hello: HelloFrame = { type: "hello", v: PROTOCOL_VERSION, nick: options.nick };
    if (options.resume !== undefined && Object.keys(options.resume).length > 0) {
      hello.resume = options.resume;
    }
    if (options.password !== undefined) hello.password = options.password;
    if (identity.accountPassword !== undefined) hello.accountPassword = identity.accountPassword;
    if (key !== undefined) hello.key = key.publicLine;
    const prove = async (nonce: string) => {
      if (key === undefined) {
        throw new ClientError("the server sent a challenge to a client with no key");
      }
      await writeAll(conn, encode({ type: "prove", sig: await key.prove(nonce) }));
    };
    const timeoutMs = options.loginTimeoutMs ?? LOGIN_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    try {
      await writeAll(conn, encode(hello));
      // A silent server would hold the login forever: closing the socket ends the read.
      timer = setTimeout(() => {
        timedOut = true;
        closeQuietly(conn);
      }, timeoutMs);
      const welcome = await awaitWelcome(frames, prove).catch((error) => {
        if (timedOut) return null;
        throw error;
      });
      if (welcome === null) {
        throw new ClientError(`the server did not answer the login within ${timeoutMs / 1000} s`);
      }
      return new ChatClient(conn, target, frames, welcome, options.pace ?? true);
    } catch (error) {
      closeQuietly(conn);
      const failure = lostConnection(`${target} during login`, error);
      // A plain hello on a TLS port is dropped without a word: ask the port whether it is one.
      // A refusal (it has a code) or a silent server (timed out) is a server speaking NDJSON.
      if (
        options.secure === undefined && options.dial === undefined &&
        failure.code === undefined && !timedOut &&
        !failure.message.includes(TLS_PORT_HINT) && await speaksTls(options.host, options.port)
      ) {
        throw new ClientError(`${failure.message}. ${TLS_PORT_HINT}`);
      }
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The server as dialled (`host:port`), for messages. */
  get target(): string {
    return this.#target;
  }

  /** Messages sent but not yet acknowledged. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Bytes sent but not yet written to the socket (the server is slow to read them). */
  get unsentBytes(): number {
    return this.#unsent;
  }

  /** Resolves once everything sent so far has been written, or has failed to be. */
  flushed(): Promise<void> {
    return this.#writes;
  }

  /**
   * Sends a room message; returns its ref. Past the server's flood burst it waits its turn
   * ({@linkcode ChatClient.waiting}) and goes out at the server's rate.
   */
  send(text: string, room: string = LOBBY): string {
    const sent: Sent = { kind: "say", room, text };
    const ref = this.#remember(sent);
    this.#paced(ref, sent);
    return ref;
  }

  /**
   * Sends a slash command for the server to run, with the current room; returns its ref. It is
   * paced as messages are.
   */
  command(line: string, room: string): string {
    const sent: Sent = { kind: "command", room, text: line };
    const ref = this.#remember(sent);
    this.#paced(ref, sent);
    return ref;
  }

  /** True when messages and commands are paced (the welcome gave the server's flood limits). */
  get paces(): boolean {
    return this.#pacer !== null;
  }

  /** True while what was sent with `ref` waits for the server's flood limits to let it go. */
  waiting(ref: string): boolean {
    return this.#pacer?.holds(ref) ?? false;
  }

  /** Resolves once what was sent with `ref` has gone out (or the connection ended). */
  released(ref: string): Promise<void> {
    return this.#pacer?.released(ref) ?? Promise.resolve();
  }

  /** Answers a server ping. */
  pong(token: string): void {
    this.#write({ type: "pong", token });
  }

  /** What was sent with `ref`, while it is unanswered. */
  sent(ref: string | undefined): Sent | undefined {
    return ref === undefined ? undefined : this.#pending.get(ref);
  }

  /** Everything still unanswered, oldest first (for telling the user after a lost connection). */
  unanswered(): Sent[] {
    return [...this.#pending.values()];
  }

  /** Marks what was sent with `ref` as answered and returns it. */
  settle(ref: string | undefined): Sent | undefined {
    if (ref === undefined) return undefined;
    const sent = this.#pending.get(ref);
    this.#pending.delete(ref);
    this.#retried.delete(ref);
    this.#answered.get(ref)?.();
    this.#answered.delete(ref);
    if (this.#pending.size === 0 && this.#settled !== null) {
      this.#settled();
      this.#settled = null;
    }
    return sent;
  }

  /** Resolves once what was sent with `ref` is answered, or the connection has ended. */
  answered(ref: string): Promise<void> {
    if (this.#ended || !this.#pending.has(ref)) return Promise.resolve();
    return new Promise((resolve) => this.#answered.set(ref, resolve));
  }

  /** Resolves once every message sent so far has been acknowledged or refused. */
  whenSettled(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#settled = resolve));
  }

  /**
   * What the server sends after the welcome, until the connection ends; throws only
   * {@linkcode ClientError}. A frame answering something sent (it carries the ref) is settled
   * once the consumer has handled it, so {@linkcode sent} still finds the request while the
   * answer is being handled.
   */
  async *frames(): AsyncGenerator<Incoming> {
    try {
      for await (const incoming of this.#frames) {
        if (incoming.kind === "frame" && this.#retry(incoming.frame)) continue;
        yield incoming;
        // Every answer to something we sent carries its ref; the consumer has seen it now.
        if (incoming.kind === "frame" && "ref" in incoming.frame) this.settle(incoming.frame.ref);
      }
    } catch (error) {
      if (this.#failure === null && this.#closed) return;
      throw this.#failure ?? lostConnection(this.#target, error);
    } finally {
      this.#end();
    }
    if (this.#failure !== null) throw this.#failure;
  }

  /**
   * Says goodbye; the server then closes, which ends {@linkcode frames}. A reason goes as the
   * `/quit` command, which tells the rooms it.
   */
  async quit(reason?: string): Promise<void> {
    this.#write(reason ? { type: "cmd", line: `/quit ${reason}` } : { type: "quit" });
    await this.#writes;
  }

  /** Closes the socket at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end();
    closeQuietly(this.#conn);
  }

  /** Keeps a request until it is answered, forgetting the oldest beyond the cap. */
  #remember(sent: Sent): string {
    const ref = String(this.#nextRef++);
    if (this.#pending.size >= MAX_UNANSWERED) {
      const [oldest] = this.#pending.keys();
      this.settle(oldest);
    }
    this.#pending.set(ref, sent);
    return ref;
  }

  /**
   * Sends again, and hides, a flood refusal of something we sent, while it has tries left:
   * true if `frame` was such a refusal. The last refusal is the answer, as any error is.
   */
  #retry(frame: ServerFrame): boolean {
    if (this.#pacer === null || frame.type !== "error" || frame.code !== "rate_limited") {
      return false;
    }
    const ref = frame.ref;
    const sent = ref === undefined ? undefined : this.#pending.get(ref);
    if (ref === undefined || sent === undefined || frame.fatal) return false;
    const tries = this.#retried.get(ref) ?? 0;
    if (tries >= MAX_RATE_RETRIES) return false;
    this.#retried.set(ref, tries + 1);
    this.#pacer.retry(ref, encode(wireFrame(ref, sent)));
    return true;
  }

  /** Hands a message or command to the pacer, or writes it at once when there is none. */
  #paced(ref: string, sent: Sent): void {
    if (this.#closed) return;
    const bytes = encode(wireFrame(ref, sent));
    if (this.#pacer === null) this.#writeBytes(bytes);
    else this.#pacer.send(ref, bytes);
  }

  /** No answers will come: release everyone waiting for one. */
  #end(): void {
    this.#ended = true;
    this.#pacer?.close();
    for (const resolve of this.#answered.values()) resolve();
    this.#answered.clear();
  }

  #write(frame: unknown): void {
    if (this.#closed) return;
    this.#writeBytes(encode(frame));
  }

  #writeBytes(bytes: Uint8Array): void {
    if (this.#closed) return;
    // The backlog stays within the cap plus one frame, however large that frame is.
    if (this.#unsent >= MAX_UNSENT_BYTES) {
      this.#failure = new ClientError(
        `${this.#target} stopped reading: ${this.#unsent} bytes wait to be sent; ` +
          "closed the connection",
      );
      this.close();
      return;
    }
    this.#unsent += bytes.length;
    const written = () => {
      this.#unsent -= bytes.length;
    };
    this.#writes = this.#writes.then(() => writeAll(this.#conn, bytes)).then(written, () => {
      // A failed write means the connection is gone; the frame reader reports that.
      written();
    });
  }
}

/** Describes an error frame in one line. */
export function describeError(frame: ErrorFrame): string {
  return `${frame.code}: ${frame.message}`;
}

/** The frame that carries `sent` with `ref`. */
function wireFrame(ref: string, sent: Sent): SayFrame | CommandFrame {
  return sent.kind === "say"
    ? { type: "msg", room: sent.room, text: sent.text, ref }
    : { type: "cmd", line: sent.text, room: sent.room, ref };
}

/** The welcome's flood limits, when it gives all of them (a server from before them gives none). */
function floodLimits(welcome: WelcomeFrame): FloodLimits | null {
  const { rate, burst, rateBytes, burstBytes } = welcome.limits;
  if (rate === undefined || burst === undefined) return null;
  if (rateBytes === undefined || burstBytes === undefined) return null;
  return { rate, burst, rateBytes, burstBytes };
}

function encode(frame: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(frame) + "\n");
}

/**
 * The part of a `nick_registered` refusal that says whose the nick is, without the server's
 * advice after its first `: ` (the client's hint gives advice fit for this client instead of
 * repeating it): `The nickname "bob" is registered to a password account`.
 */
function refusalLead(message: string): string {
  const colon = message.indexOf(": ");
  return colon > 0 ? message.slice(0, colon) : message.replace(/\.$/, "");
}
