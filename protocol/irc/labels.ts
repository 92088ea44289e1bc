/**
 * IRCv3 `labeled-response` (contract §5.7): the lines a labeled command causes are held back
 * until the command is done, then sent as one logical response: `ACK` for none, the line with
 * `label` for one, a `labeled-response` batch for more (when the reader has `batch`; without it
 * several lines go out as they are, unlabeled).
 *
 * What belongs to a command: the lines its session made while it was handled (numerics,
 * standard replies), the lines rendered for frames that carry one of the refs its core calls
 * used (joined, acks and their echoes, errors), and a history replay, an error or a KICK's KICK
 * line without a ref delivered while it was handled (a join's replay, a login's refusal and the
 * room's KICK line carry none). Anything
 * else passes through unlabeled at once, however long a command stays open: other people's
 * lines are never labeled or delayed.
 *
 * When it is done: its line has been handled (the peer reads the next line only after that
 * settles, so one line is handled at a time) and, for PRIVMSG/NOTICE, every message it queued
 * has its ack or error. The core acknowledges a room message after the store commits it, which
 * is after the line's handling has returned; the acks carry the refs, which is how they are
 * found. A labeled `BATCH +id draft/multiline` that opened its batch stays open over the
 * batch's lines until `BATCH -id` is handled (the echo of the assembled message answers the
 * label), or until the batch fails; one refused at once is answered at once.
 *
 * Past {@linkcode IRC_LABEL_BUFFER_BYTES} a response is not held: what it held and the rest go
 * out as they come, in a labeled `labeled-response` batch closed when it is done.
 *
 * @module
 */

import {
  IRC_LABEL_BUFFER_BYTES,
  IRC_LABEL_MAX_BYTES,
  IRC_PENDING_REFS,
} from "../../config/irc_limits.ts";
import type { ServerFrame } from "../frames.ts";
import type { IrcCap } from "./caps.ts";
import { encodeLine, type IrcLine, type ParseResult, utf8Length } from "./line.ts";
import { serverReply } from "./numerics.ts";
import { MULTILINE_BATCH_TYPE } from "./split.ts";

/** The batch type that wraps a labeled response of several lines. */
export const LABELED_RESPONSE_BATCH = "labeled-response";

/** One labeled command's response, while it is gathered. */
class Response {
  readonly label: string;
  /** Lines held back, in order. */
  lines: IrcLine[] = [];
  /** Their encoded size, counted against the connection's buffer cap. */
  bytes = 0;
  /** Refs of the core calls made for it (their frames belong to it). */
  readonly refs: string[] = [];
  /** Refs of its messages whose ack or error has not come yet. */
  readonly waiting = new Set<string>();
  /** Its line has been handled. */
  settled = false;
  /** Past the buffer cap: what it held went out, and the rest goes out as it comes. */
  spilled = false;
  /**
   * Once spilled, the id of the labeled `labeled-response` batch its lines stream in (closed
   * when it is done), so the client still gets one labeled response; null without `batch`.
   */
  stream: string | null = null;
  /** Its line is `BATCH +id draft/multiline`: the id, in case the batch really opens. */
  opening: string | null = null;
  /** The id of the `draft/multiline` batch it opened, until `BATCH -id` is handled. */
  batch: string | null = null;
  /** Its line is a KICK: the KICK lines it causes are its answer (they carry no ref). */
  kick = false;

  constructor(label: string) {
    this.label = label;
  }
}

/** What the labels need of their session. */
export interface LabelOptions {
  /** The source of `ACK` and `BATCH` lines. */
  readonly serverName: string;
  /** The reader's enabled caps (read when used: they change with `CAP REQ`). */
  readonly caps: ReadonlySet<IrcCap>;
  /** Bytes all open responses may hold together. @default {IRC_LABEL_BUFFER_BYTES} */
  readonly maxBytes?: number;
}

