/**
 * UTF-8 bytes for short strings, cut from a shared slab. In Deno, making a small `Uint8Array`
 * (which `TextEncoder.encode` does for every call) costs about 2 µs, several times the JSON of a
 * chat frame; writing into a slab with `encodeInto` and handing out a view of it costs about
 * 0.15 µs. A view keeps its whole slab alive, so whoever keeps bytes for long copies them
 * first ({@linkcode isSlabView}; the outbound queue does, for bytes that must wait).
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Bytes per slab: a few dozen chat frames, so that a new slab is rare, while a view that a
 * stalled socket's pending write holds keeps at most this much alive.
 */
const SLAB_BYTES = 4 * 1024;
/** Strings longer than this (in UTF-16 code units) get bytes of their own. */
const SLAB_STRING_MAX = 512;
/** Allocations bigger than this get bytes of their own. */
const SLAB_ALLOC_MAX = 1536;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/**
 * `s` as UTF-8. Short strings come back as a view into a shared slab: do not keep one for long
 * without copying it (see {@linkcode isSlabView}).
 *
 * @example
 * ```ts
 * new TextDecoder().decode(utf8('{"type":"ping"}\n')); // '{"type":"ping"}\n'
 * ```
 */
export function utf8(s: string): Uint8Array {
  if (s.length > SLAB_STRING_MAX) return encoder.encode(s);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  room(3 * s.length);
  const { written } = encoder.encodeInto(s, slab.subarray(used));
  const bytes = slab.subarray(used, used + written);
  used += written;
  return bytes;
}

/**
 * `n` zeroed bytes: from the slab when `n` is small (the same caveat as {@linkcode utf8}),
 * else a buffer of their own.
 *
 * @example
 * ```ts
 * alloc(16).length; // 16
 * ```
 */
export function alloc(n: number): Uint8Array {
  if (n > SLAB_ALLOC_MAX) return new Uint8Array(n);
  room(n);
  const bytes = slab.subarray(used, used + n);
  used += n;
  return bytes;
}

/** Starts a new slab unless `n` more bytes fit in this one. */
function room(n: number): void {
  if (used + n <= SLAB_BYTES) return;
  slab = new Uint8Array(SLAB_BYTES);
  used = 0;
}

/** True if `bytes` is a view into a larger buffer (a slab): keeping it keeps the whole buffer. */
export function isSlabView(bytes: Uint8Array): boolean {
  return bytes.byteLength !== bytes.buffer.byteLength;
}
