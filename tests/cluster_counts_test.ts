/**
 * User counts in a cluster (`serve --redis`): each node's registry holds its own users and
 * mirrors of the other nodes' (`User.node` set). IRC LUSERS must say which is which, as an IRC
 * network does: 251 (users on M servers) and 266 (global users) count the whole chat, 255 (I
 * have X clients) and 265 (local users) this node's own, with their own peaks. Hubs are linked
 * by the in-memory cluster (store/memory/cluster.ts); a server on its own answers as before.
 */

import assert from "node:assert/strict";
import { Hub } from "../core/hub.ts";
import { BanList } from "../core/moderation.ts";
import { lusersLines } from "../protocol/irc/commands/query.ts";
import type { IrcLine } from "../protocol/irc/line.ts";
import { MemoryCluster } from "../store/memory/cluster.ts";
import { MemoryHistory } from "../store/memory/history.ts";
import { memoryHub, memoryLogin } from "./helpers/memory_cluster.ts";

/** One hub per id, linked by one in-memory cluster. */
function clusterOf(ids: string[]): { cluster: MemoryCluster; hubs: Map<string, Hub> } {
  const cluster = new MemoryCluster();
  const hubs = new Map<string, Hub>();
  for (const id of ids) hubs.set(id, memoryHub(cluster.node(id), id));
  return { cluster, hubs };
}

/** Logs `nick` in on `hub` (its frames are dropped). */
async function login(hub: Hub, nick: string, n: number) {
  return (await memoryLogin(hub, nick, n)).user;
}

/** LUSERS as `hub` answers it, one "numeric params... :text" string per line. */
function lusers(hub: Hub): string[] {
  return lusersLines({ chat: hub, client: "me", serverName: hub.serverName }).map(shownLine);
}

function shownLine(line: IrcLine): string {
  const params = line.params ?? [];
  const last = params.length - 1;
  return [line.command, ...params.map((p, i) => i === last && line.trailing ? `:${p}` : p)]
    .join(" ");
}

Deno.test("cluster counts: LUSERS on a node says the whole chat in 251/266 (users of every node, one server per node) and its own users in 255/265; a server on its own answers as before", async () => {
  const { cluster, hubs } = clusterOf(["a", "b", "c"]);
  const a = hubs.get("a")!;
  await login(a, "alice", 1);
  await login(a, "amy", 2);
  await login(hubs.get("b")!, "bob", 3);
  await login(hubs.get("c")!, "cat", 4);
  await cluster.settle();
  assert.equal(a.userCount, 4, "the mirrors are here");
  assert.deepEqual(lusers(a), [
    "251 me :There are 4 users and 0 invisible on 3 servers",
    "252 me 0 :operator(s) online",
    "254 me 1 :channels formed",
    "255 me :I have 2 clients and 2 servers",
    "265 me 2 2 :Current local users 2, max 2",
    "266 me 4 4 :Current global users 4, max 4",
  ]);
  assert.match(lusers(hubs.get("b")!)[3], /I have 1 clients and 2 servers/);
  for (const hub of hubs.values()) hub.shutdown();
  await cluster.settle();
  await assertSoloUnchanged();
});

Deno.test("cluster counts: 265 and 266 keep their own peaks: users leaving another node lower the global count, not the local peak", async () => {
  const { cluster, hubs } = clusterOf(["a", "b"]);
  const a = hubs.get("a")!;
  const b = hubs.get("b")!;
  await login(a, "alice", 1);
  const bob = await login(b, "bob", 2);
  const ben = await login(b, "ben", 3);
  await cluster.settle();
  assert.deepEqual(lusers(a).slice(3), [
    "255 me :I have 1 clients and 1 servers",
    "265 me 1 1 :Current local users 1, max 1",
    "266 me 3 3 :Current global users 3, max 3",
  ]);
  b.logout(bob, "quit");
  b.logout(ben, "quit");
  await cluster.settle();
  // b has nobody left: from a it is not seen (a node is known by its users).
  assert.deepEqual(lusers(a), [
    "251 me :There are 1 users and 0 invisible on 1 servers",
    "252 me 0 :operator(s) online",
    "254 me 1 :channels formed",
    "255 me :I have 1 clients and 0 servers",
    "265 me 1 1 :Current local users 1, max 1",
    "266 me 1 3 :Current global users 1, max 3",
  ]);
  for (const hub of hubs.values()) hub.shutdown();
  await cluster.settle();
});

/** A server on its own: 1 server, 0 others, local = global (what LUSERS always said). */
async function assertSoloUnchanged(): Promise<void> {
  const store = new MemoryHistory();
  const hub = new Hub({
    maxUsers: 10,
    maxFrame: 65536,
    serverName: "solo",
    store,
    replayBudgetBytes: 1 << 18,
    bans: new BanList(store.moderation),
  });
  await login(hub, "alice", 1);
  await login(hub, "bob", 2);
  assert.deepEqual(lusers(hub), [
    "251 me :There are 2 users and 0 invisible on 1 servers",
    "252 me 0 :operator(s) online",
    "254 me 1 :channels formed",
    "255 me :I have 2 clients and 0 servers",
    "265 me 2 2 :Current local users 2, max 2",
    "266 me 2 2 :Current global users 2, max 2",
  ]);
  hub.shutdown();
}
