/**
 * Whom one user ignores. An ignore names a person, not a string: ignoring someone who is online
 * follows them through every `/nick` for as long as their connection lasts, and when they leave
 * it falls back to the nick they left with, so reconnecting under it does not lift it either.
 * A nick nobody holds can be ignored ahead of time; whoever turns up with it is then followed
 * in the same way from their first message.
 *
 * What the owner asked for counts against {@linkcode MAX_IGNORES}; what the list derives from
 * it (people followed from an ignored nick, nicks left behind) is capped at as many again, the
 * oldest going first, so a troll cycling through nicks cannot grow it or crowd out new ignores.
 *
 * @module
 */

import { MAX_IGNORES } from "../config/limits.ts";
import type { User } from "./user.ts";

/** One user's ignore list. Checks are O(1): they run for every message a member is sent. */
export class IgnoreList {
  readonly #owner: User;
  /** People the owner ignored while they were online, followed through renames. */
  readonly #people = new Set<User>();
  /** Folded nicks the owner ignored, shown as typed. */
  readonly #nicks = new Map<string, string>();
  /** People followed because they turned up with an ignored nick (derived, capped). */
  readonly #followed = new Set<User>();
  /** Nicks left behind by followed people who went away (derived, capped, oldest first). */
  readonly #leftWith = new Map<string, string>();

  /** An empty ignore list belonging to `owner`. */
  constructor(owner: User) {
    this.#owner = owner;
  }

  /** Entries the owner asked for (what {@linkcode MAX_IGNORES} limits). */
  get size(): number {
    return this.#people.size + this.#nicks.size;
  }

  /** True when nobody is ignored at all (the relay's fast path). */
  get isEmpty(): boolean {
    return this.size === 0 && this.#followed.size === 0 && this.#leftWith.size === 0;
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
    this.#leftWith.delete(key);
    for (const set of [this.#people, this.#followed]) {
      for (const person of set) {
        if (person.key !== key) continue;
        set.delete(person);
        person.ignoredBy.delete(this.#owner);
      }
    }
  }

  /** True if messages from `sender` are hidden. A nick match starts following that person. */
  has(sender: User): boolean {
    if (this.#people.has(sender) || this.#followed.has(sender)) return true;
    if (!this.#nicks.has(sender.key) && !this.#leftWith.has(sender.key)) return false;
    if (sender.online) {
      if (this.#followed.size >= MAX_IGNORES) this.#unfollow(this.#followed.values().next().value);
      this.#followed.add(sender);
      sender.ignoredBy.add(this.#owner);
    }
    return true;
  }

  /** `target`, whom this list follows, has left the server: keep their last nick instead. */
  wentAway(target: User): void {
    if (this.#people.delete(target)) {
      // The owner's own entry stays theirs: it becomes the nick this person left with.
      this.#nicks.set(target.key, target.nick);
      return;
    }
    if (!this.#followed.delete(target) || this.#nicks.has(target.key)) return;
    this.#leftWith.delete(target.key);
    if (this.#leftWith.size >= MAX_IGNORES) {
      this.#leftWith.delete(this.#leftWith.keys().next().value as string);
    }
    this.#leftWith.set(target.key, target.nick);
  }

  /** The nicks ignored, as shown to the owner. */
  nicks(): string[] {
    const shown = new Set([...this.#people].map((p) => p.nick));
    for (const nick of this.#nicks.values()) shown.add(nick);
    return [...shown];
  }

  /** The owner is leaving: stop being told about the people this list follows. */
  clear(): void {
    for (const person of [...this.#people, ...this.#followed]) person.ignoredBy.delete(this.#owner);
    this.#people.clear();
    this.#followed.clear();
    this.#nicks.clear();
    this.#leftWith.clear();
  }

  #unfollow(person: User | undefined): void {
    if (person === undefined) return;
    this.#followed.delete(person);
    person.ignoredBy.delete(this.#owner);
  }
}
