/**
 * The bytes an append crosses threads in: a batch of stored messages, plus the id counter to
 * save with it, packed into one buffer that the server thread writes into shared memory and the
 * store thread reads back (see threaded.ts). The batch is one JSON array, flat, so it is encoded
 * and decoded in one call each way: per-string encoding calls cost more than the commit.
 *
 * Layout: `[nextId, id, ts, action, room, nick, text, id, ts, ...]` as UTF-8 JSON, where
 * `nextId` is the id counter to save (0 for none) and `action` is 1 for `/me`, else 0.
 *
 * @module
 */

import type { StoredMessage } from "../../core/ports.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
  for (const m of messages) flat.push(m.id, m.ts, m.action ? 1 : 0, m.room, m.from, m.text);
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
    if (flat[i + 2] === 1) m.action = true;
    messages.push(m);
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