/**
 * The labeled responses of one IRC connection. The session tells it when a line starts and
 * settles, which refs that line's core calls used, and hands it every line before sending; each
 * method returns the lines to send now (held lines come back, labeled, once their command is
 * done).
 *
 * @example
 * ```ts
 * import { parseLine } from "./line.ts";
 * const labels = new LabeledResponses({ serverName: "irc.test", caps: new Set(["labeled-response"]) });
 * labels.begin(parseLine(new TextEncoder().encode("@label=a PING x")));
 * labels.reply([{ source: "irc.test", command: "PONG", params: ["irc.test", "x"] }]); // [] (held)
 * labels.settle()[0].tags; // { label: "a" }
 * ```
 */
export class LabeledResponses {
  readonly #serverName: string;
  readonly #caps: ReadonlySet<IrcCap>;
  readonly #maxBytes: number;
  /** The response of the line being handled, if it is labeled. */
  #current: Response | null = null;
  /** The response of an open labeled `draft/multiline` batch. */
  #parked: Response | null = null;
  /** Every response not yet sent, oldest first. */
  readonly #open = new Set<Response>();
  readonly #byRef = new Map<string, Response>();
  /** Bytes held by all open responses. */
  #bytes = 0;
  #batches = 0;

  /** Labels for the reader `options` describes. */
  constructor(options: LabelOptions) {
    this.#serverName = options.serverName;
    this.#caps = options.caps;
    this.#maxBytes = options.maxBytes ?? IRC_LABEL_BUFFER_BYTES;
  }

