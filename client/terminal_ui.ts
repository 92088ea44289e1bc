/**
 * The front end for `join` in a terminal: node:readline keeps the input line at the bottom and
 * incoming events are printed above it, so they never trample what the user is typing.
 *
 * @module
 */

import * as readline from "node:readline";
import process from "node:process";
import type { ClientUi } from "../client.ts";

/** Interactive terminal front end. */
export class TerminalUi implements ClientUi {
  readonly #rl: readline.Interface;
  readonly #prompt: string;
  #closed = false;

  constructor(nick: string) {
    this.#prompt = `${nick}> `;
    this.#rl = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: true,
      historySize: 500,
    });
    this.#rl.setPrompt(this.#prompt);
    this.#rl.prompt();
  }

  /** Prints above the input line, then redraws the prompt with the half-typed line intact. */
  print(text: string): void {
    if (this.#closed) {
      process.stdout.write(text + "\n");
      return;
    }
    readline.cursorTo(process.stdout, 0);
    readline.clearLine(process.stdout, 0);
    process.stdout.write(text.replaceAll("\n", "\r\n") + "\r\n");
    this.#rl.prompt(true);
  }

  /** Writes a failure to stderr. */
  fail(text: string): void {
    process.stderr.write(text + "\n");
  }

  /** Entered lines until /quit, Ctrl-D (close) or Ctrl-C (SIGINT). */
  async *lines(): AsyncGenerator<string> {
    const queue: string[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    const notify = () => {
      wake?.();
      wake = null;
    };
    this.#rl.on("line", (line: string) => {
      queue.push(line);
      this.#rl.setPrompt(line.endsWith("\\") ? "... " : this.#prompt);
      this.#rl.prompt();
      notify();
    });
    this.#rl.on("close", () => {
      done = true;
      notify();
    });
    this.#rl.on("SIGINT", () => {
      done = true;
      notify();
    });
    while (true) {
      if (queue.length > 0) {
        yield queue.shift() as string;
        continue;
      }
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  /** Restores the terminal. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    readline.cursorTo(process.stdout, 0);
    readline.clearLine(process.stdout, 0);
    this.#rl.close();
  }
}
