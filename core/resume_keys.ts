/**
 * Resume passes into rooms with entry modes. A client that resumes after its connection ended
 * asks for its rooms back by name and last message id only: it never sends a +k room's key,
 * and it holds no new invitation. So when a member of a room that is +i, +k or +l leaves the
 * server (their connection ends, for whatever reason), what they had passed is remembered: the
 * room's key at that moment, whether it was invite-only, and that they held a seat in it.
 *
 * Who may use a pass: only the same account. A member who had proved their nick's account gets a
 * pass that a resume proving that account again takes; it lets them past the +i, +k (while the
 * key is the one they left with) and +l they had passed. A guest proves nothing that an address
 * does not (NAT, a carrier's shared address, Tor or a reverse proxy put strangers behind one),
 * so a guest's pass lets them past +l only: the seat was theirs, and a full room is no secret.
 * A guest back in a +k room gives the key again (`/join #room KEY`, IRC `JOIN #room KEY`); back
 * in a +i room, they ask for a new invitation. A ban (+b) is asked anew at every resume.
 *
 * Passes live {@linkcode RESUME_KEY_TTL_MS}, are used once, and are capped at
 * {@linkcode MAX_RESUME_KEYS}.
 *
 * @module
 */

import { MAX_RESUME_KEYS, RESUME_KEY_TTL_MS } from "../config/limits.ts";
import { type Room, roomKey } from "./room.ts";
import type { User } from "./user.ts";

/** What a resume pass lets its holder past (the ban check is never skipped). */
export interface ResumeGrant {
  /** The room's key when they left, if it had one and they may use it. */
  readonly key?: string;
  /** True if the room was invite-only when they left, and they may pass +i again. */
  readonly invited: boolean;
  /** True if they may pass +l: they held a seat when they left. */
  readonly seat: boolean;
}

/** One member's way back into one room. */
interface ResumePass {
  /** The room's key when they left, or null. */
  readonly key: string | null;
  /** True if the room was +i when they left. */
  readonly invited: boolean;
  /** True if they had proved their nick's account: only then are +i and +k passed again. */
  readonly verified: boolean;
  /**
   * When the account they had proved was registered (`AccountRecord.created`), or null for a
   * guest: the pass is that registration's, so if the account is unregistered and someone else
   * registers the nick within the pass's life, the newcomer's proof does not take it.
   */
  readonly registered: number | null;
  /** The address they left from: a guest's pass (the seat only) is taken from it alone. */
  readonly address: string;
  /** When the pass lapses, ms since the epoch. */
  readonly until: number;
}

/**
 * The passes, by room and nick (both folded).
 *
 * @example
 * ```ts
 * declare const alice: import("./user.ts").User;
 * declare const room: import("./room.ts").Room;
 * const passes = new ResumeKeys();
 * passes.remember(alice, room, Date.now()); // alice's connection ended while room had +k
 * passes.take(alice, room, Date.now()); // { key, invited, seat } for her resume (once)
 * ```
 */
export class ResumeKeys {
  readonly #passes = new Map<string, ResumePass>();

  /**
   * `user`, leaving the server, was in `room`: keep what they passed (if any) for their resume.
   * `registered`: when their nick's account was registered (null: none).
   */
  remember(user: User, room: Room, now: number, registered: number | null = null): void {
    const { key, i, limit } = room.modes;
    if (key === null && !i && limit === null) return;
    const id = passId(user, room);
    this.#passes.delete(id); // re-inserted last: the oldest is first to go
    if (this.#passes.size >= MAX_RESUME_KEYS) {
      const oldest = this.#passes.keys().next().value;
      if (oldest !== undefined) this.#passes.delete(oldest);
    }
    this.#passes.set(id, {
      key,
      invited: i,
      verified: user.verified,
      registered: user.verified ? registered : null,
      address: user.address,
      until: now + RESUME_KEY_TTL_MS,
    });
  }

  /**
   * What `user` may pass into `room` again, if they hold a live pass for it; the pass is used up.
   * The same proven account (the nick's, proven now as then) gets all it passed; the same guest
   * nick from the same address only the seat. Anyone else under that nick gets nothing and
   * leaves the pass alone. `registered`: when the nick's account was registered now (null: none);
   * a proven account gets the pass only if it is the same registration as when the pass was made.
   */
  take(
    user: User,
    room: Room,
    now: number,
    registered: number | null = null,
  ): ResumeGrant | undefined {
    const id = passId(user, room);
    const pass = this.#passes.get(id);
    if (pass === undefined) return undefined;
    if (pass.until <= now) {
      this.#passes.delete(id);
      return undefined;
    }
    const account = pass.verified && user.verified && pass.registered === registered;
    if (!account && (pass.verified || user.address !== pass.address)) return undefined;
    this.#passes.delete(id);
    if (!account) return { invited: false, seat: true };
    return { ...(pass.key === null ? {} : { key: pass.key }), invited: pass.invited, seat: true };
  }

  /** Passes held now (for tests). */
  get size(): number {
    return this.#passes.size;
  }
}

/** A pass's map key: the room's and the nick's folded forms. */
function passId(user: User, room: Room): string {
  return `${roomKey(room.name)}\n${user.key}`;
}
