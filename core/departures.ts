/**
 * Who was here: a bounded memory of the nicks that left the server or were changed for others,
 * newest last, for IRC's `WHOWAS`. It keeps what any member of a shared room could have seen
 * (nick, when, the cloakable address) and nothing else; at most {@linkcode WHOWAS_MAX} entries
 * (past it the older half is forgotten at once), so a reconnect storm costs a fixed amount of
 * memory.
 *
 * @module
 */

import { WHOWAS_MAX } from "../config/irc_limits.ts";
import { nickKey } from "./nick.ts";
import type { User } from "./user.ts";

/** One nick that is gone. */
export interface Departure {
  /** The nick as it was shown. */
  readonly nick: string;
  /** The address it came from (front ends show only its cloak). */
  readonly address: string;
  /** When it went, milliseconds since the epoch. */
  readonly at: number;
  /** When that user had logged in (`User.since`): tells one spell under the nick from another. */
  readonly since: number;
}

/**
 * The last departures, oldest first.
 *
 * @example
 * ```ts
 * import { User } from "./user.ts";
 * const gone = new Departures(2);
 * gone.record(new User("alice", { deliver() {}, close() {} }, "192.0.2.1"), 1000);
 * gone.find("ALICE").length; // 1
 * ```
 */
export class Departures {
  readonly #max: number;
  /** Entries in the order they were recorded. */
  #entries: Departure[] = [];

  /** An empty memory of at most `max` entries. @param max @default WHOWAS_MAX */
  constructor(max: number = WHOWAS_MAX) {
    this.#max = max;
  }

  /** How many are remembered. */
  get size(): number {
    return this.#entries.length;
  }

  /** Remembers that `user` left at `at`, or gave up `nick` for another. */
  record(user: User, at: number, nick: string = user.nick): void {
    if (this.#max <= 0) return;
    this.#entries.push({ nick, address: user.address, at, since: user.since });
    // Cut back to half once full, not one by one: a shift per logout would copy it every time.
    if (this.#entries.length > this.#max) {
      this.#entries = this.#entries.slice(this.#entries.length - Math.ceil(this.#max / 2));
    }
  }

  /** The departures of `nick` (folded as nicks are), newest first, at most `limit`. */
  find(nick: string, limit = Infinity): Departure[] {
    const key = nickKey(nick);
    const out: Departure[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < limit; i--) {
      if (nickKey(this.#entries[i].nick) === key) out.push(this.#entries[i]);
    }
    return out;
  }
}
