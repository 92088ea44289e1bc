/**
 * Bracketed paste: once a terminal is told `ESC [?2004h`, it wraps pasted text in `ESC [200~`
 * and `ESC [201~`, so a pasted block of lines can be told apart from lines typed one by one.
 * {@linkcode PasteFilter} splits terminal input into typed keys and whole pastes.
 *
 * @module
 */

/** Asks the terminal to bracket pastes. */
export const BRACKETED_PASTE_ON = "\x1b[?2004h";
/** Returns the terminal to plain pastes. */
export const BRACKETED_PASTE_OFF = "\x1b[?2004l";
/** Starts a pasted block. */
export const PASTE_START = "\x1b[200~";
/** Ends a pasted block. */
export const PASTE_END = "\x1b[201~";
/** Longest paste kept, in UTF-16 units; the rest is dropped (the server would refuse it anyway). */
export const MAX_PASTE_CHARS = 1024 * 1024;

/** A piece of terminal input: keys as typed, or one complete paste. */
export type PasteEvent =
  | { kind: "keys"; data: string }
  | { kind: "paste"; text: string; truncated: boolean };

/** Options for {@linkcode PasteFilter}. */
export interface PasteFilterOptions {
  /** Longest paste kept. @default MAX_PASTE_CHARS */
  maxPaste?: number;
}

/** Length of the longest end of `data` that is a proper start of `marker`. */
function partialMarker(data: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, data.length); n > 0; n--) {
    if (data.endsWith(marker.slice(0, n))) return n;
  }
  return 0;
}

/**
 * Splits terminal input into keys and pastes; markers may be split across chunks.
 *
 * @example
 * ```ts
 * const filter = new PasteFilter();
 * filter.push("hi \x1b[200~one\rtwo\x1b[201~");
 * // [{ kind: "keys", data: "hi " }, { kind: "paste", text: "one\rtwo", truncated: false }]
 * ```
 */
export class PasteFilter {
  readonly #maxPaste: number;
  #pasting = false;
  #held = "";
  #paste = "";
  #truncated = false;

  /** A paste past `maxPaste` characters is cut and marked truncated. */
  constructor(options: PasteFilterOptions = {}) {
    this.#maxPaste = options.maxPaste ?? MAX_PASTE_CHARS;
  }

  /**
   * True when input is held back because it might start a marker (a lone ESC, say). Call
   * {@linkcode flush} if nothing follows soon, so that the Escape key still works.
   */
  get holding(): boolean {
    return this.#held !== "" && !this.#pasting;
  }

  /** Feeds a chunk of input; returns what it completes, in order. */
  push(chunk: string): PasteEvent[] {
    const events: PasteEvent[] = [];
    let data = this.#held + chunk;
    this.#held = "";
    while (data !== "") {
      const marker = this.#pasting ? PASTE_END : PASTE_START;
      const at = data.indexOf(marker);
      let body: string;
      if (at === -1) {
        const hold = partialMarker(data, marker);
        this.#held = data.slice(data.length - hold);
        body = data.slice(0, data.length - hold);
        data = "";
      } else {
        body = data.slice(0, at);
        data = data.slice(at + marker.length);
      }
      if (this.#pasting) this.#take(body);
      else if (body !== "") events.push({ kind: "keys", data: body });
      if (at !== -1) {
        if (this.#pasting) {
          events.push({ kind: "paste", text: this.#paste, truncated: this.#truncated });
          this.#paste = "";
          this.#truncated = false;
        }
        this.#pasting = !this.#pasting;
      }
    }
    return events;
  }

  /** Releases held-back keys (not an unfinished paste). */
  flush(): PasteEvent[] {
    if (!this.holding) return [];
    const data = this.#held;
    this.#held = "";
    return [{ kind: "keys", data }];
  }

  #take(text: string): void {
    const room = this.#maxPaste - this.#paste.length;
    if (text.length > room) this.#truncated = true;
    this.#paste += text.slice(0, Math.max(0, room));
  }
}

/**
 * A paste as message text: line endings become `\n`, tabs four spaces, other control
 * characters and escapes are dropped, and one trailing newline is removed.
 */
export function normalizePaste(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replaceAll("\t", "    ")
    // deno-lint-ignore no-control-regex -- removing control characters is the point
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b.?|[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, "")
    .replace(/\n$/, "");
}
