/**
 * Whom one user ignores. An ignore names a person, not a string: ignoring someone who is online
 * follows them through every `/nick` for as long as their connection lasts, and when they leave
 * it falls back to the nick they left with, so reconnecting under it does not lift it either.
 * A nick nobody holds can be ignored ahead of time; whoever turns up with it is then followed
 * in the same way from their first message.
 *
 * @module
 */

import { MAX_IGNORES } from "../config/limits.ts";
import type { User } from "./user.ts";

/** One user's ignore list. Checks are O(1): they run for every message a member is sent. */
export class IgnoreList {
  readonly #owner: User;
  /** People ignored while online, followed through renames. */
  readonly #people = new Set<User>();
  /** Folded nicks ignored (held by nobody, or left behind by someone who went away). */
  readonly #nicks = new Map<string, string>();

  constructor(owner: User) {
    this.#owner = owner;
  }

  /** Entries in the list. */
  get size(): number {
    return this.#people.size + this.#nicks.size;
  }

  /** Ignores a person who is online. */
  addUser(target: User): void {
    this.#people.add(target);
    target.ignoredBy.add(this.#owner);
  }

  /** Ignores a nick (folded `key`, shown as `nick`). */
  addNick(key: string, nick: string): void {
    this.#nicks.set(key, nick);
  }

  /** Lifts every entry matching the folded nick `key` (a person by their current nick). */
  remove(key: string): void {
    this.#nicks.delete(key);
    for (const person of this.#people) {
      if (person.key === key) {
        this.#people.delete(person);
        person.ignoredBy.delete(this.#owner);
      }
    }
  }

  /** True if messages from `sender` are hidden. A nick match starts following that person. */
  has(sender: User): boolean {
    if (this.#people.has(sender)) return true;
    if (this.#nicks.size === 0 || !this.#nicks.has(sender.key)) return false;
    // Follow them from now on (within reason: one nick can be held by many people in turn).
    if (sender.online && this.#people.size < MAX_IGNORES) this.addUser(sender);
    return true;
  }

  /** `target`, whom this list follows, has left the server: keep their last nick instead. */
  wentAway(target: User): void {
    if (!this.#people.delete(target)) return;
    this.#nicks.set(target.key, target.nick);
  }

  /** The nicks ignored, as shown to the owner. */
  nicks(): string[] {
    const shown = new Set([...this.#people].map((p) => p.nick));
    for (const nick of this.#nicks.values()) shown.add(nick);
    return [...shown];
  }

  /** The owner is leaving: stop being told about the people this list follows. */
  clear(): void {
    for (const person of this.#people) person.ignoredBy.delete(this.#owner);
    this.#people.clear();
    this.#nicks.clear();
  }
}
