/**
 * IP address prefixes (CIDR blocks) for address bans: parsing what an operator types, masking,
 * and a string key per block, so that checking an address at the door costs one map lookup per
 * prefix length in use.
 *
 * @module
 */

/** An IPv4 or IPv6 block: its first address (host bits zero) and its prefix length. */
export interface AddressPrefix {
  /** IPv4 or IPv6. */
  family: 4 | 6;
  /** The masked address: 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  /** Prefix length in bits: up to 32 for IPv4, 128 for IPv6. */
  length: number;
}

/** An address as typed, before a default prefix length is applied. */
export interface ParsedAddress {
  /** IPv4 (an IPv4-mapped IPv6 address included) or IPv6. */
  family: 4 | 6;
  /** The address: 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  /** The `/N` given, or null when none was. */
  length: number | null;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Parses `203.0.113.9`, `203.0.113.0/24`, `2001:db8::1`, `[2001:db8::1]`, `2001:db8::/48` or
 * `::ffff:203.0.113.9` (an IPv4-mapped address counts as IPv4). Null if it is none of these.
 *
 * @example
 * ```ts
 * parseAddress("10.1.2.3/8"); // { family: 4, bytes: [10, 1, 2, 3], length: 8 }
 * ```
 */
export function parseAddress(text: string): ParsedAddress | null {
  const slash = text.indexOf("/");
  const address = (slash === -1 ? text : text.slice(0, slash)).replace(/^\[(.*)\]$/, "$1")
    .replace(/%[^%]*$/, "");
  let length: number | null = null;
  if (slash !== -1) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits)) return null;
    length = Number(digits);
  }
  const v4 = ipv4Bytes(address);
  if (v4 !== null) return length === null || length <= 32 ? { family: 4, bytes: v4, length } : null;
  const v6 = ipv6Bytes(address);
  if (v6 === null || (length !== null && length > 128)) return null;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  if (mapped && (length === null || length >= 96)) {
    return { family: 4, bytes: v6.slice(12), length: length === null ? null : length - 96 };
  }
  return { family: 6, bytes: v6, length };
}

/** The block of `length` bits that contains `bytes`. */
export function prefixOf(family: 4 | 6, bytes: Uint8Array, length: number): AddressPrefix {
  const masked = new Uint8Array(bytes.length);
  const whole = length >> 3;
  masked.set(bytes.subarray(0, whole));
  if (whole < bytes.length && (length & 7) !== 0) {
    masked[whole] = bytes[whole] & (0xff << (8 - (length & 7)));
  }
  return { family, bytes: masked, length };
}

/** The map key of a block: equal keys, equal blocks. */
export function prefixKey(prefix: AddressPrefix): string {
  return `${prefix.family}/${prefix.length}/${prefix.bytes.join(".")}`;
}

/** A block as people write it: `203.0.113.0/24`, `2001:db8::/48`, a lone host without `/N`. */
export function formatPrefix(prefix: AddressPrefix): string {
  const full = prefix.family === 4 ? 32 : 128;
  const address = prefix.family === 4 ? prefix.bytes.join(".") : formatIpv6(prefix.bytes);
  return prefix.length === full ? address : `${address}/${prefix.length}`;
}

function ipv4Bytes(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return Uint8Array.from(parts.map(Number));
}

function ipv6Bytes(text: string): Uint8Array | null {
  let rest = text.toLowerCase();
  // A dotted IPv4 tail (::ffff:192.0.2.1) is two more groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (dotted !== null) {
    const v4 = ipv4Bytes(dotted[1]);
    if (v4 === null || !rest.slice(0, dotted.index).endsWith(":")) return null;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    rest = rest.slice(0, dotted.index) + `${hex(v4[0], v4[1])}:${hex(v4[2], v4[3])}`;
  }
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    const n = parseInt(g, 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  });
  return bytes;
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run of zero groups as `::`. */
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16));
  if (best === -1) return hex(0, 8).join(":");
  return `${hex(0, best).join(":")}::${hex(best + bestLength, 8).join(":")}`;
}
