/**
 * What the IRC command handlers need of their session: a narrow port, so that they do not call
 * back into it (see STYLE.md).
 *
 * @module
 */

import { type Awaitable, then } from "../../../core/awaitable.ts";
import type { Room } from "../../../core/room.ts";
import type { SessionPort } from "../../session.ts";
import type { IrcLine } from "../line.ts";
import type { EchoExtras } from "../multiline_out.ts";

/** The session, as a command handler uses it. */
export interface CommandHost {
  /** The peer. */
  readonly port: SessionPort;
  /** The client's nick in numerics (`*` before it has one). */
  readonly client: string;
  /** Sends one line from the server. */
  reply(line: IrcLine): void;
  /** Sends lines from the server. */
  replies(lines: readonly IrcLine[]): void;
  /**
   * A ref for a core call for IRC `command` on `target` (a message's text, kind and line joins
   * kept for its echo).
   */
  remember(
    command: string,
    target: string,
    text?: string,
    action?: boolean,
    extras?: EchoExtras,
  ): string;
  /** Runs a core slash command, its answers tied to `ref`. */
  command(line: string, room: string, ref: string): Awaitable<void>;
  /** The 353/366 lines for `room`, as this reader sees them. */
  names(room: Room): IrcLine[];
}

/** Runs `step` for each item, one after another (a step may wait for the store). */
export function eachInOrder(
  items: readonly string[],
  step: (item: string, index: number) => Awaitable<void>,
): Awaitable<void> {
  const from = (i: number): Awaitable<void> => {
    if (i >= items.length) return;
    return then(step(items[i], i), () => from(i + 1));
  };
  return from(0);
}

/**
 * {@linkcode eachInOrder} for a comma list of a client's line (`JOIN #a,#b,...`): every item
 * after the first is charged to flood control as a line of its own, so a list costs what the
 * same items sent one per line would, and a long list is slowed (or closed as a flood) instead
 * of running hundreds of core calls for the price of one line.
 */
export function eachCharged(
  host: CommandHost,
  items: readonly string[],
  step: (item: string, index: number) => Awaitable<void>,
): Awaitable<void> {
  return eachInOrder(items, (item, i) => {
    if (i === 0) return step(item, i);
    return then(host.port.hold(item.length + 2), (ok) => ok ? step(item, i) : undefined);
  });
}
