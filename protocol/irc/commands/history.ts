/**
 * `CHATHISTORY` (IRCv3 `draft/chathistory`, contract §5.9): the subcommands LATEST, BEFORE,
 * AFTER, AROUND, BETWEEN and TARGETS with `msgid=` and `timestamp=` references, answered from the
 * store through the core's history slices, in a `chathistory` batch for clients with `batch` and
 * as bare lines otherwise. Only PRIVMSG and NOTICE lines are replayed (no event playback), in
 * ascending id order, each with the tags the reader's caps allow.
 *
 * @module
 */

import { type Awaitable, then } from "../../../core/awaitable.ts";
import type { HistoryQuery, HistoryRef, HistoryRefusal } from "../../../core/history_slice.ts";
import type { StoredMessage } from "../../../core/ports.ts";
import { IRC_CHATHISTORY_MAX } from "../../../config/irc_limits.ts";
import type { IrcCap } from "../caps.ts";
import { encodeLine, type IrcLine, serverTime, utf8Length } from "../line.ts";
import { numeric, serverReply } from "../numerics.ts";
import { readerLines } from "../multiline_out.ts";
import type { CommandHost } from "./host.ts";

/** What `CHATHISTORY` needs of its session besides the command host. */
export interface HistoryView {
  /** The caps the reader has enabled. */
  readonly caps: ReadonlySet<IrcCap>;
  /** A batch id not used before on this connection. */
  batchId(): string;
}

/** The command host and the reader's view, as the helpers below use them. */
interface Context extends HistoryView {
  readonly host: CommandHost;
}

/** What the `batch=<id>;` tag adds to a line of a history batch, at most (ids are short). */
const BATCH_TAG_BYTES = 16;

/** The batch type of a history reply. */
export const CHATHISTORY_BATCH = "chathistory";

/** The batch type of a `TARGETS` reply. */
export const CHATHISTORY_TARGETS_BATCH = "draft/chathistory-targets";

/** A parsed `CHATHISTORY` line: a query on a target, TARGETS, or a reply refusing it. */
export type ParsedChathistory =
  | { readonly kind: "query"; readonly target: string; readonly query: HistoryQuery }
  | { readonly kind: "targets"; readonly from: number; readonly to: number; readonly limit: number }
  | { readonly kind: "invalid"; readonly reply: IrcLine };

/** `timestamp=` as server-time writes it (the fraction optional; more than ms is cut). */
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

/** A sockchat msgid: the message id in decimal. */
const MSGID = /^\d{1,15}$/;

/** Parameters after the subcommand each subcommand takes (target, references, limit). */
const ARITY: Readonly<Record<string, number>> = {
  LATEST: 3,
  BEFORE: 3,
  AFTER: 3,
  AROUND: 3,
  BETWEEN: 4,
  TARGETS: 3,
};

/**
 * Reads `CHATHISTORY <sub> ...` (without the command). `limit` is clamped to
 * {@linkcode IRC_CHATHISTORY_MAX}: not a positive integer, or more, gives the maximum (as Ergo).
 *
 * @example
 * ```ts
 * import { parseChathistory } from "./history.ts";
 * parseChathistory(["AFTER", "#rust", "msgid=3", "3"]);
 * // { kind: "query", target: "#rust", query: { kind: "after", ref: { id: 3 }, limit: 3 } }
 * ```
 */
export function parseChathistory(params: readonly string[]): ParsedChathistory {
  const sub = (params[0] ?? "").toUpperCase();
  const invalid = (context: readonly string[], text: string): ParsedChathistory => ({
    kind: "invalid",
    reply: serverReply.standard("FAIL", "CHATHISTORY", "INVALID_PARAMS", context, text),
  });
  const arity = ARITY[sub];
  if (arity === undefined) return invalid([params[0] || "*"], "Unknown command");
  const args = params.slice(1);
  if (args.length < arity) return invalid([sub], "Insufficient parameters");
  if (args.length > arity) return invalid([sub], "Too many parameters");
  const limit = clampLimit(args[arity - 1]);
  if (sub === "TARGETS") {
    const from = timestampOf(args[0]);
    const to = timestampOf(args[1]);
    if (from === null) return invalid([sub, args[0]], "Invalid timestamp");
    if (to === null) return invalid([sub, args[1]], "Invalid timestamp");
    return { kind: "targets", from, to, limit };
  }
  const target = args[0];
  const ref = (i: number): HistoryRef | null => refOf(args[i]);
  const bad = (i: number) =>
    invalid(
      [sub, args[i]],
      args[i].startsWith("timestamp=") ? "Invalid timestamp" : "Invalid message reference",
    );
  const query = (q: HistoryQuery): ParsedChathistory => ({ kind: "query", target, query: q });
  // `BEFORE *` is LATEST (Kiwi asks so for the newest page).
  if ((sub === "LATEST" || sub === "BEFORE") && args[1] === "*") {
    return query({ kind: "latest", since: null, limit });
  }
  const first = ref(1);
  if (first === null) return bad(1);
  switch (sub) {
    case "LATEST":
      return query({ kind: "latest", since: first, limit });
    case "BEFORE":
      return query({ kind: "before", ref: first, limit });
    case "AFTER":
      return query({ kind: "after", ref: first, limit });
    case "AROUND":
      return query({ kind: "around", ref: first, limit });
    default: {
      const second = ref(2);
      if (second === null) return bad(2);
      return query({ kind: "between", from: first, to: second, limit });
    }
  }
}

