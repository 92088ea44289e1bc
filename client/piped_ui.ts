/**
 * The front end for `join` when stdin is not a terminal: lines in, plain lines out, no escape
 * sequences. Ctrl-C (SIGINT) ends input the same way EOF does.
 *
 * @module
 */

import type { ClientUi } from "../client.ts";

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

  /** Writes the text and a newline to stdout. */
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

  /** Lines of stdin, CR stripped, until EOF or SIGINT. */
  async *lines(): AsyncGenerator<string> {
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

  /** Stops listening for SIGINT. */
  close(): void {
    Deno.removeSignalListener("SIGINT", this.#onSignal);
  }
}
