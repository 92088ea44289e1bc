/**
 * Inbound `draft/multiline` batches (contract §5.8): `BATCH +id draft/multiline <target>`,
 * lines tagged `batch=id` (optionally `draft/multiline-concat`), `BATCH -id` → one message with
 * its text and the offsets of its concat joins, or a `FAIL BATCH …` the session sends as is.
 * One batch may be open per connection, and it never holds more than `max-bytes` of text and
 * `max-lines` lines, so a client cannot grow the server's memory by never closing a batch.
 *
 * @module
 */

import { IRC_BATCH_ID_MAX_BYTES } from "../../config/irc_limits.ts";
import type { IrcMessage, IrcTags } from "./line.ts";
import { MULTILINE_BATCH_TYPE, MULTILINE_CONCAT_TAG } from "./split.ts";
import { utf8Length } from "./line.ts";

/** The `draft/multiline` cap values this server advertises and enforces. */
export interface MultilineLimits {
  /** Most bytes of combined text: each line's text, plus one per `\n` join. */
  readonly maxBytes: number;
  /** Most `PRIVMSG`/`NOTICE` lines in one batch, concat lines included. */
  readonly maxLines: number;
}

/** A multiline error, to be sent as `FAIL BATCH <code> [context…] :<description>`. */
export interface MultilineFail {
  /** The standard-replies code. */
  readonly code:
    | "MULTILINE_INVALID"
    | "MULTILINE_INVALID_TARGET"
    | "MULTILINE_MAX_BYTES"
    | "MULTILINE_MAX_LINES";
  /** Context parameters: the limit, or the batch and line targets. */
  readonly context: readonly string[];
  /** The sentence for people. */
  readonly description: string;
  /** Tags of the opening `BATCH` line (its `label`), when the batch had been opened. */
  readonly batchTags: IrcTags;
}

/** A complete multiline message, ready for one core `say`/`direct`. */
export interface AssembledMessage {
  /** `PRIVMSG` or `NOTICE`: every line of the batch used the same. */
  readonly command: "PRIVMSG" | "NOTICE";
  /** The batch target as the client wrote it on `BATCH +`. */
  readonly target: string;
  /** Lines joined with `\n`, concat lines joined with nothing. */
  readonly text: string;
  /** UTF-16 offsets into `text` where a concat line begins (the core's `breaks`). */
  readonly breaks: readonly number[];
  /** Tags of the opening `BATCH` line: its `label` labels the echo's opening `BATCH`. */
  readonly batchTags: IrcTags;
}

/** What one line did to the assembler. */
export type MultilineStep =
  /** Not about a batch: the session handles the line as usual. */
  | { readonly kind: "pass" }
  /** Taken into the open batch, or a leftover of a batch already failed: nothing to send. */
  | { readonly kind: "held" }
  /** `BATCH` without enough parameters: answer `461 <c> BATCH`. */
  | { readonly kind: "need_more_params" }
  /** Send `FAIL BATCH …`; the batch (if any) is dropped and its later lines are ignored. */
  | { readonly kind: "fail"; readonly fail: MultilineFail }
  /** `BATCH -id` closed a valid batch. */
  | { readonly kind: "message"; readonly message: AssembledMessage };

interface OpenBatch {
  readonly id: string;
  readonly target: string;
  readonly tags: IrcTags;
  command: "PRIVMSG" | "NOTICE" | null;
  text: string;
  readonly breaks: number[];
  lines: number;
  bytes: number;
  blank: boolean;
}

const NO_TAGS: IrcTags = new Map();
/** Ids of failed batches remembered so their later lines are ignored: the open one and the new. */
const DROPPED_REMEMBERED = 2;

/**
 * Assembles a connection's inbound multiline batches. Feed it every parsed line once the client
 * has `draft/multiline`; it answers `pass` for anything that is not about a batch.
 *
 * @example
 * ```ts
 * import { MultilineAssembler } from "./multiline.ts";
 * import { parseLine } from "./line.ts";
 * const ml = new MultilineAssembler({ maxBytes: 4096, maxLines: 100 });
 * const feed = (s: string) => {
 *   const r = parseLine(new TextEncoder().encode(s));
 *   return r.kind === "message" ? ml.feed(r.message) : null;
 * };
 * feed("BATCH +1 draft/multiline #rust"); // { kind: "held" }
 * feed("@batch=1 PRIVMSG #rust :how is ");
 * feed("@batch=1;draft/multiline-concat PRIVMSG #rust everyone?");
 * const done = feed("BATCH -1");
 * // done: { kind: "message", message: { command: "PRIVMSG", target: "#rust",
 * //         text: "how is everyone?", breaks: [7], batchTags } }
 * ```
 */
export class MultilineAssembler {
  readonly #limits: MultilineLimits;
  #open: OpenBatch | null = null;
  #dropped: string[] = [];

  /** An assembler enforcing `limits` (the values advertised in `CAP LS`). */
  constructor(limits: MultilineLimits) {
    this.#limits = limits;
  }

  /** A batch is open: its lines are not charged to the flood guard one by one (§4.6). */
  get isOpen(): boolean {
    return this.#open !== null;
  }

  /** The open batch's id, or null when none is open. */
  get openId(): string | null {
    return this.#open?.id ?? null;
  }

