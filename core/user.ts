/**
 * A logged-in user, and the sink their frames go to.
 *
 * @module
 */

import { nickKey } from "./nick.ts";
import type { Room } from "./room.ts";
import { IgnoreList } from "./ignore_list.ts";
import type { PeerSink } from "./ports.ts";

/** A logged-in user. */
export class User {
  /** Nick as displayed. */
  nick: string;
  /** Nick folded for uniqueness. */
  key: string;
  /** Where this user's frames go. */
  readonly sink: PeerSink;
  /** Rooms this user is in. */
  readonly rooms: Set<Room> = new Set();
  /** False once the user has left the server. */
  online = true;
  /** The client's address, for address bans. */
  readonly address: string;
  /** Unlocked with /oper. */
  operator = false;
  /** Wrong /oper attempts so far. */
  operFailures = 0;
  /** Whose messages this user does not want to see. */
  readonly ignores: IgnoreList = new IgnoreList(this);
  /** Users whose ignore lists follow this one (told when this user leaves). */
  readonly ignoredBy: Set<User> = new Set();

  /** A user called `nick` (already checked), whose frames go to `sink`. */
  constructor(nick: string, sink: PeerSink, address = "") {
    this.nick = nick;
    this.key = nickKey(nick);
    this.sink = sink;
    this.address = address;
  }

  /** Changes the nick (the hub checks it first). */
  rename(nick: string): void {
    this.nick = nick;
    this.key = nickKey(nick);
  }
}
