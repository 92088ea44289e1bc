/**
 * What {@linkcode TerminalUi} needs from a terminal, as one injected object, so the same line
 * editing and drawing run on the process's own terminal (`sockchat join`) and on a terminal at
 * the far end of an SSH channel (the chat the server hosts for SSH users). Only the local
 * terminal has raw mode to switch, signals and job control; a remote one goes away when its
 * channel does.
 *
 * @module
 */

import process from "node:process";
import type { Writable } from "node:stream";
import { type JobControl, localJobControl } from "./job_control.ts";

/** Key bytes as the terminal sends them. */
export interface KeySource {
  /** Starts delivering keys (and, for a node stream, makes it flow). */
  on(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
  /** Stops delivering them to `listener`. */
  off(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
}

/**
 * Where the terminal draws, and what node:readline draws on: a writable stream that knows its
 * size and emits `resize` when that changes.
 */
export type Screen = Writable & { readonly columns: number; readonly rows: number };

/** One terminal, local or remote. */
export interface TerminalPort {
  /** The user's keystrokes (raw: Ctrl-C, Ctrl-D and Ctrl-Z are keys). */
  readonly keys: KeySource;
  /** Where everything is drawn; readline writes here too. */
  readonly screen: Screen;
  /** The width now, refreshed first where the size is cached. */
  columns(): number;
  /** Writes at once, synchronously where possible (it also runs while the process unloads). */
  writeNow(text: string): void;
  /** Writes one line (already neutralised) where failures go: stderr. */
  error(line: string): void;
  /** Takes the keyboard: raw mode, where there is a mode to switch. */
  acquire(): void;
  /** Gives the keyboard back as it was. */
  release(): void;
  /** Calls `listener` once the terminal goes away or is asked to; returns how to stop. */
  onHangup(listener: () => void): () => void;
  /** Calls `listener` when the process unloads; returns how to stop. */
  onUnload(listener: () => void): () => void;
  /** Ctrl-Z: stopping the process, or only a hint where that cannot be done. */
  readonly jobs: JobControl;
  /** Stops reading keys for good. */
  close(): void;
}

/**
 * Signals that end the session like Ctrl-D. (In raw mode Ctrl-C is a key, not SIGINT; these
 * come from elsewhere, such as `kill` or a closed terminal.)
 */
const HANGUP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

const encoder = new TextEncoder();

/**
 * The width of the process's terminal now. Node's stream caches it until SIGWINCH is handled,
 * but the terminal rewraps at once: asking refreshes it first (emitting the resize if the size
 * changed), so what is drawn or wrapped next is for the real width.
 */
export function localColumns(): number {
  (process.stdout as { _refreshSize?: () => void })._refreshSize?.();
  return process.stdout.columns ?? 80;
}

/** The process's own terminal: stdin and stdout, raw mode, signals and job control. */
export function localTerminal(): TerminalPort {
  const stdout = process.stdout as unknown as Screen;
  return {
    keys: process.stdin,
    screen: stdout,
    columns: localColumns,
    writeNow(text) {
      Deno.stdout.writeSync(encoder.encode(text));
    },
    error(line) {
      try {
        Deno.stderr.writeSync(encoder.encode(line + "\n"));
      } catch {
        // stderr closed: nowhere left to say it
      }
    },
    acquire: () => process.stdin.setRawMode(true),
    release() {
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
    },
    onHangup(listener) {
      // A terminal that goes away (EIO, a closed pty) ends the session like Ctrl-D, not a crash.
      process.stdin.on("error", listener);
      process.stdout.on("error", listener);
      for (const signal of HANGUP_SIGNALS) Deno.addSignalListener(signal, listener);
      return () => {
        process.stdin.off("error", listener);
        process.stdout.off("error", listener);
        for (const signal of HANGUP_SIGNALS) Deno.removeSignalListener(signal, listener);
      };
    },
    onUnload(listener) {
      globalThis.addEventListener("unload", listener);
      return () => globalThis.removeEventListener("unload", listener);
    },
    jobs: localJobControl,
    close: () => process.stdin.pause(),
  };
}