/** A limit as asked, or the maximum when it is not a positive integer or is over it. */
function clampLimit(text: string): number {
  if (!/^\d{1,9}$/.test(text)) return IRC_CHATHISTORY_MAX;
  const n = Number(text);
  return n < 1 || n > IRC_CHATHISTORY_MAX ? IRC_CHATHISTORY_MAX : n;
}

/** `msgid=<id>` or `timestamp=<time>`, else null. */
function refOf(text: string): HistoryRef | null {
  if (text.startsWith("msgid=")) {
    const id = text.slice(6);
    return MSGID.test(id) ? { id: Number(id) } : null;
  }
  const ts = timestampOf(text);
  return ts === null ? null : { ts };
}

/** `timestamp=YYYY-MM-DDThh:mm:ss.sssZ` in ms since the epoch, else null. */
function timestampOf(text: string): number | null {
  if (!text.startsWith("timestamp=")) return null;
  const match = TIMESTAMP.exec(text.slice(10));
  if (match === null) return null;
  const ms = Date.parse(`${match[1]}.${(match[2] ?? "").padEnd(3, "0").slice(0, 3)}Z`);
  return Number.isNaN(ms) ? null : ms;
}

/** `CHATHISTORY <sub> <target> <ref> [<ref>] <limit>` or `CHATHISTORY TARGETS <ts> <ts> <limit>`. */
export function chathistory(
  host: CommandHost,
  view: HistoryView,
  params: readonly string[],
): Awaitable<void> {
  const ctx: Context = { host, caps: view.caps, batchId: () => view.batchId() };
  if (params.length === 0 || params[0] === "") {
    host.reply(numeric.needMoreParams(host.client, "CHATHISTORY"));
    return;
  }
  const parsed = parseChathistory(params);
  switch (parsed.kind) {
    case "invalid":
      host.reply(parsed.reply);
      return;
    case "targets":
      return then(host.port.historyTargets(parsed.from, parsed.to, parsed.limit), (answer) => {
        if (!answer.ok) {
          host.reply(refusal(answer.reason, "TARGETS", "*"));
          return;
        }
        const lines = answer.targets.map((t): IrcLine => ({
          command: "CHATHISTORY",
          params: ["TARGETS", t.room, serverTime(t.ts)],
        }));
        host.replies(inBatch(ctx, CHATHISTORY_TARGETS_BATCH, [], lines));
      });
    case "query":
      return query(ctx, params[0].toUpperCase(), parsed.target, parsed.query);
  }
}

/** A history query on a room (or, for a nick, the empty batch: DMs are never stored). */
function query(ctx: Context, sub: string, target: string, q: HistoryQuery): Awaitable<void> {
  const { host } = ctx;
  if (!target.startsWith("#")) {
    const user = host.port.chat.user(target);
    host.replies(inBatch(ctx, CHATHISTORY_BATCH, [user?.nick ?? target], []));
    return;
  }
  if (!host.port.isIn(target)) {
    host.reply(refusal("not_in_room", sub, target, roomExists(host, target)));
    return;
  }
  // Each message rendered once: what it costs this reader's queue (a line per line of text,
  // each with the sender's mask and tags, which the frame's size does not show), then sent.
  const room = host.port.chat.room(target)?.name ?? target;
  const rendered = new Map<number, IrcLine[]>();
  const linesOf = (m: StoredMessage): IrcLine[] => {
    let lines = rendered.get(m.id);
    if (lines === undefined) rendered.set(m.id, lines = historyLines(ctx, room, m));
    return lines;
  };
  const wireBytes = (m: StoredMessage) =>
    linesOf(m).reduce((n, line) => n + utf8Length(encodeLine(line)) + BATCH_TAG_BYTES, 0);
  return then(host.port.historySlice(target, q, wireBytes), (answer) => {
    if (!answer.ok) {
      host.reply(refusal(answer.reason, sub, target, roomExists(host, target)));
      return;
    }
    const lines = answer.messages.flatMap(linesOf);
    host.replies(inBatch(ctx, CHATHISTORY_BATCH, [answer.room], lines));
  });
}

