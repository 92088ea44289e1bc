/**
 * What an authenticated SSH connection may do: open one session channel and run the chat in it
 * (a shell, with or without a pty). Everything else is refused at once, at no cost: exec and
 * subsystems (sftp) get a sentence on the channel's stderr, a non-zero exit-status and a close;
 * X11 and agent forwarding, port forwarding both ways (`-L`, `-D`, `-R`) and second sessions are
 * refused at the protocol level, where OpenSSH itself tells the user. A connection that has not
 * started its chat within {@linkcode SSH_SESSION_START_MS} of logging in is closed, so a refused
 * `ssh -N` holds nothing.
 *
 * The chat runs the terminal client inside the server (see `HostedChat`); each login attempt it
 * makes dials a new in-process link, served as an NDJSON peer that carries the SSH key.
 *
 * @module
 */

import type { Duplex, Writable } from "node:stream";
import {
  SSH_INPUT_BURST_BYTES,
  SSH_INPUT_BYTES_PER_SECOND,
  SSH_INPUT_CPU_BURST_MS,
  SSH_INPUT_CPU_MS_PER_SECOND,
  SSH_INPUT_SLICE_BYTES,
  SSH_MAX_DIALS,
  SSH_MAX_REFUSALS,
  SSH_MAX_WINDOW_CHANGES,
  SSH_PTY_COLUMNS,
  SSH_PTY_ROWS,
  SSH_RESIZE_INTERVAL_MS,
  SSH_SESSION_START_MS,
  SSH_WINDOW_CHANGE_PERIOD_MS,
} from "../../config/ssh_limits.ts";
import type { KeyProof } from "../../core/identity.ts";
import type { Logger } from "../../log/logger.ts";
import type { Link } from "../link.ts";
import { linkPair } from "../memory/link_pair.ts";
import type { SshIdentity } from "./auth.ts";
import type { Channel, PtyInfo, Session, SshConnection } from "./ssh2.ts";

/** A connection the chat client inside the server talks over (a `ChatConn`). */
export type HostedConn = Pick<Link, "read" | "write" | "closeWrite" | "close">;

/** What the chat hosted in a session is given (the contract of `client/embedded.ts`). */
export interface HostedChatOptions {
  /** Opens a new in-process connection to the server: each login attempt gets its own. */
  dial(): Promise<HostedConn>;
  /** The nick asked for (the SSH user name). */
  nick: string;
  /** The server password, collected at authentication (keyboard-interactive). */
  password?: string;
  /** The nick's account password, collected at authentication, sent in the hello. */
  accountPassword?: string;
  /** The SSH session channel: keystrokes or piped lines in, the user's screen out. */
  channel: Duplex;
  /** The channel's stderr (refusals, failures in piped mode). */
  stderr: Writable;
  /** With a pty: its size and the env the client sent (TERM, NO_COLOR, LANG...); null: piped. */
  pty: { columns: number; rows: number; env: Record<string, string> } | null;
  /** Told each time a login succeeds (the server welcomed the chat). */
  loggedIn?(): void;
}

/** A running hosted chat. */
export interface HostedChat {
  /** A window-change request. */
  resize(columns: number, rows: number): void;
  /**
   * The exit status once the chat has ended (0: the user left; piped: after every line is
   * acknowledged).
   */
  readonly done: Promise<number>;
  /** Ends at once (the SSH connection went away). */
  close(): void;
}

/** Starts the chat in a session channel: `startEmbeddedChat` from `client/embedded.ts`. */
export type HostedChatStarter = (options: HostedChatOptions) => HostedChat;

/** Environment variables a session keeps for the chat: how the client wants text shown. */
const KEPT_ENV = new Set(["TERM", "NO_COLOR", "LANG", "LC_ALL", "LC_CTYPE", "COLORFGBG"]);

/** Longest environment value kept. */
const MAX_ENV_VALUE = 256;

/**
 * A terminal size asked by a client, brought into the range a chat is drawn at (0, unknown,
 * stays 0: the chat then assumes a default).
 *
 * @example
 * ```ts
 * saneSize(1, 50_000); // { columns: 20, rows: 1000 }
 * ```
 */
export function saneSize(columns: number, rows: number): { columns: number; rows: number } {
  const clamp = (n: number, range: { min: number; max: number }) =>
    !Number.isFinite(n) || n <= 0 ? 0 : Math.min(range.max, Math.max(range.min, Math.trunc(n)));
  return { columns: clamp(columns, SSH_PTY_COLUMNS), rows: clamp(rows, SSH_PTY_ROWS) };
}

