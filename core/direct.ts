/**
 * Direct messages: from one user to another, never stored, so they work on a full disk.
 *
 * In a cluster a message to a user another node holds (a mirror here) is handed to that node
 * (`ClusterBus.direct`) and acknowledged once it took it. The checks are split by what each
 * node knows: the sender's node checks what concerns the sender (mutes, empty text, a message
 * to oneself, who exists) and tells them of the recipient's away message (the mirror carries
 * it); the recipient's node checks what concerns the recipient, which only it knows (whether
 * they are still there, whom they ignore) and notes who wrote last, for /reply
 * ({@linkcode received}).
 *
 * @module
 */

import { type Awaitable, then } from "./awaitable.ts";
import type { ClusterBus } from "./cluster.ts";
import type { DirectFrame, ServerFrame } from "../protocol/frames.ts";
import { reply, send } from "./deliver.ts";
import type { Moderator } from "./moderator.ts";
import type { Registry } from "./registry.ts";
import { keptBreaks, type MessageKind, outcomeUnknown, type Relay, spokenText } from "./relay.ts";
import { shown } from "./text.ts";
import type { User } from "./user.ts";

/** What a direct message needs: who is here, who is muted, ids, and the clock. */
export interface DirectOptions {
  /** Where the recipient is looked up. */
  registry: Registry;
  /** Who may not speak. */
  moderation: Moderator;
  /** Where the message's id comes from (the room messages' counter). */
  relay: Pick<Relay, "unstoredId">;
  /** The clock, in milliseconds since the epoch. */
  now: () => number;
  /** The cluster, which takes messages to other nodes' users. @default none */
  cluster?: ClusterBus | null;
}

/** How a direct message is sent. */
export interface DirectHow {
  /** Text, a `/me` action or a notice, as a room message. @default "text" */
  readonly kind?: MessageKind;
  /**
   * The text is a client-to-client query (IRC CTCP: `VERSION`, `PING 123`), or with `notice`
   * the answer to one: only IRC clients see it. @default false
   */
  readonly ctcp?: boolean;
  /** Where the sender joined lines without a newline (`MessageFrame.breaks`). */
  readonly breaks?: readonly number[];
  /**
   * Deliver a message to oneself instead of refusing it: IRC clients use that (a note to self,
   * a check that messages arrive), where for the native clients it is a slip. @default false
   */
  readonly toSelf?: boolean;
}

/**
 * Sends a direct message that only `toNick` sees; the author gets an ack (the same whether or
 * not the recipient ignores them, so an ignored sender is not told). A message to oneself is
 * refused unless `how.toSelf`; then it is delivered like any other (a frame and an ack).
 *
 * @example
 * ```ts
 * import { BanList } from "./moderation.ts";
 * import { Moderator } from "./moderator.ts";
 * import { Registry } from "./registry.ts";
 * import { User } from "./user.ts";
 * import { MemoryHistory } from "../store/memory/history.ts";
 * const store = new MemoryHistory();
 * const registry = new Registry(store);
 * const host = { now: Date.now, users: [] as User[], flush() {}, logout() {} };
 * const moderation = new Moderator(host, {
 *   bans: new BanList(store.moderation),
 *   operSecret: null,
 *   audit: () => {},
 * });
 * const relay = { unstoredId: () => 1 };
 * const alice = new User("alice", { deliver() {}, close() {} });
 * direct({ registry, moderation, relay, now: Date.now }, alice, "bob", "hi");
 * // bob is not here: alice gets a no_such_user error
 * ```
 */
export function direct(
  options: DirectOptions,
  user: User,
  toNick: string,
  text: string,
  ref?: string,
  how: DirectHow = {},
): void {
  const target = options.registry.user(toNick);
  if (target === undefined) {
    reply(user, "no_such_user", `Nobody called ${shown(toNick)} is here.`, ref);
    return;
  }
  // Refused rather than delivered: a message to oneself is a slip (a mistyped or completed
  // nick), and delivering it would show the same line twice, as received and as sent.
  if (target === user && how.toSelf !== true) {
    reply(user, "bad_command", "That is you: /msg sends to someone else.", ref);
    return;
  }
  const clean = spokenText(options.moderation, user, text, ref);
  if (clean === null) return;
  const id = options.relay.unstoredId();
  const ts = options.now();
  const kind = how.kind ?? "text";
  // A query or a notice is for the target's client, or must draw no answer: it neither starts
  // a conversation /reply continues nor draws the away notice.
  const talk = kind !== "notice" && how.ctcp !== true;
  const frame = (): DirectFrame => {
    const dm: DirectFrame = { type: "dm", id, from: user.nick, to: target.nick, text: clean, ts };
    if (kind !== "text") dm[kind] = true;
    if (how.ctcp === true) dm.ctcp = true;
    const joins = how.breaks === undefined ? [] : keptBreaks(text, clean, how.breaks);
    if (joins.length > 0) dm.breaks = joins;
    return dm;
  };
  if (target.node !== undefined) {
    routed(options.cluster, user, target, target.node, frame(), ref);
    return;
  }
  if (!target.ignores.has(user)) {
    send(target, frame());
    if (talk) target.lastDirectFrom = { nick: user.nick, user: new WeakRef(user) };
  }
  send(user, { type: "ack", id, room: "", ts, to: target.nick, ref });
  if (talk) awayNotice(user, target);
}

