/**
 * The bytes an append crosses threads in: a batch of stored messages, plus the id counter to
 * save with it, packed into one buffer that the server thread writes into shared memory and the
 * store thread reads back (see threaded.ts). The batch is one JSON array, flat, so it is encoded
 * and decoded in one call each way: per-string encoding calls cost more than the commit.
 *
 * Layout: `[nextId, id, ts, kind, room, nick, text, id, ts, ...]` as UTF-8 JSON, where
 * `nextId` is the id counter to save (0 for none) and `kind` is the message's
 * {@linkcode kindCode}: 0 text, 1 a `/me` action, 2 a notice.
 *
 * @module
 */

import type { StoredMessage } from "../../core/ports.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A message's kind as the number stored for it (here and in the SQLite `action` column): 0
 * text, 1 a `/me` action, 2 a notice.
 */
export function kindCode(m: StoredMessage): number {
  return m.notice ? 2 : m.action ? 1 : 0;
}

/** Sets `m`'s kind from its stored number (see {@linkcode kindCode}); 0 (text) sets nothing. */
export function setKind(m: StoredMessage, code: number): StoredMessage {
  if (code === 1) m.action = true;
  else if (code === 2) m.notice = true;
  return m;
}

/** Values per message in the flat array. */
const FIELDS = 6;

/** A decoded batch. */
export interface DecodedBatch {
  /** The messages, in order. */
  messages: StoredMessage[];
  /** An id counter to save with them (0: none). */
  nextId: number;
}

/**
 * Packs `messages` and the id counter `nextId` (0 for none) into one string.
 *
 * @example
 * ```ts
 * const packed = packBatch([{ id: 1, room: "#a", from: "bo", text: "hi", ts: 5 }], 0);
 * unpackBatch(packed).messages[0].text; // "hi"
 * ```
 */
export function packBatch(messages: readonly StoredMessage[], nextId: number): string {
  const flat: (string | number)[] = [nextId];
  for (const m of messages) flat.push(m.id, m.ts, kindCode(m), m.room, m.from, m.text);
  return JSON.stringify(flat);
}

/** Unpacks what {@linkcode packBatch} packed. Throws on anything else. */
export function unpackBatch(packed: string): DecodedBatch {
  const flat = JSON.parse(packed) as unknown;
  if (!Array.isArray(flat) || (flat.length - 1) % FIELDS !== 0) {
    throw new RangeError("not a packed batch");
  }
  const messages: StoredMessage[] = [];
  for (let i = 1; i < flat.length; i += FIELDS) {
    const m: StoredMessage = {
      id: flat[i],
      ts: flat[i + 1],
      room: flat[i + 3],
      from: flat[i + 4],
      text: flat[i + 5],
    };
    messages.push(setKind(m, flat[i + 2]));
  }
  return { messages, nextId: flat[0] };
}

/** {@linkcode packBatch}, as UTF-8 bytes. */
export function encodeBatch(messages: readonly StoredMessage[], nextId: number): Uint8Array {
  return encoder.encode(packBatch(messages, nextId));
}

/** {@linkcode unpackBatch} of UTF-8 bytes (not in shared memory: copy them out first). */
export function decodeBatch(bytes: Uint8Array): DecodedBatch {
  return unpackBatch(decoder.decode(bytes));
}
