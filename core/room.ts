/**
 * Rooms and their names.
 *
 * @module
 */

import { ROOM_NAME_MAX_LENGTH } from "../config/limits.ts";
import { NICK_MAX_COMBINING_RUN } from "../config/security_limits.ts";
import { INVISIBLE, scriptProblem, toLatinLetters } from "../security/unicode.ts";
import type { User } from "./user.ts";
import { newModes, type RoomModes } from "./room_modes.ts";

/**
 * A claimed room's owner and the accounts it keeps as operators and voiced, by account key
 * (a verified user's folded nick): what `/register #room` keeps across restarts.
 */
export interface RoomClaim {
  /** The owning account's key. */
  owner: string;
  /** Accounts opped on joining (the owner always is). */
  ops: Set<string>;
  /** Accounts voiced on joining. */
  voices: Set<string>;
  /**
   * When the room was made, as it was when claimed (kept across restarts, unlike
   * {@linkcode Room.created}), milliseconds since the epoch.
   */
  created: number;
}

const ASCII = /^\p{ASCII}*$/u;
/** Room names are identities like nicks, so they get the same limit on stacked marks. */
const MARK_RUN = new RegExp(`\\p{M}{${NICK_MAX_COMBINING_RUN + 1}}`, "u");

/**
 * A pending invitation. Only one from a room operator (or server operator) lifts +k, +l and +b
 * too: otherwise any member could let in someone the operators banned or keyed out.
 */
export interface Invitation {
  /** When it expires, milliseconds since the Unix epoch (see INVITE_TTL_MS). */
  until: number;
  /** True if an operator gave it: it lets its invitee past +i, +k, +l and +b; else only +i. */
  byOperator: boolean;
}

/** A chat room and its members. */
export class Room {
  /** Room name as first created, including its leading `#`. */
  readonly name: string;
  /** Current topic; empty when unset. */
  topic: string;
  /** Who set the topic ("" when unknown: none, or one kept from before a restart). */
  topicBy = "";
  /** When the topic was set, milliseconds since the epoch (0 when unknown). */
  topicAt = 0;
  /** When the room was made (this time: an empty room is forgotten), ms since the epoch. */
  readonly created: number = Date.now();
  /** Users in the room. */
  readonly members: Set<User> = new Set();
  /** Its modes (+t, +m, +i, +k, +l, +b); `+n` only for a new room. */
  modes: RoomModes = newModes();
  /** Members who are room operators (`@`). */
  readonly ops: Set<User> = new Set();
  /** Members who are voiced (`+`). */
  readonly voiced: Set<User> = new Set();
  /** Pending invitations, by the invitee's folded nick. */
  readonly invited: Map<string, Invitation> = new Map();
  /** The claim that keeps this room's state, or null for a room forgotten when empty. */
  claim: RoomClaim | null = null;
  /**
   * The ts of the newest message stored in this room as far as this server knows (one committed
   * while the room was held, or what a store read found), 0 when it has none, or null while
   * unknown (a room made or loaded since): `CHATHISTORY TARGETS` answers from it without a store
   * read. Only goes up.
   */
  newestTs: number | null = null;

  /** A room called `name` (with its `#`), with a topic if the store remembered one. */
  constructor(name: string, topic = "") {
    this.name = name;
    this.topic = topic;
  }
}

/**
 * Why a room name is refused, as a sentence; null when it is fine. Past the `#`: letters (with
 * their accents and vowel signs), digits, `_`, `.` and `-`; nothing invisible; and the script
 * rules of nicks (security/unicode.ts), so "#l\u043ebby" with a Cyrillic о is refused, with
 * "#lobby" suggested.
 */
export function roomProblem(name: string): string | null {
  if (!name.startsWith("#")) return `Room names start with #, as in #${name || "general"}.`;
  const rest = name.slice(1);
  const length = [...rest].length;
  if (length === 0 || length > ROOM_NAME_MAX_LENGTH) {
    return `A room name needs 1 to ${ROOM_NAME_MAX_LENGTH} characters after the #.`;
  }
  if (!/^[\p{L}\p{N}\p{M}_.-]+$/u.test(rest)) {
    return "A room name may use letters, digits, _, . and - only.";
  }
  // Hangul fillers are letters and variation selectors are marks, yet both draw nothing.
  if (INVISIBLE.test(rest)) {
    return "A room name may not contain invisible characters, such as Hangul fillers or variation " +
      "selectors.";
  }
  const text = rest.normalize("NFC");
  if (/^\p{M}/u.test(text)) {
    return "A room name may not start with a combining mark (an accent with no letter under it).";
  }
  if (MARK_RUN.test(text)) {
    return `A room name may have at most ${NICK_MAX_COMBINING_RUN} accents or marks on one letter.`;
  }
  // Offer the plain Latin name only if it is what was meant: no letter turned into a digit
  // (Cyrillic б imitates a 6, but "#co6aka" is nobody's room).
  const latin = latinFold(name);
  const meant = ASCII.test(latin) && digits(latin) === digits(name);
  return scriptProblem(text, "A room name", meant ? latin : undefined);
}

/**
 * The key under which room names are unique: NFKC and lower case, so "#Rust" and "#ＲＵＳＴ" are
 * "#rust". A name made entirely of lookalikes of plain Latin letters and digits, in a single
 * script as {@linkcode roomProblem} requires ("#\u04cf\u043e\u042c\u042c\u0443" in Cyrillic,
 * "#\u029f\u1d0f\u0299\u0299\u028f" in small capitals), is the Latin room ("#lobby"). Any other name
 * keeps the key it always had, which is also its key in the history store.
 */
export function roomKey(name: string): string {
  const key = name.normalize("NFKC").toLowerCase();
  if (ASCII.test(key)) return key;
  const latin = latinFold(name);
  return ASCII.test(latin) ? latin : key;
}

function digits(text: string): string {
  return text.replace(/[^0-9]/g, "");
}

/** Lookalikes mapped to Latin as typed (Greek Η is H) and again after lower-casing (η is n). */
function latinFold(name: string): string {
  return toLatinLetters(toLatinLetters(name.normalize("NFKC")).toLowerCase());
}