/** True if the room `target` exists now (has members, or is claimed while empty). */
function roomExists(host: CommandHost, target: string): boolean {
  const chat = host.port.chat;
  return chat.room(target) !== undefined || chat.claimed(target) !== undefined;
}

/**
 * The FAIL for a refused read: the target is not the reader's (`exists`: the room is there to
 * join, so the sentence says to join it rather than that there is no such room), or the read
 * failed.
 */
function refusal(
  reason: HistoryRefusal,
  sub: string,
  target: string,
  exists = false,
): IrcLine {
  switch (reason) {
    case "not_in_room":
      return serverReply.standard(
        "FAIL",
        "CHATHISTORY",
        "INVALID_TARGET",
        [sub, target],
        !target.startsWith("#")
          ? "Messages could not be retrieved"
          : exists
          ? `You are not in ${target}: JOIN it to read its history`
          : `No such channel ${target}`,
      );
    case "rate_limited":
      return serverReply.standard(
        "FAIL",
        "CHATHISTORY",
        "MESSAGE_ERROR",
        [sub, target],
        "Try again in a few seconds",
      );
    case "store_failed":
      return serverReply.standard(
        "FAIL",
        "CHATHISTORY",
        "MESSAGE_ERROR",
        [sub, target],
        "Messages could not be retrieved",
      );
  }
}

/**
 * The host of {@linkcode historySource}'s masks: no user's cloak, so it vouches for nobody (the
 * placeholder `hostmask.ts` gives a nick never seen online, too).
 */
export const HISTORY_HOST = "gone.sc";

/**
 * The source of a stored message's line, for CHATHISTORY and a JOIN's replay: the nick it was
 * said under, with a neutral user and host. The store keeps that nick, not who held it: the
 * user with the nick now (their cloak, their account) may be someone else, as when a guest's
 * nick is registered later, and a bot trusting a mask would take the guest's words for theirs.
 * For the same reason history lines carry no `account` tag.
 *
 * @example
 * ```ts
 * historySource("ann"); // "ann!~sc@gone.sc"
 * ```
 */
export function historySource(nick: string): string {
  return `${nick}!~sc@${HISTORY_HOST}`;
}

/**
 * One stored message as the reader would have seen it live: PRIVMSG or NOTICE (an action as
 * CTCP ACTION), `msgid` on the first line, `time` as the caps allow, but no `account` and a
 * neutral mask ({@linkcode historySource}); a text with newlines as one `draft/multiline` batch
 * for a multiline reader, else as several lines without the blank ones (`readerLines`, as live
 * messages).
 */
function historyLines(ctx: Context, room: string, m: StoredMessage): IrcLine[] {
  const { caps } = ctx;
  const tags: Record<string, string> = {};
  if (caps.has("server-time")) tags.time = serverTime(m.ts);
  return readerLines(caps, {
    id: m.id,
    source: historySource(m.from),
    command: m.notice ? "NOTICE" : "PRIVMSG",
    target: room,
    text: m.text,
    action: m.action,
    tags,
  });
}

/**
 * `lines` inside `BATCH +id <type> <params>` … `BATCH -id` when the reader has `batch` (a nested
 * batch's own lines keep theirs; its BATCH lines get the outer one), else bare.
 */
function inBatch(
  ctx: Context,
  type: string,
  params: readonly string[],
  lines: readonly IrcLine[],
): IrcLine[] {
  if (!ctx.caps.has("batch")) return [...lines];
  const id = ctx.batchId();
  return [
    serverReply.batchStart(id, type, params),
    ...lines.map((line): IrcLine =>
      line.tags?.batch !== undefined ? line : { ...line, tags: { batch: id, ...line.tags } }
    ),
    serverReply.batchEnd(id),
  ];
}
