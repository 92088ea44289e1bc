/**
 * Rooms and their names.
 *
 * @module
 */

import { ROOM_NAME_MAX_LENGTH } from "../config/limits.ts";
import type { User } from "./user.ts";

/** A chat room and its members. */
export class Room {
  /** Room name as first created, including its leading `#`. */
  readonly name: string;
  /** Current topic; empty when unset. */
  topic: string;
  /** Users in the room. */
  readonly members: Set<User> = new Set();

  constructor(name: string, topic = "") {
    this.name = name;
    this.topic = topic;
  }
}

/** Why a room name is refused, as a sentence; null when it is fine. */
export function roomProblem(name: string): string | null {
  if (!name.startsWith("#")) return `Room names start with #, as in #${name || "general"}.`;
  const rest = name.slice(1);
  const length = [...rest].length;
  if (length === 0 || length > ROOM_NAME_MAX_LENGTH) {
    return `A room name needs 1 to ${ROOM_NAME_MAX_LENGTH} characters after the #.`;
  }
  if (!/^[\p{L}\p{N}_.-]+$/u.test(rest)) {
    return "A room name may use letters, digits, _, . and - only.";
  }
  return null;
}

/** The key under which room names are unique: case-folded. */
export function roomKey(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}
