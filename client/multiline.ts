/**
 * Joins input lines that end in a backslash into one multi-line message.
 *
 * @module
 */

/**
 * Collects continued lines.
 *
 * @example
 * ```ts
 * const m = new MultilineBuffer();
 * m.push("first \\"); // null: continued
 * m.push("second"); // "first \nsecond"
 * ```
 */
export class MultilineBuffer {
  #lines: string[] = [];

  /** True while a message is being continued. */
  get continuing(): boolean {
    return this.#lines.length > 0;
  }

  /** The lines held so far, without their backslashes. */
  get held(): readonly string[] {
    return this.#lines;
  }

  /** Holds a line as continued without needing a backslash (a line of a pasted block). */
  hold(line: string): void {
    this.#lines.push(line);
  }

  /** Forgets the held lines (Ctrl-C). */
  clear(): void {
    this.#lines = [];
  }

  /** Adds a line; returns the whole message once a line does not end in `\`, else null. */
  push(line: string): string | null {
    if (line.endsWith("\\")) {
      this.#lines.push(line.slice(0, -1));
      return null;
    }
    const text = [...this.#lines, line].join("\n");
    this.#lines = [];
    return text;
  }

  /** Whatever was being continued (at end of input), or null. */
  flush(): string | null {
    if (this.#lines.length === 0) return null;
    const text = this.#lines.join("\n");
    this.#lines = [];
    return text;
  }
}
