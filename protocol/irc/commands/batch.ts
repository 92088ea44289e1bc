/**
 * The client's `BATCH` command and the lines of its `draft/multiline` batches (contract §4.6,
 * §5.8), between the session and the assembler (`multiline.ts`): what each line costs in flood
 * control, the `FAIL BATCH …` replies, and the one core message a finished batch becomes.
 *
 * @module
 */

import { type Awaitable, then } from "../../../core/awaitable.ts";
import type { IrcMessage } from "../line.ts";
import { MultilineAssembler, type MultilineLimits, type MultilineStep } from "../multiline.ts";
import { numeric, serverReply } from "../numerics.ts";
import type { CommandHost } from "./host.ts";
import { sendAssembled } from "./message.ts";

/** What {@linkcode MultilineInbox.take} answers for a line that is not about a batch. */
export const NOT_A_BATCH_LINE: unique symbol = Symbol("not a batch line");

/**
 * A connection's inbound multiline batches. While a batch is open, its lines cost no flood unit
 * one by one: their bytes are added up and the whole batch is charged one unit plus those bytes
 * when it ends (closed, or dropped by an error), so a 100-line paste sent as one message costs
 * what one message costs, and still cannot pass the byte rate. `BATCH +` itself costs a unit,
 * as any line: opening and failing batches is not free. What an open batch holds is bounded by
 * the advertised `max-lines` and `max-bytes`; it is dropped with the session at disconnect.
 */
export class MultilineInbox {
  readonly #assembler: MultilineAssembler;
  /** Wire bytes of the open batch's lines, not charged yet. */
  #owed = 0;

  /** An inbox enforcing `limits` (the values `CAP LS` advertises). */
  constructor(limits: MultilineLimits) {
    this.#assembler = new MultilineAssembler(limits);
  }

  /** The id of the batch open now, or null (labeled-response waits for its `BATCH -id`). */
  get openBatch(): string | null {
    return this.#assembler.openId;
  }

  /**
   * Takes one line from a registered client that enabled `draft/multiline`; `bytes` is its
   * size on the wire. Answers {@linkcode NOT_A_BATCH_LINE} for a line that is neither `BATCH`
   * nor tagged `batch` (the session handles it as usual, flood charge included).
   */
  take(
    host: CommandHost,
    message: IrcMessage,
    bytes: number,
  ): Awaitable<void> | typeof NOT_A_BATCH_LINE {
    const about = message.command === "BATCH" || message.tags.has("batch");
    if (!about) return NOT_A_BATCH_LINE;
    const opening = message.command === "BATCH" && message.params[0]?.startsWith("+") === true;
    if (!this.#assembler.isOpen || opening) {
      // No batch open (a new one, or a leftover of a failed one): a line like any other. A
      // second `BATCH +` drops the open batch, whose bytes are charged with it.
      const cost = bytes + this.#owed;
      this.#owed = 0;
      return then(
        host.port.hold(cost),
        (ok) => ok ? this.#answer(host, this.#assembler.feed(message)) : undefined,
      );
    }
    this.#owed += bytes;
    const step = this.#assembler.feed(message);
    if (step.kind === "held") return;
    // The batch ended (closed or failed): now it is charged, then answered.
    const owed = this.#owed;
    this.#owed = 0;
    return then(host.port.hold(owed), (ok) => ok ? this.#answer(host, step) : undefined);
  }

  #answer(host: CommandHost, step: MultilineStep): Awaitable<void> {
    switch (step.kind) {
      case "pass":
      case "held":
        return;
      case "need_more_params":
        host.reply(numeric.needMoreParams(host.client, "BATCH"));
        return;
      case "fail": {
        const { code, context, description } = step.fail;
        host.reply(serverReply.standard("FAIL", "BATCH", code, context, description));
        return;
      }
      case "message": {
        const { command, target, text, breaks } = step.message;
        return sendAssembled(host, command, target, text, breaks);
      }
    }
  }
}
