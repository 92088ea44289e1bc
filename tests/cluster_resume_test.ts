/**
 * Resuming on another node of a cluster whose log reader is behind the client (review finding
 * 3): a client that saw a room up to id X on node A comes back on node B while B's reader has
 * not yet brought it that far. B's replay stops at what it has delivered, and the log then
 * brings the rest live: what the client already saw must not come again.
 */

import assert from "node:assert/strict";
import { assertRising, collect, joinsOf, loginAt, withCluster } from "./helpers/cluster.ts";
import { JsonClient } from "./helpers/wire.ts";

/** The pid of the process listening on TCP `port` (the node), from `ss`. */
async function listenerPid(port: number): Promise<number> {
  const out = await new Deno.Command("ss", { args: ["-ltnpH", `sport = :${port}`] }).output();
  const found = /pid=(\d+)/.exec(new TextDecoder().decode(out.stdout));
  if (found === null) throw new Error(`no process listens on ${port}`);
  return Number(found[1]);
}

/**
 * Messages said (one log entry each) while node B is stopped: its reader has that many entries
 * to catch up, several reads' worth.
 */
const SAID = 3000;

Deno.test("cluster resume: a client resuming on a node whose log reader lags behind its last id gets nothing it saw again; what follows, once", async () => {
  await withCluster({ nodes: 2, node: { extra: ["--rate", "0"] } }, async (cluster) => {
    const [a, b] = cluster.nodes;
    const alice = await loginAt(a.port, "alice");
    const sam = await loginAt(a.port, "sam");
    await joinsOf(alice, ["sam"]);
    const pid = await listenerPid(b.port);
    Deno.kill(pid, "SIGSTOP");
    let resumer: JsonClient | null = null;
    try {
      // One at a time, each after its ack: one log entry each (not a few big batches).
      for (let i = 0; i < SAID; i++) {
        await sam.send({ type: "msg", room: "#lobby", text: `m${i}` });
        await sam.expect("ack", 10_000);
      }
      const seen = await collect(alice, "#lobby", (s) => s.length >= SAID, 30_000);
      const last = seen[seen.length - 1].id;
      // Alice's client comes back on B while B is still stopped: its hello waits in the socket,
      // and B takes it while its reader catches up on the log.
      resumer = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port: b.port }));
      await resumer.send({ type: "hello", v: 1, nick: "alice2", resume: { "#lobby": last } });
      Deno.kill(pid, "SIGCONT");
      assert.equal((await resumer.next("welcome", 30_000))?.type, "welcome");
      await sam.send({ type: "msg", room: "#lobby", text: "after" });
      const got = await collect(resumer, "#lobby", (s) => s.at(-1)?.text === "after", 30_000);
      const again = got.filter((m) => m.id <= last);
      assert.equal(again.length, 0, `${again.length} messages up to ${last} came again`);
      assert.deepEqual(got.map((m) => m.text), ["after"]);
      assertRising(got, "alice2");
    } finally {
      Deno.kill(pid, "SIGCONT");
      resumer?.close();
      alice.close();
      sam.close();
    }
  });
});