/** Settings for {@linkcode SshSessions}. */
export interface SshSessionsOptions {
  /** The authenticated connection. */
  connection: SshConnection;
  /** Who authenticated. */
  identity: SshIdentity;
  /** The SSH client's address: the in-process links' remote address. */
  remote: Deno.NetAddr;
  /** Serves the server end of an in-process link as a peer proving `key`. */
  serve(link: Link, acceptedAt: number, key: KeyProof | undefined): Promise<void>;
  /** Starts the chat, or null while the hosted client is not available (the shell is refused). */
  startChat: HostedChatStarter | null;
  /** Where refusals are logged. */
  logger: Logger;
  /**
   * Told once the chat's first login succeeded (the server welcomed it): the connection stops
   * counting as a login in progress, and its handshake deadline is over.
   */
  loggedIn(): void;
  /** Ends the whole connection. */
  end(why: string): void;
  /** Closes the socket unless the client hangs up first (after its last channel). */
  hangUp(): void;
}

/**
 * The channels and requests of one authenticated connection.
 *
 * @example
 * ```ts
 * declare const options: SshSessionsOptions;
 * const sessions = new SshSessions(options); // listens on options.connection
 * sessions.close(); // the connection went away
 * ```
 */
export class SshSessions {
  readonly #options: SshSessionsOptions;
  #session = false;
  #chat: HostedChat | null = null;
  #refusals = 0;
  #dials = 0;
  /** Session channels opened: the first runs the chat, the second is told why not. */
  #sessions = 0;
  #windowChanges = 0;
  #windowPeriodStart = performance.now();
  /** The latest size asked, waiting for {@linkcode SSH_RESIZE_INTERVAL_MS} since the last. */
  #pendingSize: { columns: number; rows: number } | null = null;
  #resizeTimer: ReturnType<typeof setTimeout> | undefined;
  #lastResize = -Infinity;
  #inputBudget: { stop(): void } | null = null;
  #closed = false;
  #welcomed = false;
  /** The chat's channel, once it has started. */
  #channel: Channel | null = null;
  readonly #links = new Set<HostedConn>();
  readonly #startTimer: ReturnType<typeof setTimeout>;

  /** Takes over the connection's channel and request events. */
  constructor(options: SshSessionsOptions) {
    this.#options = options;
    const { connection } = options;
    connection.on("session", (accept, reject) => {
      if (this.#closed) {
        reject();
        return;
      }
      this.#sessions++;
      if (this.#sessions > 2) {
        // Each accepted channel costs memory until it closes: only one is ever told why not.
        reject();
        this.#refused("session");
        return;
      }
      // A second session (OpenSSH's connection sharing) is let in only to be told why not, and
      // counts as a refusal whether or not it asks for anything.
      if (this.#sessions === 2) this.#refused("second_session_open");
      this.#take(accept(), this.#session);
      this.#session = true;
    });
    connection.on("request", (_accept, reject, name) => {
      reject?.();
      this.#refused(name);
    });
    // direct-tcpip (-L, -D) and streamlocal channels have no listener: ssh2 refuses them as
    // "administratively prohibited", which OpenSSH shows the user, before any channel exists.
    this.#startTimer = setTimeout(() => {
      if (this.#chat === null) this.#options.end("no chat session started");
    }, SSH_SESSION_START_MS);
  }

