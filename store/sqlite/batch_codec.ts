/**
 * The bytes an append crosses threads in: a batch of stored messages, plus the id counter to
 * save with it, packed into one buffer that the server thread writes into shared memory and the
 * store thread reads back (see threaded.ts). A structured clone of the same batch costs several
 * times as much CPU as packing it.
 *
 * Layout, little-endian: count (u32), next id to save (f64, 0 for none), then per message its
 * id (f64), ts (f64), action (u8), and room, nick and text, each as a u32 byte length and UTF-8.
 *
 * @module
 */

import type { StoredMessage } from "../../core/ports.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes a batch header takes. */
const HEADER_BYTES = 12;
/** Bytes a message takes besides its strings: id, ts, action and three lengths. */
const FIXED_BYTES = 8 + 8 + 1 + 3 * 4;

/** A decoded batch. */
export interface DecodedBatch {
  /** The messages, in order. */
  messages: StoredMessage[];
  /** An id counter to save with them (0: none). */
  nextId: number;
}

/**
 * Packs `messages` and the id counter `nextId` (0 for none) into a new buffer.
 *
 * @example
 * ```ts
 * const bytes = encodeBatch([{ id: 1, room: "#a", from: "bo", text: "hi", ts: 5 }], 0);
 * decodeBatch(bytes).messages[0].text; // "hi"
 * ```
 */
export function encodeBatch(messages: readonly StoredMessage[], nextId: number): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  let max = HEADER_BYTES;
  for (const m of messages) {
    max += FIXED_BYTES + 3 * (m.room.length + m.from.length + m.text.length);
  }
  const bytes = new Uint8Array(max);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, messages.length, true);
  view.setFloat64(4, nextId, true);
  let at = HEADER_BYTES;
  const put = (s: string) => {
    const { written } = encoder.encodeInto(s, bytes.subarray(at + 4));
    view.setUint32(at, written, true);
    at += 4 + written;
  };
  for (const m of messages) {
    view.setFloat64(at, m.id, true);
    view.setFloat64(at + 8, m.ts, true);
    bytes[at + 16] = m.action ? 1 : 0;
    at += 17;
    put(m.room);
    put(m.from);
    put(m.text);
  }
  return bytes.subarray(0, at);
}

/** Unpacks what {@linkcode encodeBatch} packed. Throws a RangeError on a truncated buffer. */
export function decodeBatch(bytes: Uint8Array): DecodedBatch {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  const nextId = view.getFloat64(4, true);
  let at = HEADER_BYTES;
  const take = () => {
    const n = view.getUint32(at, true);
    at += 4;
    if (at + n > bytes.length) throw new RangeError("truncated batch");
    const s = decoder.decode(bytes.subarray(at, at + n));
    at += n;
    return s;
  };
  const messages: StoredMessage[] = [];
  let lastRoom = "";
  for (let i = 0; i < count; i++) {
    const id = view.getFloat64(at, true);
    const ts = view.getFloat64(at + 8, true);
    const action = bytes[at + 16] === 1;
    at += 17;
    let room = take();
    // Most batches are one room's: keep one string for it.
    if (room === lastRoom) room = lastRoom;
    else lastRoom = room;
    const m: StoredMessage = { id, room, from: take(), text: take(), ts };
    if (action) m.action = true;
    messages.push(m);
  }
  return { messages, nextId };
}
