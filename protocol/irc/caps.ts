/**
 * IRCv3 capability negotiation on the wire (contract §2.1): the caps sockchat offers, the `CAP LS`
 * and `CAP LIST` replies (values with 302, `*` continuation past 510 bytes), and `CAP REQ`
 * parsing, all or nothing. The session keeps the enabled set and applies what an ACK says.
 *
 * @module
 */

import { IRC_LINE_MAX_BYTES } from "../../config/irc_limits.ts";
import { encodeLine, type IrcLine, utf8Length } from "./line.ts";

/**
 * Every cap sockchat can offer, in the order `CAP LS` lists them. `msgid` is not a cap (it rides
 * on `message-tags`); `draft/event-playback`, `chghost`, `tls` and `znc.in/self-message` are
 * deliberately absent.
 */
export const IRC_CAPS = [
  "cap-notify",
  "server-time",
  "message-tags",
  "echo-message",
  "batch",
  "labeled-response",
  "draft/chathistory",
  "sasl",
  "account-tag",
  "account-notify",
  "extended-join",
  "away-notify",
  "multi-prefix",
  "userhost-in-names",
  "invite-notify",
  "setname",
  "draft/multiline",
  "standard-replies",
] as const;

/** One cap sockchat offers. */
export type IrcCap = typeof IRC_CAPS[number];

/** What this server offers right now: fixed for the life of the process in this issue. */
export interface CapOffer {
  /** Accounts exist (the core has a hasher): `sasl` is listed and may be requested. */
  readonly sasl: boolean;
  /** `draft/multiline` limits (`ircMultilineMaxBytes(maxFrame)`, `IRC_MULTILINE_MAX_LINES`). */
  readonly multiline: { readonly maxBytes: number; readonly maxLines: number };
  /** Only these are listed and may be requested (the session's implemented caps); all: absent. */
  readonly only?: ReadonlySet<IrcCap>;
}

/**
 * The caps offered under `offer` (all of {@linkcode IRC_CAPS} but `sasl` when there are no
 * accounts).
 *
 * @example
 * ```ts
 * import { offeredCaps } from "./caps.ts";
 * offeredCaps({ sasl: false, multiline: { maxBytes: 4096, maxLines: 100 } }).has("sasl"); // false
 * ```
 */
export function offeredCaps(offer: CapOffer): ReadonlySet<IrcCap> {
  return new Set(
    IRC_CAPS.filter((cap) =>
      (cap !== "sasl" || offer.sasl) && (offer.only === undefined || offer.only.has(cap))
    ),
  );
}

/** A cap's 302 value, or `null` for none. */
function capValue(cap: IrcCap, offer: CapOffer): string | null {
  switch (cap) {
    case "sasl":
      return "PLAIN";
    case "draft/multiline":
      return `max-bytes=${offer.multiline.maxBytes},max-lines=${offer.multiline.maxLines}`;
    default:
      return null;
  }
}

/**
 * The `CAP <c> LS` reply. With `version >= 302` values are shown (`sasl=PLAIN`,
 * `draft/multiline=max-bytes=…,max-lines=…`); without, bare names. Lines that would pass 512
 * bytes (source and CRLF included) continue on the next, all but the last marked with `*`.
 *
 * @example
 * ```ts
 * import { capLsLines } from "./caps.ts";
 * const offer = { sasl: true, multiline: { maxBytes: 4096, maxLines: 100 } };
 * const [line] = capLsLines("irc.example", "*", offer, 302);
 * line.params.at(-1)?.includes("sasl=PLAIN"); // true
 * ```
 */
export function capLsLines(
  serverName: string,
  client: string,
  offer: CapOffer,
  version: number,
): IrcLine[] {
  const items = [...offeredCaps(offer)].map((cap) => {
    const value = version >= 302 ? capValue(cap, offer) : null;
    return value === null ? cap : `${cap}=${value}`;
  });
  return capListReply(serverName, client, "LS", items);
}

/**
 * The `CAP <c> LIST` reply: the enabled caps, split like `LS`.
 *
 * @example
 * ```ts
 * import { capListLines } from "./caps.ts";
 * capListLines("irc.example", "alice", ["batch", "server-time"])[0].params;
 * // ["alice", "LIST", "batch server-time"]
 * ```
 */