  /** The connection is gone: ends the chat and every in-process link. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#startTimer);
    clearTimeout(this.#resizeTimer);
    this.#inputBudget?.stop();
    this.#chat?.close();
    for (const link of this.#links) {
      try {
        link.close();
      } catch {
        // already closed
      }
    }
  }

  #take(session: Session, second: boolean): void {
    // Filled in by the requests that come before the shell.
    const asked: { pty: PtyInfo | null; env: Record<string, string> } = { pty: null, env: {} };
    const env = asked.env;
    session.on("pty", (accept, _reject, info) => {
      const { columns, rows } = saneSize(info.cols, info.rows);
      asked.pty = { ...info, cols: columns, rows };
      accept?.();
    });
    session.on("env", (accept, _reject, { key, val }) => {
      if (KEPT_ENV.has(key) && val.length <= MAX_ENV_VALUE) env[key] = val;
      accept?.();
    });
    session.on("window-change", (accept, _reject, info) => {
      accept?.();
      if (!this.#windowChanged()) return;
      const size = saneSize(info.cols, info.rows);
      if (this.#chat !== null) this.#resize(size);
      else if (asked.pty !== null) {
        asked.pty = { ...asked.pty, cols: size.columns, rows: size.rows };
      }
    });
    session.on("x11", (_accept, reject) => {
      reject?.();
      this.#refused("x11");
    });
    session.on("auth-agent", (_accept, reject) => {
      reject?.();
      this.#refused("auth-agent");
    });
    session.on("signal", (accept) => accept?.());
    session.on("exec", (accept, _reject, { command }) => {
      this.#refuseChannel(
        accept(),
        "exec",
        `sockchat: this server is a chat and runs no commands (asked: ${
          JSON.stringify(command.slice(0, 60))
        }). Connect without one to chat.`,
      );
    });
    session.on("subsystem", (accept, _reject, { name }) => {
      this.#refuseChannel(
        accept(),
        `subsystem:${name}`,
        `sockchat: this server is a chat; the ${
          JSON.stringify(name.slice(0, 40))
        } subsystem (sftp, scp) is not available.`,
      );
    });
    session.on("shell", (accept) => {
      const channel = accept();
      if (second) {
        this.#refuseChannel(
          channel,
          "second_session",
          "sockchat: this SSH connection already has its chat; one chat per connection.",
        );
        return;
      }
      const pty = asked.pty;
      if (pty !== null) env.TERM ??= pty.term;
      this.#start(channel, pty === null ? null : { columns: pty.cols, rows: pty.rows, env });
    });
  }

  #start(channel: Channel, pty: HostedChatOptions["pty"]): void {
    const { startChat, identity } = this.#options;
    this.#quietErrors(channel);
    this.#inputBudget = budgetInput(channel);
    if (startChat === null || this.#closed) {
      this.#refuseChannel(channel, "shell", "sockchat: the chat is not available here yet.");
      return;
    }
    clearTimeout(this.#startTimer);
    this.#channel = channel;
    const chat = startChat({
      dial: () => this.#dial(),
      nick: identity.nick,
      ...(identity.password === undefined ? {} : { password: identity.password }),
      ...(identity.accountPassword === undefined
        ? {}
        : { accountPassword: identity.accountPassword }),
      channel,
      stderr: channel.stderr,
      pty,
      loggedIn: () => {
        if (this.#welcomed) return;
        this.#welcomed = true;
        this.#options.loggedIn();
      },
    });
    this.#chat = chat;
    chat.done.then((status) => {
      if (this.#closed) return;
      channel.exit(status);
      channel.end();
      // The client leaves once it has the exit status and the channel's close; a disconnect
      // sent now could overtake them (OpenSSH would then exit 255). The socket is closed only
      // if the client has not hung up within SSH_HANGUP_MS.
      this.#options.hangUp();
    }, () => {
      if (!this.#closed) this.#options.end("chat failed");
    });
  }

  /**
   * Counts a window-change; false (and the connection ended) past
   * {@linkcode SSH_MAX_WINDOW_CHANGES} in a period.
   */
  #windowChanged(): boolean {
    const now = performance.now();
    if (now - this.#windowPeriodStart >= SSH_WINDOW_CHANGE_PERIOD_MS) {
      this.#windowPeriodStart = now;
      this.#windowChanges = 0;
    }
    this.#windowChanges++;
    if (this.#windowChanges <= SSH_MAX_WINDOW_CHANGES) return true;
    if (this.#windowChanges === SSH_MAX_WINDOW_CHANGES + 1) {
      this.#options.end("too many window changes");
    }
    return false;
  }

