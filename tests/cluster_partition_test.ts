/**
 * Cluster mode end to end (issue 16): one node loses Redis while the others keep it (its link
 * cut by a forwarder). Briefly: its members get what was said meanwhile once it is back, once
 * each and in order, and it refuses messages meanwhile without dropping anyone. For longer
 * than its lease: the others declare it lost, and when it is back it announces its users again,
 * who never had to reconnect.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AckFrame, LeaveFrame, ServerFrame } from "../protocol/frames.ts";
import { REDIS_COMMAND_TIMEOUT_MS } from "../config/cluster_limits.ts";
import { type JsonClient, within } from "./helpers/wire.ts";
import {
  assertRising,
  collect,
  joinsOf,
  LEASE_FLAGS,
  loginAt,
  LOST_MS,
  type Seen,
  TcpCut,
  withCluster,
} from "./helpers/cluster.ts";

/** No flood control: bursts on purpose. */
const NODE = { extra: [...LEASE_FLAGS, "--rate", "0"] };

/** How long a node may take to find Redis back (its reconnect backs off to about 1 s). */
const RECOVER_MS = 15_000;

/** Sends one message to #lobby; resolves with its ack or the refusal's code. */
async function attempt(
  client: JsonClient,
  text: string,
  ref: string,
  other: (frame: ServerFrame) => void = () => {},
): Promise<AckFrame | string> {
  await client.send({ type: "msg", room: "#lobby", text, ref });
  while (true) {
    const frame = await client.next(`the answer to ${text}`, RECOVER_MS);
    if (frame === null) throw new Error(`EOF before the answer to ${text}`);
    if ("ref" in frame && frame.ref === ref) {
      if (frame.type === "ack") return frame;
      if (frame.type === "error") return frame.code;
    }
    other(frame);
  }
}

/** Sends `text` until acked (refusals retried 100 ms apart); frames read go to `other`. */
async function sendUntilAcked(
  client: JsonClient,
  text: string,
  other: (frame: ServerFrame) => void = () => {},
): Promise<AckFrame> {
  for (let i = 0; i < RECOVER_MS / 100; i++) {
    const answer = await attempt(client, text, `try${i}`, other);
    if (typeof answer !== "string") return answer;
    assert.equal(answer, "store_failed");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${text} was never acked`);
}

Deno.test("cluster partition: a node cut off from Redis for a moment refuses messages, keeps its users, and then delivers what it missed once, in order", async () => {
  await withCluster({ nodes: 1, node: NODE }, async (cluster) => {
    const link = new TcpCut(cluster.redis.port);
    const clients: JsonClient[] = [];
    try {
      const [a] = cluster.nodes;
      const b = await cluster.addNode({ ...NODE, redisUrl: link.url });
      const bob = await loginAt(b.port, "bob");
      const alice = await loginAt(a.port, "alice");
      clients.push(bob, alice);
      await joinsOf(bob, ["alice"]);

      link.cut();
      const missed: AckFrame[] = [];
      for (let i = 0; i < 20; i++) {
        const answer = await attempt(alice, `while B is away ${i}`, `w${i}`);
        assert.ok(typeof answer !== "string", `A is not cut off: ${answer}`);
        missed.push(answer);
      }
      // B cannot store: its user is told so, and stays connected.
      const early: Seen[] = [];
      const refused = await attempt(bob, "from the cut-off node", "cut", (frame) => {
        if (frame.type === "msg") early.push({ ...frame, history: frame.history === true });
      });
      assert.equal(refused, "store_failed");

      link.mend();
      const seen = await collect(
        bob,
        "#lobby",
        (s) => s.filter((m) => m.text.startsWith("while B")).length + early.length >= 20,
        RECOVER_MS,
      );
      const got = [...early, ...seen].filter((m) => m.text.startsWith("while B"));
      assert.deepEqual(got.map((m) => m.id), missed.map((ack) => ack.id), "each once, in order");
      assertRising(got, "bob");

      const back = await sendUntilAcked(bob, "B is back");
      const heard = await collect(alice, "#lobby", (s) => s.at(-1)?.text === "B is back");
      assert.equal(heard.at(-1)?.id, back.id);
      assert.ok(back.id > missed[missed.length - 1].id);
    } finally {
      for (const client of clients) client.close();
      await link.close();
    }
  });
});

Deno.test("cluster partition: a node cut off for longer than its lease is declared lost; back, it announces its users again, who never reconnected", async () => {
  await withCluster({ nodes: 1, node: NODE }, async (cluster) => {
    const link = new TcpCut(cluster.redis.port);
    const clients: JsonClient[] = [];
    try {
      const [a] = cluster.nodes;
      const b = await cluster.addNode({ ...NODE, redisUrl: link.url });
      const bob = await loginAt(b.port, "bob");
      const alice = await loginAt(a.port, "alice");
      clients.push(bob, alice);
      await joinsOf(bob, ["alice"]);

      link.cut();
      let lost: LeaveFrame | undefined;
      await collect(alice, "#lobby", () => lost !== undefined, LOST_MS, (frame) => {
        if (frame.type === "leave" && frame.nick === "bob") lost = frame;
      });
      assert.equal(lost?.reason, "node_lost");
      link.mend();

      // Back: A hears bob again (his connection never closed), and his messages go through.
      await joinsOf(alice, ["bob"], "#lobby", RECOVER_MS);
      const back = await sendUntilAcked(bob, "still here");
      const heard = await collect(alice, "#lobby", (s) => s.at(-1)?.text === "still here");
      assert.equal(heard.at(-1)?.id, back.id);
      const ack = await sendUntilAcked(alice, "welcome back");
      const seen = await collect(bob, "#lobby", (s) => s.at(-1)?.text === "welcome back");
      assert.equal(seen.at(-1)?.id, ack.id);
    } finally {
      for (const client of clients) client.close();
      await link.close();
    }
  });
});

Deno.test("cluster partition: a node whose link to Redis goes silent (no reset: a partition) answers its users' messages with store_failed within REDIS_COMMAND_TIMEOUT_MS, and recovers once the link is back", async () => {
  await withCluster({ nodes: 1, node: NODE }, async (cluster) => {
    const link = new TcpCut(cluster.redis.port);
    const clients: JsonClient[] = [];
    try {
      const [a] = cluster.nodes;
      const b = await cluster.addNode({ ...NODE, redisUrl: link.url });
      const bob = await loginAt(b.port, "bob");
      const alice = await loginAt(a.port, "alice");
      clients.push(bob, alice);
      await joinsOf(bob, ["alice"]);

      link.freeze();
      const sent = Date.now();
      const answer = await within(
        attempt(bob, "into the void", "void"),
        "an answer with Redis unreachable (never one, if the node waits on the silent link)",
        REDIS_COMMAND_TIMEOUT_MS + 5_000,
      );
      assert.equal(answer, "store_failed", "no ack without Redis");
      assert.ok(Date.now() - sent <= REDIS_COMMAND_TIMEOUT_MS + 5_000);

      link.mend();
      // One answer per message: none comes later for the one refused.
      const late: ServerFrame[] = [];
      const back = await sendUntilAcked(bob, "through again", (frame) => {
        if ("ref" in frame && frame.ref === "void") late.push(frame);
      });
      const heard = await collect(alice, "#lobby", (s) => s.at(-1)?.text === "through again");
      assert.equal(heard.at(-1)?.id, back.id);
      assert.deepEqual(late, [], "a second answer to the refused message");
    } finally {
      for (const client of clients) client.close();
      await link.close();
    }
  });
});