  /**
   * A line from the client is about to be handled: its response opens if it carries a label
   * (≤ {@linkcode IRC_LABEL_MAX_BYTES} bytes) and the reader enabled `labeled-response`. A
   * line of an open labeled multiline batch joins that batch's response instead. Returns lines
   * to send now (a response pushed out by this one).
   */
  begin(parsed: ParseResult): IrcLine[] {
    this.#current = null;
    const message = parsed.kind === "message" || parsed.kind === "invalid_utf8"
      ? parsed.message
      : null;
    const parked = this.#parked;
    if (parked !== null && message !== null && parked.batch !== null) {
      if (message.command === "BATCH" && message.params[0] === `-${parked.batch}`) {
        // The batch's message is sent while this line is handled: its echo answers the label.
        parked.batch = null;
        this.#parked = null;
        this.#current = parked;
        return [];
      }
      if (message.tags.get("batch") === parked.batch) {
        this.#current = parked;
        return [];
      }
    }
    const tags = parsed.kind === "too_long" ? parsed.tags : message?.tags;
    const label = tags?.get("label");
    if (
      label === undefined || label === "" || utf8Length(label) > IRC_LABEL_MAX_BYTES ||
      !this.#caps.has("labeled-response") ||
      // QUIT's ERROR goes out at once: the connection closes before the line settles.
      message?.command === "QUIT"
    ) {
      return [];
    }
    const response = new Response(label);
    response.kick = message?.command.toUpperCase() === "KICK";
    const out: IrcLine[] = [];
    if (
      message !== null && message.command === "BATCH" &&
      message.params[0]?.startsWith("+") && message.params[1] === MULTILINE_BATCH_TYPE
    ) {
      // It waits for `BATCH -id` only if the batch opens (`settle` is told): a refused one
      // (no target, a bad id, no draft/multiline) is answered at once.
      response.opening = message.params[0].slice(1);
    }
    if (this.#open.size >= IRC_PENDING_REFS) {
      // A client pipelining messages faster than they commit: the oldest goes out as it is.
      const oldest = this.#open.values().next().value;
      if (oldest !== undefined) out.push(...this.#done(oldest));
    }
    this.#open.add(response);
    this.#current = response;
    return out;
  }

  /**
   * The line begun last has been handled; `openBatch` is the id of the client's
   * `draft/multiline` batch open now (null if none). Its response is sent unless it waits for
   * its messages' acks, or for the end of the multiline batch it opened.
   */
  settle(openBatch: string | null = null): IrcLine[] {
    const response = this.#current;
    this.#current = null;
    const out: IrcLine[] = [];
    const parked = this.#parked;
    if (parked !== null && parked.batch !== openBatch) {
      // Its batch is gone without `BATCH -id` (it failed, or a new `BATCH +` dropped it): the
      // FAIL, if any, was its answer.
      parked.batch = null;
      this.#parked = null;
      parked.settled = true;
      if (parked.waiting.size === 0) out.push(...this.#done(parked));
    }
    if (response === null || response === parked) return out;
    if (response.opening !== null && response.opening === openBatch) {
      // Its batch opened: the batch's lines join it, and `BATCH -id` ends it (`begin`).
      response.batch = openBatch;
      this.#parked = response;
      return out;
    }
    response.settled = true;
    if (response.waiting.size === 0) out.push(...this.#done(response));
    return out;
  }

  /**
   * The line being handled made a core call with `ref`: frames carrying it belong to its
   * response. `message`: a PRIVMSG/NOTICE, whose ack or error the response waits for.
   */
  claim(ref: string, message: boolean): void {
    const response = this.#current;
    if (response === null) return;
    response.refs.push(ref);
    this.#byRef.set(ref, response);
    if (message) response.waiting.add(ref);
  }

  /** Lines the session made itself: held if a labeled line is being handled. */
  reply(lines: IrcLine[]): IrcLine[] {
    if (this.#open.size === 0) return lines;
    if (lines.some(isError)) return this.#spillAll(lines);
    return this.#current === null ? lines : this.#hold(this.#current, lines);
  }

  /** The lines rendered for `frame`: held if they belong to an open response. */
  frame(frame: ServerFrame, lines: IrcLine[]): IrcLine[] {
    if (this.#open.size === 0) return lines;
    if (lines.some(isError)) return this.#spillAll(lines);
    const ref = "ref" in frame ? frame.ref : undefined;
    let response = ref === undefined ? undefined : this.#byRef.get(ref);
    const kicked = frame.type === "leave" && frame.reason === "kicked_room" &&
      this.#current?.kick === true;
    if (response === undefined && ref === undefined && (isOwn(frame) || kicked)) {
      response = this.#current ?? undefined;
    }
    if (response === undefined) return lines;
    const out = this.#hold(response, lines);
    if (ref !== undefined && (frame.type === "ack" || frame.type === "error")) {
      response.waiting.delete(ref);
      if (response.settled && response.waiting.size === 0) out.push(...this.#done(response));
    }
    return out;
  }

  /**
   * Adds `lines` to `response`, or past the buffer cap sends them and what it held at once: in
   * a labeled `labeled-response` batch opened now and closed when the response is done (with
   * `batch`), so the client waiting for the label still gets it and knows where it ends.
   */
  #hold(response: Response, lines: IrcLine[]): IrcLine[] {
    if (lines.length === 0) return lines;
    if (response.spilled) return this.#streamed(response, lines);
    let bytes = 0;
    for (const line of lines) bytes += utf8Length(encodeLine(line));
    if (this.#bytes + bytes > this.#maxBytes) {
      const held = [...response.lines, ...lines];
      this.#release(response);
      response.spilled = true;
      if (!this.#caps.has("batch")) return held;
      response.stream = this.#batchId();
      return [
        {
          tags: { label: response.label },
          source: this.#serverName,
          ...serverReply.batchStart(response.stream, LABELED_RESPONSE_BATCH),
        },
        ...this.#streamed(response, held),
      ];
    }
    response.lines.push(...lines);
    response.bytes += bytes;
    this.#bytes += bytes;
    return [];
  }

  /** `response` is complete: its lines, labeled, and it is forgotten. */
  #done(response: Response): IrcLine[] {
    const lines = response.lines;
    this.#release(response);
    this.#open.delete(response);
    if (this.#parked === response) this.#parked = null;
    if (this.#current === response) this.#current = null;
    for (const ref of response.refs) {
      if (this.#byRef.get(ref) === response) this.#byRef.delete(ref);
    }
    if (!response.spilled) return this.#labeled(response.label, lines);
    return response.stream === null ? lines : [this.#streamEnd(response)];
  }

  /** `lines` of a spilled response, inside its labeled batch if it has one. */
  #streamed(response: Response, lines: IrcLine[]): IrcLine[] {
    const id = response.stream;
    return id === null ? lines : lines.map((line) => inBatch(line, id));
  }

  /** The `BATCH -id` that ends a spilled response's labeled batch. */
  #streamEnd(response: Response): IrcLine {
    const id = response.stream ?? "";
    response.stream = null;
    return { source: this.#serverName, ...serverReply.batchEnd(id) };
  }

  /** A fresh id for a `labeled-response` batch. */
  #batchId(): string {
    return `lr${(++this.#batches).toString(36)}`;
  }

  /** Forgets what `response` holds (its lines are being sent). */
  #release(response: Response): void {
    this.#bytes -= response.bytes;
    response.bytes = 0;
    response.lines = [];
  }

  /** The connection is closing (an `ERROR` line): everything held goes first, unlabeled. */
  #spillAll(lines: IrcLine[]): IrcLine[] {
    const out: IrcLine[] = [];
    for (const response of this.#open) {
      out.push(...this.#streamed(response, response.lines));
      if (response.stream !== null) out.push(this.#streamEnd(response));
      this.#release(response);
      response.spilled = true;
    }
    return [...out, ...lines];
  }

  /** One logical response for `lines` (labeled-response: "exactly one logical message"). */
  #labeled(label: string, lines: readonly IrcLine[]): IrcLine[] {
    const S = this.#serverName;
    if (lines.length === 0) return [{ tags: { label }, source: S, ...serverReply.ack() }];
    if (lines.length === 1 || isMultilineBatch(lines)) {
      // A multiline echo is one batch of a type that covers the whole response: its opening
      // line carries the label (irctest `testMultilineBatch`).
      const [first, ...rest] = lines;
      return [{ ...first, tags: { ...first.tags, label } }, ...rest];
    }
    if (!this.#caps.has("batch")) return [...lines];
    const id = this.#batchId();
    return [
      { tags: { label }, source: S, ...serverReply.batchStart(id, LABELED_RESPONSE_BATCH) },
      ...lines.map((line) => inBatch(line, id)),
      { source: S, ...serverReply.batchEnd(id) },
    ];
  }
}

/** `line` inside batch `id`; a nested batch's (chathistory's) lines keep theirs. */
function inBatch(line: IrcLine, id: string): IrcLine {
  return line.tags?.batch === undefined ? { ...line, tags: { ...line.tags, batch: id } } : line;
}

/** True for the line a server sends last, before it closes the connection. */
function isError(line: IrcLine): boolean {
  return line.command === "ERROR";
}

/**
 * A frame without a ref that still answers the line being handled: a history replay (the core
 * replays without the ref of the join that caused it), an error (errors answer the user's own
 * calls; a login refusal and a core command run without a ref carry none), or the notice that
 * the one a DM went to is away (IRC's 301).
 */
function isOwn(frame: ServerFrame): boolean {
  return (frame.type === "gap" && frame.live !== true) || frame.type === "error" ||
    (frame.type === "msg" && frame.history === true) ||
    (frame.type === "info" && frame.awayOf !== undefined);
}

/** True if `lines` are exactly one `draft/multiline` batch: its start, its lines, its end. */
function isMultilineBatch(lines: readonly IrcLine[]): boolean {
  const first = lines[0];
  const last = lines[lines.length - 1];
  if (first.command !== "BATCH" || first.params[1] !== MULTILINE_BATCH_TYPE) return false;
  const id = first.params[0].slice(1);
  if (!first.params[0].startsWith("+") || last.command !== "BATCH") return false;
  if (last.params[0] !== `-${id}`) return false;
  return lines.slice(1, -1).every((line) => line.tags?.batch === id);
}