  /** Bytes of text the open batch holds (0 when none): at most `maxBytes`. */
  get bufferedBytes(): number {
    return this.#open?.bytes ?? 0;
  }

  /** Takes one parsed line; see {@linkcode MultilineStep}. */
  feed(message: IrcMessage): MultilineStep {
    if (message.command === "BATCH") return this.#batch(message);
    const ref = message.tags.get("batch");
    if (ref === undefined) return { kind: "pass" };
    return this.#line(ref, message);
  }

  #batch(message: IrcMessage): MultilineStep {
    const [ref, type, target] = message.params;
    if (ref === undefined || ref.length < 2) return { kind: "need_more_params" };
    const id = ref.slice(1);
    if (ref[0] === "-") return this.#close(id);
    if (ref[0] !== "+") return this.#fail("MULTILINE_INVALID", [], "Invalid batch reference");
    if (type === undefined) return { kind: "need_more_params" };
    if (this.#open !== null) {
      this.#remember(id);
      return this.#fail("MULTILINE_INVALID", [], "Another multiline batch is already open");
    }
    if (type !== MULTILINE_BATCH_TYPE) {
      this.#remember(id);
      return this.#fail("MULTILINE_INVALID", [], "Unsupported batch type");
    }
    if (target === undefined) return { kind: "need_more_params" };
    if (utf8Length(id) > IRC_BATCH_ID_MAX_BYTES) {
      return this.#fail("MULTILINE_INVALID", [], "Batch reference too long");
    }
    this.#dropped = this.#dropped.filter((d) => d !== id);
    this.#open = {
      id,
      target,
      tags: message.tags,
      command: null,
      text: "",
      breaks: [],
      lines: 0,
      bytes: 0,
      blank: true,
    };
    return { kind: "held" };
  }

  #line(ref: string, message: IrcMessage): MultilineStep {
    const open = this.#open;
    if (open === null || open.id !== ref) {
      if (this.#dropped.includes(ref)) return { kind: "held" };
      return this.#fail("MULTILINE_INVALID", [], "Line does not belong to the open batch");
    }
    const command = message.command;
    if (command !== "PRIVMSG" && command !== "NOTICE") {
      return this.#fail("MULTILINE_INVALID", [], "Only PRIVMSG or NOTICE may be in a batch");
    }
    if (open.command !== null && open.command !== command) {
      return this.#fail("MULTILINE_INVALID", [], "A batch cannot mix PRIVMSG and NOTICE");
    }
    const [target, text] = message.params;
    if (target === undefined || text === undefined) {
      return this.#fail("MULTILINE_INVALID", [], "Line without text");
    }
    if (asciiLower(target) !== asciiLower(open.target)) {
      return this.#fail(
        "MULTILINE_INVALID_TARGET",
        [open.target, target],
        "Invalid multiline target",
      );
    }
    const concat = message.tags.has(MULTILINE_CONCAT_TAG) && open.lines > 0;
    if (message.tags.has(MULTILINE_CONCAT_TAG) && text === "") {
      return this.#fail("MULTILINE_INVALID", [], "A concat line cannot be blank");
    }
    if (open.lines + 1 > this.#limits.maxLines) {
      return this.#fail(
        "MULTILINE_MAX_LINES",
        [String(this.#limits.maxLines)],
        "Multiline batch max-lines exceeded",
      );
    }
    const joiner = open.lines > 0 && !concat ? 1 : 0;
    const bytes = open.bytes + joiner + utf8Length(text);
    if (bytes > this.#limits.maxBytes) {
      return this.#fail(
        "MULTILINE_MAX_BYTES",
        [String(this.#limits.maxBytes)],
        "Multiline batch max-bytes exceeded",
      );
    }
    if (concat) open.breaks.push(open.text.length);
    open.text += (joiner ? "\n" : "") + text;
    open.command = command;
    open.lines++;
    open.bytes = bytes;
    if (text !== "") open.blank = false;
    return { kind: "held" };
  }

  #close(id: string): MultilineStep {
    const open = this.#open;
    if (open === null || open.id !== id) {
      if (this.#dropped.includes(id)) {
        this.#dropped = this.#dropped.filter((d) => d !== id);
        return { kind: "held" };
      }
      return this.#fail("MULTILINE_INVALID", [], "No such batch is open");
    }
    if (open.command === null || open.blank) {
      return this.#fail("MULTILINE_INVALID", [], "A multiline message cannot be blank");
    }
    this.#open = null;
    return {
      kind: "message",
      message: {
        command: open.command,
        target: open.target,
        text: open.text,
        breaks: open.breaks,
        batchTags: open.tags,
      },
    };
  }

  /** Drops the open batch (remembering its id) and describes the failure. */
  #fail(code: MultilineFail["code"], context: string[], description: string): MultilineStep {
    const batchTags = this.#open?.tags ?? NO_TAGS;
    if (this.#open !== null) this.#remember(this.#open.id);
    this.#open = null;
    return { kind: "fail", fail: { code, context, description, batchTags } };
  }

  #remember(id: string): void {
    if (utf8Length(id) > IRC_BATCH_ID_MAX_BYTES || this.#dropped.includes(id)) return;
    this.#dropped.push(id);
    if (this.#dropped.length > DROPPED_REMEMBERED) this.#dropped.shift();
  }
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
