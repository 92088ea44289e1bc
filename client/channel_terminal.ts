/**
 * A terminal at the far end of an SSH session channel, for the chat the server hosts: keys come
 * in raw on the channel (the user's own terminal is in raw mode), and what is drawn goes out on
 * it. There is no pty on the server, so nothing turns `\n` into `\r\n`: the screen does it. The
 * size comes from the pty request and window-change requests. Output is capped: a channel that
 * does not drain ends the session as too slow instead of growing the server's memory.
 *
 * @module
 */

import { Writable } from "node:stream";
import type { Duplex } from "node:stream";
import { type JobControl, noJobControl, SSH_CTRL_Z_HINT } from "./job_control.ts";
import type { Screen, TerminalPort } from "./terminal_port.ts";

/**
 * Bytes a chat may have waiting in an SSH channel that the user's side is not reading (or
 * cannot read fast enough): what the channel holds once the window the user's ssh granted is
 * used up. Past it the session ends as too slow: a screen stalled that long (a suspended `ssh`,
 * a dead link) would otherwise make the server keep every message for it. A megabyte is
 * thousands of chat lines, far more than a live terminal ever has waiting.
 */
export const MAX_CHANNEL_OUTPUT_BYTES = 1024 * 1024;

/** Where a chat's output goes: one channel (or its stderr), with the cap. */
export class ChannelOutput {
  readonly #out: Writable;
  readonly #max: number;
  readonly #tooSlow: () => void;
  #failed = false;

  /** Writes to `out`; calls `tooSlow` once if more than `max` bytes wait in it. */
  constructor(out: Writable, tooSlow: () => void, max = MAX_CHANNEL_OUTPUT_BYTES) {
    this.#out = out;
    this.#tooSlow = tooSlow;
    this.#max = max;
  }

  /** Whether the cap was passed: nothing more is written. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Writes `text` unless the channel is gone or too far behind. */
  write(text: string | Uint8Array): void {
    if (this.#failed || this.#out.destroyed || this.#out.writableEnded) return;
    this.#out.write(text);
    if (this.#out.writableLength > this.#max) {
      this.#failed = true;
      this.#tooSlow();
    }
  }
}

/** Turns every line feed not after a carriage return into CR LF: there is no pty to do it. */
export function crlf(text: string): string {
  return text.replace(/(?<!\r)\n/g, "\r\n");
}

/** What node:readline and the terminal UI draw on: the channel, with a size. */
class ChannelScreen extends Writable {
  columns: number;
  rows: number;
  readonly #out: ChannelOutput;

  constructor(out: ChannelOutput, columns: number, rows: number) {
    super({ decodeStrings: false });
    this.#out = out;
    this.columns = columns;
    this.rows = rows;
  }

  override _write(
    chunk: string | Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#out.write(crlf(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)));
    // The cap, not this stream, holds back a slow channel: ours never buffers.
    callback();
  }
}

/** Options for {@linkcode ChannelTerminal}. */
export interface ChannelTerminalOptions {
  /** The session channel: keys in, the screen out. */
  channel: Duplex;
  /** Output to the channel, capped. */
  output: ChannelOutput;
  /** Output to the channel's stderr, capped. */
  errors: ChannelOutput;
  /** The pty's size. */
  columns: number;
  /** The pty's height. */
  rows: number;
}

/** A {@linkcode TerminalPort} over an SSH session channel with a pty. */
export class ChannelTerminal implements TerminalPort {
  readonly keys: Duplex;
  readonly screen: Screen;
  readonly jobs: JobControl = noJobControl(SSH_CTRL_Z_HINT);
  readonly #screen: ChannelScreen;
  readonly #errors: ChannelOutput;
  readonly #hangups = new Set<() => void>();
  #hungUp = false;

  /** Listens for the channel's end; draws on it until closed. */
  constructor(options: ChannelTerminalOptions) {
    this.keys = options.channel;
    this.#errors = options.errors;
    this.#screen = new ChannelScreen(options.output, options.columns, options.rows);
    this.screen = this.#screen;
    options.channel.once("end", this.hangUp);
    options.channel.once("close", this.hangUp);
    options.channel.once("error", this.hangUp);
  }

  /** The pty's width. */
  columns(): number {
    return this.#screen.columns;
  }

  /** A window-change: the new size, then `resize` for readline and the UI. */
  resize(columns: number, rows: number): void {
    if (columns === this.#screen.columns && rows === this.#screen.rows) return;
    this.#screen.columns = columns;
    this.#screen.rows = rows;
    this.#screen.emit("resize");
  }

  /** Ends the session like Ctrl-D: the channel went away, or the server ends it. */
  hangUp = (): void => {
    if (this.#hungUp) return;
    this.#hungUp = true;
    for (const listener of [...this.#hangups]) listener();
  };

  writeNow(text: string): void {
    this.#screen.write(text);
  }

  error(line: string): void {
    this.#errors.write(line + "\r\n");
  }

  /**
   * Reads keys (again, after the `Nickname: ` prompt paused the channel); the user's own
   * terminal is in raw mode already (ssh put it there for the pty).
   */
  acquire(): void {
    this.keys.resume();
  }

  /** Nothing to give back: ssh restores the user's terminal when the session ends. */
  release(): void {}

  onHangup(listener: () => void): () => void {
    if (this.#hungUp) {
      queueMicrotask(listener);
      return () => {};
    }
    this.#hangups.add(listener);
    return () => this.#hangups.delete(listener);
  }

  /** The server does not unload with one session. */
  onUnload(_listener: () => void): () => void {
    return () => {};
  }

  /** Keys are no longer read; the channel itself is the SSH front end's to close. */
  close(): void {
    this.keys.pause();
  }
}
