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

/** A departure kept with its nick folded once, so a `WHOWAS` compares strings and folds none. */
interface Entry {
  /** What `WHOWAS` shows. */
  readonly departure: Departure;
  /** `departure.nick`, folded as nicks are. */
  readonly key: string;
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
  #entries: Entry[] = [];

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
    const departure = { nick, address: user.address, at, since: user.since };
    this.#entries.push({ departure, key: nickKey(nick) });
    // Cut back to half once full, not one by one: a shift per logout would copy it every time.
    if (this.#entries.length > this.#max) {
      this.#entries = this.#entries.slice(this.#entries.length - Math.ceil(this.#max / 2));
    }
  }

  /**
   * The departures of `nick` (folded as nicks are), newest first, at most `limit`. Folds only
   * `nick`: a full memory costs one string comparison per entry (it folded every entry anew).
   */
  find(nick: string, limit = Infinity): Departure[] {
    const key = nickKey(nick);
    const out: Departure[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.#entries[i];
      if (entry.key === key) out.push(entry.departure);
    }
    return out;
  }
}
