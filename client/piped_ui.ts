/**
 * The front end for `join` when it is not talking to a person at a terminal (stdin or stdout is
 * not a terminal, or `--json`): lines in, plain lines out, no escape sequences. Ctrl-C (SIGINT)
 * ends input the same way EOF does, and so does input that can no longer be read. Input, output
 * and failures may be injected (an SSH channel without a pty uses it too).
 *
 * @module
 */

import { MAX_INPUT_CHARS } from "./limits.ts";
import { MultilineBuffer } from "./multiline.ts";
import { clean } from "./render.ts";
import type { ClientUi, Status } from "./ui.ts";

const encoder = new TextEncoder();

function writeAllSync(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/** Options for {@linkcode PipedUi}. */
export interface PipedUiOptions {
  /** Where messages are read from. @default Deno.stdin.readable */
  input?: ReadableStream<Uint8Array>;
  /** Where failures are written, one line each. @default console.error */
  error?: (line: string) => void;
  /** Where lines are written, each with its newline. @default a synchronous write to stdout */
  output?: (text: string) => void;
  /** Let SIGINT end input, as Ctrl-C in the terminal the pipe runs from. @default true */
  interrupt?: boolean;
  /** Ends input like EOF once aborted. */
  signal?: AbortSignal;
}

/** Plain stdin/stdout front end for scripts and bots. */
export class PipedUi implements ClientUi {
  readonly #input: () => ReadableStream<Uint8Array>;
  readonly #error: (line: string) => void;
  readonly #output: (text: string) => void;
  readonly #interrupt: boolean;
  readonly #signal: AbortSignal | undefined;
  #stopped = false;
  #stop: (() => void) | null = null;
  #onSignal = () => {
    this.#stopped = true;
    this.#stop?.();
  };

  /** Starts listening for SIGINT, which ends input like EOF. */
  constructor(options: PipedUiOptions = {}) {
    const input = options.input;
    this.#input = () => input ?? Deno.stdin.readable;
    this.#error = options.error ?? ((line) => console.error(line));
    this.#output = options.output ?? ((text) => writeAllSync(Deno.stdout, encoder.encode(text)));
    this.#interrupt = options.interrupt ?? true;
    this.#signal = options.signal;
    if (this.#interrupt) Deno.addSignalListener("SIGINT", this.#onSignal);
    this.#signal?.addEventListener("abort", this.#onSignal);
    if (this.#signal?.aborted) this.#stopped = true;
  }

  /** Writes the text and a newline to stdout (never a bell: this is not a person's terminal). */
  print(text: string): void {
    try {
      this.#output(text + "\n");
    } catch {
      // stdout closed (a pipe reader went away): keep chatting, nothing to show it on
    }
  }

  /** Writes a failure to stderr, neutralised: it may quote what a server sent. */
  fail(text: string): void {
    try {
      this.#error(clean(text));
    } catch {
      // stderr closed: nowhere left to say it
    }
  }

  /** Nothing to show it on: scripts learn the state from the output. */
  setStatus(_status: Status): void {}

  /** Nothing to show it on: the session says in a line what it kept. */
  setPending(_texts: readonly string[]): void {}

  /**
   * Messages from stdin (a line ending in `\` continues onto the next), until EOF, SIGINT or a
   * failed read. A message longer than {@linkcode MAX_INPUT_CHARS} is dropped with a warning.
   */
  async *inputs(): AsyncGenerator<string> {
    const multiline = new MultilineBuffer({ onTooLong: () => this.#tooLong() });
    for await (const line of this.#lines()) {
      const text = multiline.push(line);
      if (text !== null) yield text;
    }
    const rest = multiline.flush();
    if (rest !== null) yield rest;
  }

  /** Stops listening for SIGINT. */
  close(): void {
    if (this.#interrupt) Deno.removeSignalListener("SIGINT", this.#onSignal);
    this.#signal?.removeEventListener("abort", this.#onSignal);
  }

  #tooLong(): void {
    this.fail(`sockchat: ! Dropped a message longer than ${MAX_INPUT_CHARS} characters.`);
  }

  /**
   * Lines of stdin, CR stripped, until EOF, SIGINT or a read error. A line is held only up to
   * {@linkcode MAX_INPUT_CHARS}: past that its characters are dropped until its end.
   */
  async *#lines(): AsyncGenerator<string> {
    const reader = this.#input().pipeThrough(new TextDecoderStream()).getReader();
    const stopped = new Promise<null>((resolve) => {
      this.#stop = () => resolve(null);
      if (this.#stopped) resolve(null);
    });
    let rest = "";
    let skipping = false;
    try {
      while (true) {
        let next: ReadableStreamReadResult<string> | null;
        try {
          next = await Promise.race([reader.read(), stopped]);
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          this.fail(`sockchat: stopped reading input: ${why}`);
          break;
        }
        if (next === null || next.done) break;
        rest += next.value;
        let nl: number;
        while ((nl = rest.indexOf("\n")) !== -1) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (skipping || line.length > MAX_INPUT_CHARS) {
            if (!skipping) this.#tooLong();
            skipping = false;
            continue;
          }
          yield line.replace(/\r$/, "");
        }
        if (rest.length > MAX_INPUT_CHARS) {
          if (!skipping) this.#tooLong();
          skipping = true;
          rest = "";
        }
      }
      if (rest !== "" && !skipping) yield rest.replace(/\r$/, "");
    } finally {
      reader.releaseLock();
    }
  }
}
