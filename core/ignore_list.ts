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
import { nickKey } from "./nick.ts";
import type { User } from "./user.ts";

/** The collections behind a non-empty {@linkcode IgnoreList}. */
interface IgnoreSets {
  /** People the owner ignored while they were online, followed through renames. */
  readonly people: Set<User>;
  /** Folded nicks the owner ignored, shown as typed. */
  readonly nicks: Map<string, string>;
  /** People followed because they turned up with an ignored nick (derived, capped). */
  readonly followed: Set<User>;
  /** Nicks left behind by followed people who went away (derived, capped, oldest first). */
  readonly leftWith: Map<string, string>;
}

/** One user's ignore list. Checks are O(1): they run for every message a member is sent. */
export class IgnoreList {
  readonly #owner: User;
  /** Null until the first ignore: most users never ignore anyone, and every idle one would pay. */
  #sets: IgnoreSets | null = null;

  /** An empty ignore list belonging to `owner`. */
  constructor(owner: User) {
    this.#owner = owner;
  }

  /** Entries the owner asked for (what {@linkcode MAX_IGNORES} limits). */
  get size(): number {
    const sets = this.#sets;
    return sets === null ? 0 : sets.people.size + sets.nicks.size;
  }

  /** True when nobody is ignored at all (the relay's fast path). */
  get isEmpty(): boolean {
    const sets = this.#sets;
    return sets === null ||
      (this.size === 0 && sets.followed.size === 0 && sets.leftWith.size === 0);
  }

  /** Ignores a person who is online. */
  addUser(target: User): void {
    this.#use().people.add(target);
    target.addIgnorer(this.#owner);
  }

  /** Ignores a nick (folded `key`, shown as `nick`). */
  addNick(key: string, nick: string): void {
    this.#use().nicks.set(key, nick);
  }

  /** Lifts every entry matching the folded nick `key` (a person by their current nick). */
  remove(key: string): void {
    const sets = this.#sets;
    if (sets === null) return;
    sets.nicks.delete(key);
    sets.leftWith.delete(key);
    for (const set of [sets.people, sets.followed]) {
      for (const person of set) {
        if (person.key !== key) continue;
        set.delete(person);
        person.removeIgnorer(this.#owner);
      }
    }
  }

  /** True if messages from `sender` are hidden. A nick match starts following that person. */
  has(sender: User): boolean {
    const sets = this.#sets;
    if (sets === null) return false;
    if (sets.people.has(sender) || sets.followed.has(sender)) return true;
    if (!sets.nicks.has(sender.key) && !sets.leftWith.has(sender.key)) return false;
    if (sender.online) {
      if (sets.followed.size >= MAX_IGNORES) this.#unfollow(sets.followed.values().next().value);
      sets.followed.add(sender);
      sender.addIgnorer(this.#owner);
    }
    return true;
  }

  /**
   * A test for history replay: true if a message stored under the nick `from` is hidden. History
   * keeps nicks, not people, so it matches the nicks ignored, the nicks followed people left
   * with, and the nicks the people followed hold now (not those they held before a rename).
   * Null when nobody is ignored, so a replay pays nothing then. Pure: it starts following nobody.
   */
  historyFilter(): ((from: string) => boolean) | null {
    const sets = this.#sets;
    if (sets === null || this.isEmpty) return null;
    const keys = new Set([...sets.nicks.keys(), ...sets.leftWith.keys()]);
    for (const person of [...sets.people, ...sets.followed]) keys.add(person.key);
    // A replay names few authors many times: fold each nick once.
    const seen = new Map<string, boolean>();
    return (from) => {
      let hidden = seen.get(from);
      if (hidden === undefined) seen.set(from, hidden = keys.has(nickKey(from)));
      return hidden;
    };
  }

  /** `target`, whom this list follows, has left the server: keep their last nick instead. */
  wentAway(target: User): void {
    const sets = this.#sets;
    if (sets === null) return;
    if (sets.people.delete(target)) {
      // The owner's own entry stays theirs: it becomes the nick this person left with.
      sets.nicks.set(target.key, target.nick);
      return;
    }
    if (!sets.followed.delete(target) || sets.nicks.has(target.key)) return;
    sets.leftWith.delete(target.key);
    if (sets.leftWith.size >= MAX_IGNORES) {
      sets.leftWith.delete(sets.leftWith.keys().next().value as string);
    }
    sets.leftWith.set(target.key, target.nick);
  }

  /** The nicks ignored, as shown to the owner. */
  nicks(): string[] {
    const sets = this.#sets;
    if (sets === null) return [];
    const shown = new Set([...sets.people].map((p) => p.nick));
    for (const nick of sets.nicks.values()) shown.add(nick);
    return [...shown];
  }

  /** The owner is leaving: stop being told about the people this list follows. */
  clear(): void {
    const sets = this.#sets;
    if (sets === null) return;
    for (const person of [...sets.people, ...sets.followed]) person.removeIgnorer(this.#owner);
    this.#sets = null;
  }

  /** The collections, created on the first ignore. */
  #use(): IgnoreSets {
    return this.#sets ??= {
      people: new Set(),
      nicks: new Map(),
      followed: new Set(),
      leftWith: new Map(),
    };
  }

  #unfollow(person: User | undefined): void {
    if (person === undefined) return;
    this.#sets?.followed.delete(person);
    person.removeIgnorer(this.#owner);
  }
}
