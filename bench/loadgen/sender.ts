/**
 * Drives one client's messages: either all pipelined, or with at most `window` un-acked. Frames
 * are built as one string per batch and written with one call, so the load generator spends its
 * time on the socket, not on per-frame writes.
 *
 * @module
 */

import type { BenchClient } from "./bench_client.ts";

const encoder = new TextEncoder();

/** Most frames put in one write. */
const MAX_BATCH = 256;

/** Options for a {@linkcode Sender}. */
export interface SenderOptions {
  /** Index written into each message's stamp, so receivers can check order per sender. */
  index: number;
  /** Messages to send at most. */
  count: number;
  /** Length of each message's text in bytes (at least the stamp's). */
  textBytes: number;
  /** Most un-acked messages; null pipelines everything. */
  window: number | null;
  /** `performance.now()` after which no new message is started. @default never */
  stopAt?: number;
  /** The room its messages go to (sockchat's NDJSON only). @default "#lobby" */
  room?: string;
}

/**
 * Sends stamped messages (`<sender>.<seq>.<sentAtMicros>.` and padding) and counts acks. An IRC
 * server acks nothing (and does not echo a sender's own message), so on IRC a message counts
 * as acked once it is written.
 * Call {@linkcode Sender.start} when the measurement begins, and {@linkcode Sender.pump}
 * whenever acks may have freed the window (a no-op before the start).
 *
 * @example
 * ```ts
 * import { BenchClient } from "./bench_client.ts";
 *
 * const client = await BenchClient.connect(7342, "s0", { readBytes: 65536 });
 * const sender = new Sender(client, { index: 0, count: 1000, textBytes: 64, window: 64 });
 * sender.start();
 * await sender.done;
 * ```
 */
export class Sender {
  readonly #client: BenchClient;
  readonly #options: SenderOptions;
  readonly #window: number;
  #started = false;
  #writing = false;
  #stopped = false;
  #done = Promise.withResolvers<void>();
  /** Messages written. */
  sent = 0;
  /** Acks received. */
  acked = 0;

  /** Sends nothing until {@linkcode start}. */
  constructor(client: BenchClient, options: SenderOptions) {
    this.#client = client;
    this.#options = options;
    this.#window = options.window ?? Number.POSITIVE_INFINITY;
  }

  /** Resolves once every message written has been acked and no more will be written. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /** Counts one ack. */
  ack(): void {
    this.acked++;
    this.#checkDone();
  }

  /** Stops starting new messages (the ones in flight still count). */
  stop(): void {
    this.#stopped = true;
    this.#checkDone();
  }

  /** Starts sending; until then {@linkcode pump} does nothing. */
  start(): void {
    this.#started = true;
    this.pump();
  }

  /** Writes as many messages as the window allows, in one write, unless a write is under way. */
  pump(): void {
    if (!this.#started || this.#writing || this.#finishedSending()) return;
    const room = Math.min(this.#window - (this.sent - this.acked), MAX_BATCH);
    const n = Math.min(room, this.#options.count - this.sent);
    if (n <= 0) return;
    const bytes = this.#batch(n);
    this.sent += n;
    this.#writing = true;
    this.#client.write(bytes).then(
      () => {
        this.#writing = false;
        if (this.#client.protocol === "irc") this.acked += n;
        this.pump();
        this.#checkDone();
      },
      () => {
        this.#writing = false;
        this.stop();
      },
    );
  }

  #finishedSending(): boolean {
    if (this.#stopped || this.sent >= this.#options.count) return true;
    const stopAt = this.#options.stopAt;
    if (stopAt !== undefined && performance.now() >= stopAt) this.#stopped = true;
    return this.#stopped;
  }

  #checkDone(): void {
    if (!this.#writing && this.#finishedSending() && this.acked >= this.sent) {
      this.#done.resolve();
    }
  }

  #batch(n: number): Uint8Array {
    const stamp = Math.round(performance.now() * 1000);
    const line = this.#client.protocol === "irc" ? stampedIrcLine : stampedFrame;
    let out = "";
    for (let i = 0; i < n; i++) {
      out += line(
        this.#options.index,
        this.sent + i,
        stamp,
        this.#options.textBytes,
        this.#options.room,
      );
    }
    return encoder.encode(out);
  }
}

/**
 * One `msg` frame, LF included, whose text starts with `<sender>.<seq>.<sentAtMicros>.` and is
 * padded with `x` to `textBytes`. Its `ref` is the sequence number.
 */
export function stampedFrame(
  sender: number,
  seq: number,
  sentAtMicros: number,
  textBytes: number,
  room = "#lobby",
): string {
  const text = `${sender}.${seq}.${sentAtMicros}.`.padEnd(textBytes, "x");
  return `{"type":"msg","room":"${room}","text":"${text}","ref":"${seq}"}\n`;
}

/** The IRC form of {@linkcode stampedFrame}: a `PRIVMSG` with the same text, CRLF included. */
export function stampedIrcLine(
  sender: number,
  seq: number,
  sentAtMicros: number,
  textBytes: number,
  room = "#lobby",
): string {
  return `PRIVMSG ${room} :${`${sender}.${seq}.${sentAtMicros}.`.padEnd(textBytes, "x")}\r\n`;
}
