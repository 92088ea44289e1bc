/**
 * Joins input lines that end in a backslash into one multi-line message.
 *
 * @module
 */

import { MAX_INPUT_CHARS } from "./limits.ts";

/** Options for {@linkcode MultilineBuffer}. */
export interface MultilineOptions {
  /** Longest message held, in UTF-16 code units. @default MAX_INPUT_CHARS */
  maxChars?: number;
  /** Called once for each message dropped for being longer than `maxChars`. */
  onTooLong?: () => void;
}

/**
 * Collects continued lines. A message that grows past `maxChars` is dropped whole (it would be
 * refused by the server anyway), so endless continued lines cannot grow the client.
 *
 * @example
 * ```ts
 * const m = new MultilineBuffer();
 * m.push("first \\"); // null: continued
 * m.push("second"); // "first \nsecond"
 * ```
 */
export class MultilineBuffer {
  readonly #max: number;
  readonly #onTooLong: () => void;
  #lines: string[] = [];
  /** Characters held, counting a newline between lines. */
  #chars = 0;
  /** The message being continued has passed the cap: its lines are dropped until it ends. */
  #dropping = false;

  /** An empty buffer. */
  constructor(options: MultilineOptions = {}) {
    this.#max = options.maxChars ?? MAX_INPUT_CHARS;
    this.#onTooLong = options.onTooLong ?? (() => {});
  }

  /** True while a message is being continued. */
  get continuing(): boolean {
    return this.#lines.length > 0 || this.#dropping;
  }

  /** The lines held so far, without their backslashes. */
  get held(): readonly string[] {
    return this.#lines;
  }

  /** Holds a line as continued without needing a backslash (a line of a pasted block). */
  hold(line: string): void {
    this.#add(line);
  }

  /** Forgets the held lines (Ctrl-C). */
  clear(): void {
    this.#lines = [];
    this.#chars = 0;
    this.#dropping = false;
  }

  /**
   * Adds a line; returns the whole message once a line does not end in `\`, else null (also
   * when the message was too long and has been dropped).
   */
  push(line: string): string | null {
    if (line.endsWith("\\")) {
      this.#add(line.slice(0, -1));
      return null;
    }
    this.#add(line);
    return this.flush();
  }

  /** Whatever was being continued (at end of input), or null. */
  flush(): string | null {
    const text = this.#dropping || this.#lines.length === 0 ? null : this.#lines.join("\n");
    this.clear();
    return text;
  }

  #add(line: string): void {
    if (this.#dropping) return;
    this.#chars += line.length + (this.#lines.length > 0 ? 1 : 0);
    if (this.#chars > this.#max) {
      this.#lines = [];
      this.#dropping = true;
      this.#onTooLong();
      return;
    }
    this.#lines.push(line);
  }
}
