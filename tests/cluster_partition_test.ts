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

/** Node A, and node B behind `link` (a cut the test makes), with bob on B and alice on A. */
interface Partition {
  link: TcpCut;
  alice: JsonClient;
  bob: JsonClient;
}

/** Runs `body` on a {@linkcode Partition}, bob having heard alice join; closes it all after. */
async function withPartition(body: (partition: Partition) => Promise<void>): Promise<void> {
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
      await body({ link, alice, bob });
    } finally {
      for (const client of clients) client.close();
      await link.close();
    }
  });
}

/** Sends `text` from `from` until acked, and checks `to` sees it last in #lobby, with its id. */
async function relayed(
  from: JsonClient,
  to: JsonClient,
  text: string,
  other?: (frame: ServerFrame) => void,
): Promise<AckFrame> {
  const ack = await sendUntilAcked(from, text, other);
  const heard = await collect(to, "#lobby", (s) => s.at(-1)?.text === text);
  assert.equal(heard.at(-1)?.id, ack.id);
  return ack;
}

Deno.test("cluster partition: a node cut off from Redis for a moment refuses messages, keeps its users, and then delivers what it missed once, in order", async () => {
  await withPartition(async ({ link, alice, bob }) => {
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

    const back = await relayed(bob, alice, "B is back");
    assert.ok(back.id > missed[missed.length - 1].id);
  });
});

Deno.test("cluster partition: a node cut off for longer than its lease is declared lost; back, it announces its users again, who never reconnected", async () => {
  await withPartition(async ({ link, alice, bob }) => {
    link.cut();
    let lost: LeaveFrame | undefined;
    await collect(alice, "#lobby", () => lost !== undefined, LOST_MS, (frame) => {
      if (frame.type === "leave" && frame.nick === "bob") lost = frame;
    });
    assert.equal(lost?.reason, "node_lost");
    link.mend();

    // Back: A hears bob again (his connection never closed), and his messages go through.
    await joinsOf(alice, ["bob"], "#lobby", RECOVER_MS);
    await relayed(bob, alice, "still here");
    await relayed(alice, bob, "welcome back");
  });
});

Deno.test("cluster partition: a node whose link to Redis goes silent (no reset: a partition) answers its users' messages with store_failed within REDIS_COMMAND_TIMEOUT_MS, and recovers once the link is back", async () => {
  await withPartition(async ({ link, alice, bob }) => {
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
    await relayed(bob, alice, "through again", (frame) => {
      if ("ref" in frame && frame.ref === "void") late.push(frame);
    });
    assert.deepEqual(late, [], "a second answer to the refused message");
  });
});
