/**
 * Byte-level reading of server frames without `JSON.parse`. The load generator sees millions of
 * frames a second; parsing each one would make it, not the server, the bottleneck. The server
 * builds every frame as an object literal whose first key is `type`, so `JSON.stringify` puts
 * `{"type":"` at the start of each line; the kind is the byte right after it.
 *
 * @module
 */

/** Length of `{"type":"`, the prefix of every server frame. */
const TYPE_VALUE_OFFSET = 9;
const QUOTE = 0x22;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** What a frame is, as far as the load generator cares. */
export type FrameKind = "msg" | "ack" | "join" | "leave" | "welcome" | "ping" | "info" | "other";

const PREFIX = new TextEncoder().encode('{"type":"');

/** The kind of the frame in `buf[start, end)`, read from the first letters of its type. */
export function frameKind(buf: Uint8Array, start: number, end: number): FrameKind {
  if (end - start <= TYPE_VALUE_OFFSET + 2) return "other";
  for (let i = 0; i < PREFIX.length; i++) {
    if (buf[start + i] !== PREFIX[i]) return "other";
  }
  const a = buf[start + TYPE_VALUE_OFFSET];
  const b = buf[start + TYPE_VALUE_OFFSET + 1];
  switch (a) {
    case 0x6d: // m
      return b === 0x73 ? "msg" : "other"; // "ms"
    case 0x61: // a
      return b === 0x63 ? "ack" : "other"; // "ac"
    case 0x6a: // j
      return b === 0x6f && buf[start + TYPE_VALUE_OFFSET + 4] === QUOTE ? "join" : "other";
    case 0x6c: // l
      return "leave";
    case 0x77: // w
      return "welcome";
    case 0x70: // p
      return b === 0x69 ? "ping" : "other"; // "pi"
    case 0x69: // i
      return b === 0x6e ? "info" : "other"; // "in"
    default:
      return "other";
  }
}

/**
 * How many joins a presence summary reports (`* 250 joined #lobby: ...`), or 0 for any other
 * info frame: past a burst, the server tells a storm of joins as one such line.
 */
export function summarisedJoins(buf: Uint8Array, start: number, end: number): number {
  const text = readField(buf, "text", start, end);
  const match = /^\* (\d+) joined /.exec(text);
  return match === null ? 0 : Number(match[1]);
}

/** A field's `"name":"` prefix, with the byte to search for first. */
export interface FieldKey {
  /** The bytes `"name":"`. */
  bytes: Uint8Array;
  /** Index in `bytes` of its rarest byte in a typical frame: the one `indexOf` looks for. */
  anchor: number;
}

const TYPICAL_FRAME = new TextEncoder().encode(
  '{"type":"msg","id":123,"room":"#lobby","from":"c12","text":"0.1.2.xxx","ts":1700000000000}',
);

/** Builds the key for field `name` (a string-valued field). */
export function fieldKey(name: string): FieldKey {
  const bytes = new TextEncoder().encode(`"${name}":"`);
  let anchor = 0;
  let fewest = Number.POSITIVE_INFINITY;
  bytes.forEach((byte, i) => {
    const seen = TYPICAL_FRAME.filter((b) => b === byte).length;
    if (seen < fewest) [anchor, fewest] = [i, seen];
  });
  return { bytes, anchor };
}

/**
 * Index just past the first occurrence of `key` in `buf[from, end)`, or -1. The native
 * `indexOf` finds candidates by the key's rarest byte; the rest is compared by hand.
 */
export function indexAfter(buf: Uint8Array, key: FieldKey, from: number, end: number): number {
  const { bytes, anchor } = key;
  let i = buf.indexOf(bytes[anchor], from + anchor);
  while (i !== -1) {
    const at = i - anchor;
    if (at + bytes.length > end) return -1;
    let j = 0;
    while (j < bytes.length && buf[at + j] === bytes[j]) j++;
    if (j === bytes.length) return at + bytes.length;
    i = buf.indexOf(bytes[anchor], i + 1);
  }
  return -1;
}

/** Index just past the digits read by the last {@linkcode readUint}. */
let uintEnd = 0;

/**
 * Reads an unsigned decimal integer starting at `at`; -1 if there is no digit there. Leaves
 * the index after its last digit in {@linkcode uintEnd}.
 */
export function readUint(buf: Uint8Array, at: number): number {
  let value = -1;
  let i = at;
  for (; i < buf.length; i++) {
    const c = buf[i];
    if (c < DIGIT_0 || c > DIGIT_9) break;
    value = (value < 0 ? 0 : value * 10) + (c - DIGIT_0);
  }
  uintEnd = i;
  return value;
}

/**
 * The fields the load generator packs at the start of a message's text:
 * `<sender>.<seq>.<sentAtMicros>.` followed by padding.
 */
export interface StampedText {
  /** The sender's index. */
  sender: number;
  /** The message's place in its sender's sequence, from 0. */
  seq: number;
  /** `performance.now()` at the sender, in whole microseconds. */
  sentAtMicros: number;
}

const TEXT_KEY = fieldKey("text");

/**
 * Reads the stamp from a `msg` frame in `buf[start, end)` into `out`. Returns false if the
 * frame's text does not carry one (a message from someone else).
 */
export function readStamp(buf: Uint8Array, start: number, end: number, out: StampedText): boolean {
  // Consecutive frames almost always put the text at the same offset (only the id's digits
  // and the nick's length move it), so try where it was last time before searching.
  let at = start + textOffset;
  if (at > end || !endsWith(buf, at, TEXT_KEY.bytes)) {
    at = indexAfter(buf, TEXT_KEY, start, end);
    if (at < 0) return false;
    textOffset = at - start;
  }
  return readStampAt(buf, at, end, out);
}

/**
 * Reads a stamp `<sender>.<seq>.<sentAtMicros>.` that starts at `at` into `out`, whatever the
 * framing around it. Returns false if there is none there.
 */
export function readStampAt(buf: Uint8Array, at: number, end: number, out: StampedText): boolean {
  if (at >= end) return false;
  out.sender = readUint(buf, at);
  if (out.sender < 0 || buf[uintEnd] !== DOT) return false;
  out.seq = readUint(buf, uintEnd + 1);
  if (out.seq < 0 || buf[uintEnd] !== DOT) return false;
  out.sentAtMicros = readUint(buf, uintEnd + 1);
  return out.sentAtMicros >= 0;
}

/** Where the last stamped text started, relative to its line. */
let textOffset = 0;

/** True if `buf` holds `bytes` just before index `at`. */
function endsWith(buf: Uint8Array, at: number, bytes: Uint8Array): boolean {
  const from = at - bytes.length;
  if (from < 0) return false;
  for (let i = 0; i < bytes.length; i++) {
    if (buf[from + i] !== bytes[i]) return false;
  }
  return true;
}

const decoder = new TextDecoder();
const keys = new Map<string, FieldKey>();

/**
 * The string value of field `name` in the frame `buf[start, end)`, or "" if it has none. For
 * rare frames (leave, ping) only: it decodes a string. Assumes the value has no escaped quote.
 */
export function readField(buf: Uint8Array, name: string, start: number, end: number): string {
  let key = keys.get(name);
  if (key === undefined) {
    key = fieldKey(name);
    keys.set(name, key);
  }
  const at = indexAfter(buf, key, start, end);
  if (at < 0) return "";
  const close = buf.indexOf(QUOTE, at);
  return decoder.decode(buf.subarray(at, close < 0 || close > end ? end : close));
}
