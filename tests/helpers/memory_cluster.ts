/**
 * Test helpers for hubs linked in one process by the in-memory cluster
 * (store/memory/cluster.ts): one hub per node, built as `serve --redis` builds it, and a login
 * that keeps the user's sink. Shared by the tests/cluster_*_test.ts files that need no Redis.
 *
 * @module
 */

import { Hub, type User } from "../../core/hub.ts";
import { BanList } from "../../core/moderation.ts";
import {
  publishingAccounts,
  publishingClaims,
  publishingModeration,
} from "../../core/cluster_moderation.ts";
import { PROTOCOL_VERSION } from "../../protocol/frames.ts";
import type { MemoryNode } from "../../store/memory/cluster.ts";
import { OPER_SECRET, RecordingSink, secret } from "./core.ts";

/** How {@linkcode memoryHub} builds a node's hub. */
export interface MemoryHubOptions {
  /** The hub's `--max-users` (default 100). */
  maxUsers?: number;
  /** The hub's clock (default the real one). */
  now?: () => number;
  /**
   * Which record tables publish their changes to the other nodes: none (the default), the
   * accounts only, or bans, mutes, accounts and claims (with {@linkcode OPER_SECRET} for /oper).
   */
  publish?: "accounts" | "all";
}

/** A hub for `node`, attached to it (it reads the log from now on, as a node started then does). */
export function memoryHub(node: MemoryNode, id: string, options: MemoryHubOptions = {}): Hub {
  const all = options.publish === "all";
  const moderation = all
    ? publishingModeration(node.bus, node.store.moderation)
    : node.store.moderation;
  const hub = new Hub({
    maxUsers: options.maxUsers ?? 100,
    maxFrame: 65536,
    serverName: `sockchat-${id}`,
    store: node.store,
    replayBudgetBytes: 1 << 18,
    now: options.now,
    bans: new BanList(moderation, { mutes: moderation }),
    ...(options.publish === undefined
      ? {}
      : { accounts: publishingAccounts(node.bus, node.store.accounts) }),
    ...(all
      ? {
        claims: publishingClaims(node.bus, node.store.claims),
        operSecret: secret(OPER_SECRET),
      }
      : {}),
    cluster: node.bus,
  });
  node.attach(hub);
  return hub;
}

/** Logs `nick` in on `hub` from 192.0.2.`host` (throws if refused); its sink records its frames. */
export async function memoryLogin(
  hub: Hub,
  nick: string,
  host: number,
): Promise<{ user: User; sink: RecordingSink }> {
  const sink = new RecordingSink();
  const result = await hub.login(sink, {
    version: PROTOCOL_VERSION,
    nick,
    address: `192.0.2.${host}`,
  });
  if (!result.ok) throw new Error(`login of ${nick} refused: ${result.error.message}`);
  return { user: result.user, sink };
}
