/**
 * The host part other users see for an address (the "cloak" in an IRC `nick!~ident@cloak`): an
 * HMAC under a key made at each start, so it cannot be reversed or matched across restarts.
 * IPv6 addresses are cloaked by their /64, as the door counts them. It lives in the core because
 * room bans match it (`/mode #r +b *!*@1a2b3c4d5e.sc`) for users of every front end alike.
 *
 * @module
 */

import { createHmac, randomBytes } from "node:crypto";

/** The per-run cloak key: cloaks change at each start. */
const RUN_KEY = randomBytes(32);
/** Cloaks remembered, so a busy room does not hash the same address per reader. */
const CACHE_MAX = 10_000;
const cloaks = new Map<string, string>();

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
  const keyed = address.includes(":") ? ipv6Prefix(address) : address;
  cloak = createHmac("sha256", RUN_KEY).update(keyed).digest("hex").slice(0, 10) + ".sc";
  if (cloaks.size >= CACHE_MAX) cloaks.clear();
  cloaks.set(address, cloak);
  return cloak;
}

/** The first four groups of an IPv6 address (its /64), expanded enough to compare. */
function ipv6Prefix(address: string): string {
  const [head] = address.split("::");
  return head.split(":").slice(0, 4).join(":");
}