/**
 * Hands `frame` to `node`, which holds `target`, and acknowledges it to `user` once that node
 * took it; tells them it was not delivered when the node cannot be reached, and that it could
 * not be confirmed when the hand-over's outcome is unknown (a timeout: `outcomeUnknown`). The
 * hub's queue is not held meanwhile: other events go on while the message is on its way.
 */
function routed(
  cluster: ClusterBus | null | undefined,
  user: User,
  target: User,
  node: string,
  frame: DirectFrame,
  ref: string | undefined,
): void {
  let took: Awaitable<boolean>;
  try {
    took = cluster?.direct(node, target.key, frame) ?? false;
  } catch (error) {
    took = outcomeUnknown(error) ? Promise.reject(error) : false;
  }
  const answered = (delivered: boolean) => {
    if (!user.online) return;
    if (!delivered) {
      const why = `${target.nick} is on another server of this chat (node ${shown(node)}), ` +
        "which cannot be reached just now, so your message was not delivered. Try again soon.";
      reply(user, "no_such_user", why, ref);
      return;
    }
    send(user, { type: "ack", id: frame.id, room: "", ts: frame.ts, to: frame.to, ref });
    if (frame.notice !== true && frame.ctcp !== true) awayNotice(user, target);
  };
  // A hand-over that timed out may have reached the other node: "not delivered" could be false,
  // and the sender would send it twice.
  const failed = (error: unknown) => {
    if (!outcomeUnknown(error)) return answered(false);
    if (!user.online) return;
    const why = `Your message to ${target.nick} (on node ${shown(node)}) could not be ` +
      `confirmed (${(error as Error).message}): it may have been delivered. Ask before ` +
      "sending it again.";
    reply(user, "store_failed", why, ref);
  };
  const done = then(took, answered);
  if (done instanceof Promise) done.catch(failed);
}

/**
 * Delivers a direct message another node routed here to the local user whose folded nick is
 * `key`, with the checks only this node can make: the recipient is still here (false if not),
 * and does not ignore the sender (then it is dropped, the sender having been acknowledged as
 * for any ignored message). The sender is found by nick among this node's mirrors, for the
 * ignore list and /reply.
 */
export function received(registry: Registry, key: string, frame: ServerFrame): boolean {
  const target = registry.user(key);
  if (target === undefined || target.node !== undefined || !target.online) return false;
  if (frame.type !== "dm") {
    send(target, frame);
    return true;
  }
  const sender = registry.user(frame.from);
  if (!target.ignores.isEmpty) {
    const ignored = sender === undefined
      ? target.ignores.historyFilter()?.(frame.from) ?? false
      : target.ignores.has(sender);
    if (ignored) return true;
  }
  send(target, frame);
  if (sender !== undefined && frame.notice !== true && frame.ctcp !== true) {
    target.lastDirectFrom = { nick: sender.nick, user: new WeakRef(sender) };
  }
  return true;
}

/**
 * Tells `sender` that `target` is away, once per sender per away spell: a conversation of ten
 * messages to someone at lunch needs the notice once, not ten times. Told whether or not the
 * target ignores the sender, like the ack, so an ignored sender learns nothing from it. It
 * carries no `ref`: the ack is the one answer to the command, as for every command.
 */
function awayNotice(sender: User, target: User): void {
  if (target.away === null) return;
  const told = target.awayNotified ??= new WeakSet();
  if (told.has(sender)) return;
  told.add(sender);
  send(sender, { type: "info", text: awayText(target), awayOf: target.nick });
}

/**
 * How an away user reads to others: "bob is away: at lunch", or "bob is away" with no message.
 *
 * @example
 * ```ts
 * import { User } from "./user.ts";
 * const bob = new User("bob", { deliver() {}, close() {} });
 * bob.away = "at lunch";
 * awayText(bob); // "* bob is away: at lunch"
 * ```
 */
export function awayText(user: User): string {
  return user.away ? `* ${user.nick} is away: ${user.away}` : `* ${user.nick} is away.`;
}
