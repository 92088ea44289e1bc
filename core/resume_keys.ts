/**
 * Resume passes into keyed rooms. A client that resumes after its connection ended asks for its
 * rooms back by name and last message id only: it never sends a +k room's key. So when a member
 * of a keyed room leaves the server (their connection ends, for whatever reason), the room's
 * key at that moment is remembered for their nick, and a resume of that room by the same nick
 * from the same address, or proving the same account, enters with it. A key changed since is
 * not theirs to know: the resume is refused as a wrong key. Passes live
 * {@linkcode RESUME_KEY_TTL_MS}, are used once, and are capped at {@linkcode MAX_RESUME_KEYS}.
 *
 * @module
 */

import { MAX_RESUME_KEYS, RESUME_KEY_TTL_MS } from "../config/limits.ts";
import { type Room, roomKey } from "./room.ts";
import type { User } from "./user.ts";

/** One member's way back into one keyed room. */
interface ResumePass {
  /** The room's key when they left. */
  readonly key: string;
  /** The address they left from. */
  readonly address: string;
  /** True if they had proved their nick's account. */
  readonly verified: boolean;
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
 * passes.take(alice, room, Date.now()); // the key, for her resume (once)
 * ```
 */
export class ResumeKeys {
  readonly #passes = new Map<string, ResumePass>();

  /** `user`, leaving the server, was in `room`: keep its key (if any) for their resume. */
  remember(user: User, room: Room, now: number): void {
    const key = room.modes.key;
    if (key === null) return;
    const id = passId(user, room);
    this.#passes.delete(id); // re-inserted last: the oldest is first to go
    if (this.#passes.size >= MAX_RESUME_KEYS) {
      const oldest = this.#passes.keys().next().value;
      if (oldest !== undefined) this.#passes.delete(oldest);
    }
    this.#passes.set(id, {
      key,
      address: user.address,
      verified: user.verified,
      until: now + RESUME_KEY_TTL_MS,
    });
  }

  /**
   * The key `user` left `room` with, if they hold a live pass for it (same nick, and the same
   * address or the same proven account); the pass is used up. Someone else under that nick
   * gets nothing and leaves the pass alone.
   */
  take(user: User, room: Room, now: number): string | undefined {
    const id = passId(user, room);
    const pass = this.#passes.get(id);
    if (pass === undefined) return undefined;
    if (pass.until <= now) {
      this.#passes.delete(id);
      return undefined;
    }
    if (pass.address !== user.address && !(pass.verified && user.verified)) return undefined;
    this.#passes.delete(id);
    return pass.key;
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
