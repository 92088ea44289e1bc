/**
 * A cluster node that fell behind the log past its cap (or found Redis restarted without the
 * entries it had not read) lost its rooms' live messages in the hole: the engine calls
 * `Hub.logGap` (server.ts, from `ClusterHubLink.logGap`), and every local member of every room
 * is told by a live `gap` frame that messages may be missing, so they can fetch them with
 * /history. Each front end says so, not that a replay was cut. Hubs are linked by the in-memory
 * cluster (store/memory/cluster.ts), which cannot lose log entries unread: the hub is called as
 * the engine would.
 */

import assert from "node:assert/strict";
import { Hub } from "../core/hub.ts";
import { type GapFrame, type ServerFrame } from "../protocol/frames.ts";
import { renderPlain } from "../protocol/plain/render.ts";
import { ReplayMarks } from "../protocol/irc/replay_marks.ts";
import { IrcRenderer } from "../protocol/irc/render.ts";
import { parseServerFrame } from "../client/server_frame.ts";
import { MemoryCluster } from "../store/memory/cluster.ts";
import { memoryHub, memoryLogin } from "./helpers/memory_cluster.ts";

/** Node `id` of `cluster` with its hub. */
function hubOf(cluster: MemoryCluster, id: string): Hub {
  return memoryHub(cluster.node(id), id, { maxUsers: 10 });
}

/** `frames` as short strings: "gap #room live", "msg #room text". */
function shown(frames: readonly ServerFrame[]): string[] {
  return frames.flatMap((f) => {
    if (f.type === "gap") return [`gap ${f.room}${f.live === true ? " live" : ""}`];
    if (f.type === "msg") return [`msg ${f.room} ${f.text}`];
    return [];
  });
}

Deno.test("cluster gap: a node that lost log entries tells each local member of each room that messages may be missing (a live gap), in order with the messages around the hole; other nodes' users are not told by it", async () => {
  const cluster = new MemoryCluster();
  const a = hubOf(cluster, "a");
  const b = hubOf(cluster, "b");
  const alice = await memoryLogin(a, "alice", 1);
  const amy = await memoryLogin(a, "amy", 2);
  const bob = await memoryLogin(b, "bob", 3);
  await a.join(alice.user, "#dev");
  await b.join(bob.user, "#dev");
  await cluster.settle();
  for (const peer of [alice, amy, bob]) peer.sink.take();

  b.say(bob.user, "#dev", "before");
  await cluster.settle();
  await a.logGap();
  b.say(bob.user, "#dev", "after");
  await cluster.settle();

  assert.deepEqual(shown(alice.sink.take()).sort(), [
    "gap #dev live",
    "gap #lobby live",
    "msg #dev after",
    "msg #dev before",
  ]);
  assert.deepEqual(shown(amy.sink.take()), ["gap #lobby live"], "once, for her one room");
  assert.deepEqual(shown(bob.sink.take()), [], "b lost nothing: its users are not told");
  // In order: the gap sits between what came before the hole and what came after it.
  const dev = alice.sink.frames().filter((f) => f.type === "msg" || f.type === "gap");
  assert.deepEqual(
    shown(dev).filter((s) => s.includes("#dev")),
    ["msg #dev before", "gap #dev live", "msg #dev after"],
  );
  const gap = alice.sink.frames().find((f) => f.type === "gap") as GapFrame;
  assert.equal(gap.missed, 0, "how many is not known");
  a.shutdown();
  b.shutdown();
  await cluster.settle();
});

Deno.test("cluster gap: every front end says a live gap as messages that may be missing (with /history), not as a cut replay", () => {
  const live: GapFrame = { type: "gap", room: "#dev", missed: 0, live: true };
  const plain = renderPlain(live) ?? "";
  assert.match(plain, /may be missing/);
  assert.match(plain, /\/history/);
  assert.doesNotMatch(plain, /earlier message/);
  // The native client keeps the flag when it checks the frame.
  const checked = parseServerFrame(JSON.parse(JSON.stringify(live)));
  assert.ok(checked.ok);
  assert.deepEqual(checked.frame, live);
  // IRC: a notice in the room, and no "Replaying recent messages" marker left open.
  assert.deepEqual(new ReplayMarks("irc.test").before(live), []);
  const renderer = new IrcRenderer({
    info: { serverName: "irc.test", version: "t", startedAt: 0, motd: "", isupport: [] },
    chat: hubOf(new MemoryCluster(), "x"),
    client: "alice",
    asked: "alice",
    sasl: false,
    caps: new Set(),
    cloak: "x.sc",
    pending: () => null,
  });
  const text = renderer.render(live);
  assert.match(text, /^:irc\.test NOTICE #dev :\* Messages said in #dev lately may be missing/);
  assert.match(text, /CHATHISTORY or \/history/);
  assert.doesNotMatch(text, /too many to replay/);
});