  /**
   * Resizes the chat to `size`, at most once per {@linkcode SSH_RESIZE_INTERVAL_MS}: a size asked
   * sooner waits, replaced by any later one, so the chat ends up at the last size asked.
   */
  #resize(size: { columns: number; rows: number }): void {
    this.#pendingSize = size;
    if (this.#resizeTimer !== undefined || this.#closed) return;
    const apply = () => {
      this.#resizeTimer = undefined;
      const pending = this.#pendingSize;
      this.#pendingSize = null;
      if (pending === null || this.#closed) return;
      this.#lastResize = performance.now();
      this.#chat?.resize(pending.columns, pending.rows);
    };
    const wait = this.#lastResize + SSH_RESIZE_INTERVAL_MS - performance.now();
    if (wait <= 0) apply();
    else this.#resizeTimer = setTimeout(apply, wait);
  }

  /** A new in-process connection to the chat, served as a peer carrying the SSH key. */
  #dial(): Promise<HostedConn> {
    if (this.#closed) return Promise.reject(new Deno.errors.ConnectionRefused("closed"));
    if (++this.#dials > SSH_MAX_DIALS) {
      return Promise.reject(
        new Deno.errors.ConnectionRefused(`at most ${SSH_MAX_DIALS} logins per SSH session`),
      );
    }
    const [client, server] = linkPair({ remoteAddr: this.#options.remote });
    this.#links.add(client);
    void this.#options.serve(server, performance.now(), this.#options.identity.key)
      .finally(() => this.#links.delete(client));
    return Promise.resolve(client);
  }

  /**
   * The login deadline passed before any login succeeded (a user left at the `Nickname: `
   * prompt): says so on the chat's channel, then ends the connection.
   */
  loginTimedOut(seconds: number): void {
    if (this.#closed) return;
    const channel = this.#channel;
    if (channel !== null) {
      channel.stderr.write(`\r\nsockchat: no login within ${seconds} s; closing.\r\n`);
      channel.exit(1);
      channel.end();
    }
    this.#chat?.close();
    this.#options.end("no login in time");
  }

  /** Refuses an accepted exec/subsystem channel: a sentence on stderr, exit 1, close. */
  #refuseChannel(channel: Channel, what: string, message: string): void {
    this.#quietErrors(channel);
    channel.stderr.write(`${message}\r\n`);
    channel.exit(1);
    channel.end();
    this.#refused(what);
  }

  /**
   * A channel written to after its client went away emits "error"; unheard, that would be an
   * uncaught exception taking the whole server down. The connection's own close ends the chat.
   */
  #quietErrors(channel: Channel): void {
    const log = (error: Error) =>
      this.#options.logger.debug("ssh_channel_error", { error: error.message });
    channel.on("error", log);
    channel.stderr.on("error", log);
  }

  /** Counts a refusal; too many end the connection. */
  #refused(what: string): void {
    const remote = this.#options.remote;
    this.#options.logger.debug("ssh_refused", {
      remote: `${remote.hostname}:${remote.port}`,
      request: what,
    });
    if (++this.#refusals > SSH_MAX_REFUSALS) this.#options.end("too many refused requests");
  }
}

/** The internals of an `ssh2` channel that {@linkcode budgetInput} takes over. */
interface ChannelInternals {
  push(chunk: Uint8Array | null): boolean;
  _read(size: number): void;
}

/**
 * Holds a session channel's incoming bytes to {@linkcode SSH_INPUT_BYTES_PER_SECOND}, with
 * bursts up to {@linkcode SSH_INPUT_BURST_BYTES} (a token bucket), and hands them to the chat
 * {@linkcode SSH_INPUT_SLICE_BYTES} at a time, one slice per turn of the event loop, so that
 * even a burst's worth of costly keys never holds up everyone else at once. The time the chat
 * takes over each slice is charged too ({@linkcode SSH_INPUT_CPU_MS_PER_SECOND}): bytes alone do
 * not say what keys cost. `ssh2` gives each
 * packet to the channel's `push`; what cannot go in yet waits here, in order, and `push`
 * answers "full", so `ssh2` grants the client no more window until the channel is read again
 * (its `_read`), which waits until everything held has gone in. The client then stops sending:
 * keys are delayed, never dropped, and what is held is bounded by the SSH window.
 *
 * @example
 * ```ts ignore
 * const budget = budgetInput(channel);
 * budget.stop(); // the connection is gone: the timer is cleared
 * ```
 */
export function budgetInput(
  channel: Channel,
  rate = SSH_INPUT_BYTES_PER_SECOND,
  burst = SSH_INPUT_BURST_BYTES,
): { stop(): void } {
  const internals = channel as unknown as ChannelInternals;
  const push = internals.push.bind(channel);
  const read = internals._read.bind(channel);
  const held: (Uint8Array | null)[] = [];
  let tokens = burst;
  /** Milliseconds of the server's time the chat may still take over this user's keys. */
  let cpu = SSH_INPUT_CPU_BURST_MS;
  let at = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let room = true;
  const refill = () => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - at) * rate) / 1000);
    cpu = Math.min(SSH_INPUT_CPU_BURST_MS, cpu + ((now - at) * SSH_INPUT_CPU_MS_PER_SECOND) / 1000);
    at = now;
  };
  /** Lets in one slice, if the budget allows, and plans the next. */
  const drain = () => {
    timer = undefined;
    if (stopped) return;
    refill();
    // The end of input goes in as soon as everything before it has.
    while (held[0] === null) {
      held.shift();
      room = push(null);
    }
    const first = held[0];
    if (first === undefined) {
      // Everything held went in: ssh2 may open the window again.
      read(0);
      return;
    }
    if (tokens <= 0 || cpu <= 0) {
      const wait = Math.max(
        (-tokens * 1000) / rate,
        (-cpu * 1000) / SSH_INPUT_CPU_MS_PER_SECOND,
      );
      timer = setTimeout(drain, Math.ceil(wait) + 1);
      return;
    }
    const slice = first.subarray(0, SSH_INPUT_SLICE_BYTES);
    if (slice.length < first.length) held[0] = first.subarray(slice.length);
    else held.shift();
    tokens -= slice.length;
    // The chat reads the channel as it flows: the keys are handled within this call.
    const started = performance.now();
    room = push(slice);
    cpu -= performance.now() - started;
    timer = setTimeout(drain, 0);
  };
  internals.push = (chunk) => {
    if (stopped) return push(chunk);
    held.push(chunk);
    if (timer === undefined) drain();
    return held.length === 0 && room;
  };
  internals._read = (size) => {
    if (held.length === 0) read(size);
  };
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      held.length = 0;
    },
  };
}
