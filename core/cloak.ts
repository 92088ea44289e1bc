/**
 * The host part other users see for an address (the "cloak" in an IRC `nick!~ident@cloak`): an
 * HMAC under a key made at each start, so it cannot be reversed or matched across restarts. In
 * cluster mode every node cloaks under the one key the cluster keeps ({@linkcode setCloakKey}),
 * so a user shows the same cloak on every node and a room ban by cloak holds on all of them.
 * IPv6 addresses are cloaked by their /64, as the door counts them. It lives in the core because
 * room bans match it (`/mode #r +b *!*@1a2b3c4d5e.sc`) for users of every front end alike.
 *
 * @module
 */

import { createHmac, randomBytes } from "node:crypto";
import { parseAddress } from "./address_prefix.ts";

/** The cloak key: made at each start (cloaks change then), or the cluster's. */
let runKey: Uint8Array = randomBytes(32);
/** Cloaks remembered, so a busy room does not hash the same address per reader. */
const CACHE_MAX = 10_000;
const cloaks = new Map<string, string>();
/** The shortest key {@linkcode setCloakKey} takes: a short key could be guessed from cloaks. */
export const CLOAK_KEY_MIN_BYTES = 16;

/**
 * The cloak for `address`: 10 hex digits of HMAC-SHA256 under the run key, then `.sc`.
 *
 * @example
 * ```ts
 * cloakOf("192.0.2.1").endsWith(".sc"); // true
 * ```
 */
export function cloakOf(address: string): string {
  let cloak = cloaks.get(address);
  if (cloak !== undefined) return cloak;
  const keyed = cloakKey(address);
  cloak = createHmac("sha256", runKey).update(keyed).digest("hex").slice(0, 10) + ".sc";
  if (cloaks.size >= CACHE_MAX) cloaks.clear();
  cloaks.set(address, cloak);
  return cloak;
}

/**
 * Cloaks under `key` from now on (cluster mode: the key every node shares). Called at start,
 * before any user logs in, and called again, with users logged in, when Redis comes back empty
 * (cluster/cloak_key.ts's `shareCloakKey`, at each new epoch). Normally that second call hands
 * back the key already in use and changes nothing; but if another node's key won (one started
 * while Redis was empty or away, with a key of its own), every live user's cloak changes
 * mid-session, and bans by an old cloak (`+b *!*@1a2b3c4d5e.sc`) no longer match the users they
 * were made for: they need making again under the new cloaks. docs/CLUSTER.md lists this under
 * known limits.
 *
 * @example
 * ```ts
 * setCloakKey(new TextEncoder().encode("the cluster's key"));
 * ```
 */
export function setCloakKey(key: Uint8Array): void {
  if (key.length < CLOAK_KEY_MIN_BYTES) {
    throw new RangeError(`A cloak key needs at least ${CLOAK_KEY_MIN_BYTES} bytes.`);
  }
  runKey = key;
  cloaks.clear();
}

/**
 * What a cloak is made from: an IPv4 address (also when a dual-stack listener shows it mapped,
 * `::ffff:192.0.2.1`), or an IPv6 address's /64 from its parsed bytes, so that every spelling of
 * one /64 (`2001:db8:1:0:1::`, `2001:db8:1::5`) shares a cloak and no two /64s do. Anything that
 * does not parse is used as it is.
 */
function cloakKey(address: string): string {
  const parsed = parseAddress(address);
  if (parsed === null) return address;
  if (parsed.family === 4) return parsed.bytes.join(".");
  return `v6:${Array.from(parsed.bytes.subarray(0, 8), (b) => b.toString(16)).join(":")}`;
}