export function capListLines(
  serverName: string,
  client: string,
  enabled: Iterable<IrcCap>,
): IrcLine[] {
  return capListReply(serverName, client, "LIST", [...enabled]);
}

function capListReply(
  serverName: string,
  client: string,
  sub: "LS" | "LIST",
  items: readonly string[],
): IrcLine[] {
  // Measure as a continuation line (with `*`), so a line that fits as such fits as the last.
  const overhead = utf8Length(
    encodeLine({ source: serverName, command: "CAP", params: [client, sub, "*", ""] }),
  );
  const budget = IRC_LINE_MAX_BYTES - overhead;
  const groups: string[] = [];
  let current = "";
  for (const item of items) {
    const next = current === "" ? item : `${current} ${item}`;
    if (current !== "" && utf8Length(next) > budget) {
      groups.push(current);
      current = item;
    } else {
      current = next;
    }
  }
  groups.push(current);
  return groups.map((group, i) => ({
    command: "CAP",
    params: i < groups.length - 1 ? [client, sub, "*", group] : [client, sub, group],
    trailing: true,
  }));
}

/** What a `CAP REQ` comes to: every name known → ACK and apply; any unknown → NAK, no change. */
export type CapReqResult =
  | {
    readonly kind: "ack";
    /** The request as the client sent it (spaces trimmed): the ACK repeats it exactly. */
    readonly list: string;
    /** Caps to enable, in request order. */
    readonly enable: readonly IrcCap[];
    /** Caps to disable (`-cap`), in request order. */
    readonly disable: readonly IrcCap[];
  }
  | { readonly kind: "nak"; readonly list: string };

/**
 * Parses the argument of `CAP REQ`, all or nothing (capability-negotiation spec). NAK when: the
 * list is empty; a name is not offered (including `sasl` without accounts, or a `name=value`);
 * or `-cap-notify` under 302, which cannot be turned off there.
 *
 * @example
 * ```ts
 * import { parseCapReq } from "./caps.ts";
 * const offer = { sasl: false, multiline: { maxBytes: 4096, maxLines: 100 } };
 * parseCapReq("batch -server-time", offer, 302);
 * // { kind: "ack", list: "batch -server-time", enable: ["batch"], disable: ["server-time"] }
 * parseCapReq("batch sasl", offer, 302).kind; // "nak"
 * ```
 */
export function parseCapReq(list: string, offer: CapOffer, version: number): CapReqResult {
  const trimmed = list.trim();
  const offered = offeredCaps(offer);
  const enable: IrcCap[] = [];
  const disable: IrcCap[] = [];
  const names = trimmed.split(" ").filter((name) => name !== "");
  if (names.length === 0) return { kind: "nak", list: trimmed };
  for (const name of names) {
    const off = name.startsWith("-");
    const cap = off ? name.slice(1) : name;
    if (!isOffered(cap, offered)) return { kind: "nak", list: trimmed };
    if (off && cap === "cap-notify" && version >= 302) return { kind: "nak", list: trimmed };
    (off ? disable : enable).push(cap);
  }
  return { kind: "ack", list: trimmed, enable, disable };
}

function isOffered(name: string, offered: ReadonlySet<IrcCap>): name is IrcCap {
  return (offered as ReadonlySet<string>).has(name);
}

/**
 * The `CAP LS` version a client asked for: `CAP LS 302` → 302, `CAP LS` → 0 (3.1 behaviour).
 * Anything not a number counts as 0.
 *
 * @example
 * ```ts
 * import { capLsVersion } from "./caps.ts";
 * capLsVersion("302"); // 302
 * capLsVersion(undefined); // 0
 * ```
 */
export function capLsVersion(param: string | undefined): number {
  if (param === undefined || !/^[0-9]{1,6}$/.test(param)) return 0;
  return Number(param);
}

/**
 * `CAP <c> ACK :<list>` or `CAP <c> NAK :<list>` for a {@linkcode CapReqResult}.
 *
 * @example
 * ```ts
 * import { capReqReply } from "./caps.ts";
 * capReqReply("*", { kind: "nak", list: "foo" });
 * // { command: "CAP", params: ["*", "NAK", "foo"], trailing: true }
 * ```
 */
export function capReqReply(client: string, result: CapReqResult): IrcLine {
  const sub = result.kind === "ack" ? "ACK" : "NAK";
  return { command: "CAP", params: [client, sub, result.list], trailing: true };
}
