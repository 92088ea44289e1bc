/**
 * The front end for `join` when it is not talking to a person at a terminal (stdin or stdout is
 * not a terminal, or `--json`): lines in, plain lines out, no escape sequences. Ctrl-C (SIGINT)
 * ends input the same way EOF does.
 *
 * @module
 */

import { MultilineBuffer } from "./multiline.ts";
import type { ClientUi, Status } from "./ui.ts";

const encoder = new TextEncoder();

function writeAllSync(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/** Plain stdin/stdout front end for scripts and bots. */
export class PipedUi implements ClientUi {
  #stop: (() => void) | null = null;
  #onSignal = () => this.#stop?.();

  constructor() {
    Deno.addSignalListener("SIGINT", this.#onSignal);
  }

  /** Writes the text and a newline to stdout (never a bell: this is not a person's terminal). */
  print(text: string): void {
    try {
      writeAllSync(Deno.stdout, encoder.encode(text + "\n"));
    } catch {
      // stdout closed (a pipe reader went away): keep chatting, nothing to show it on
    }
  }

  /** Writes a failure to stderr. */
  fail(text: string): void {
    console.error(text);
  }

  /** Nothing to show it on: scripts learn the state from the output. */
  setStatus(_status: Status): void {}

  /** Messages from stdin (a line ending in `\` continues onto the next), until EOF or SIGINT. */
  async *inputs(): AsyncGenerator<string> {
    const multiline = new MultilineBuffer();
    for await (const line of this.#lines()) {
      const text = multiline.push(line);
      if (text !== null) yield text;
    }
    const rest = multiline.flush();
    if (rest !== null) yield rest;
  }

  /** Stops listening for SIGINT. */
  close(): void {
    Deno.removeSignalListener("SIGINT", this.#onSignal);
  }

  /** Lines of stdin, CR stripped, until EOF or SIGINT. */
  async *#lines(): AsyncGenerator<string> {
    const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
    const stopped = new Promise<null>((resolve) => (this.#stop = () => resolve(null)));
    let rest = "";
    try {
      while (true) {
        const next = await Promise.race([reader.read(), stopped]);
        if (next === null || next.done) break;
        rest += next.value;
        let nl: number;
        while ((nl = rest.indexOf("\n")) !== -1) {
          yield rest.slice(0, nl).replace(/\r$/, "");
          rest = rest.slice(nl + 1);
        }
      }
      if (rest !== "") yield rest.replace(/\r$/, "");
    } finally {
      reader.releaseLock();
    }
  }
}
