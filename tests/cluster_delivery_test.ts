/**
 * Cluster mode end to end (issue 16): room messages cross nodes through a real Redis, each once
 * and in id order, and ids rise across nodes. Two `sockchat serve --redis` subprocesses.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AckFrame } from "../protocol/frames.ts";
import { command, type JsonClient } from "./helpers/wire.ts";
import { assertRising, collect, loginAt, type Seen, withCluster } from "./helpers/cluster.ts";

/** Flood control off: these tests send bursts on purpose. */
const NODE = { extra: ["--rate", "0"] };

/** Longest wait for a whole burst to cross. */
const BURST_MS = 20_000;

/** What one client did and saw: the acks of what it sent, and others' messages. */
interface Traffic {
  /** Acks in the order the texts were sent. */
  acks: AckFrame[];
  /** Room messages of #lobby as they came. */
  seen: Seen[];
}

/**
 * Sends `texts` to `room` at once (refs `${tag}N`), then reads one stream of frames until every
 * one is acked and every text of `want` was seen there from someone else. An error frame fails.
 */
async function traffic(
  client: JsonClient,
  texts: string[],
  tag: string,
  want: ReadonlySet<string>,
  room = "#lobby",
): Promise<Traffic> {
  if (texts.length > 0) {
    await client.write(
      texts.map((text, i) => JSON.stringify({ type: "msg", room, text, ref: `${tag}${i}` })).join(
        "\n",
      ) + "\n",
    );
  }
  const acks: AckFrame[] = new Array(texts.length);
  let acked = 0;
  const missing = new Set(want);
  const seen = await collect(
    client,
    room,
    (seen) => {
      const last = seen.at(-1);
      if (last !== undefined) missing.delete(last.text);
      return acked === texts.length && missing.size === 0;
    },
    BURST_MS,
    (frame) => {
      if (frame.type === "error") throw new Error(`refused: ${JSON.stringify(frame)}`);
      if (frame.type !== "ack" || frame.ref?.startsWith(tag) !== true) return;
      acks[Number(frame.ref.slice(tag.length))] = frame;
      acked++;
    },
  );
  return { acks, seen };
}

/** Sends `texts` and waits for their acks only. */
async function sendAll(client: JsonClient, texts: string[], tag: string): Promise<AckFrame[]> {
  return (await traffic(client, texts, tag, new Set())).acks;
}

/** Reads until every text of `want` was seen. */
async function seeAll(client: JsonClient, want: ReadonlySet<string>): Promise<Seen[]> {
  return (await traffic(client, [], "-", want)).seen;
}

Deno.test("cluster delivery: a burst of 200 from node A reaches B's members once, in order, with the acked ids", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    const carol = await loginAt(a.port, "carol");
    try {
      const texts = Array.from({ length: 200 }, (_, i) => `burst ${i}`);
      const [acks, onB, onA] = await Promise.all([
        sendAll(alice, texts, "r"),
        seeAll(bob, new Set(texts)),
        seeAll(carol, new Set(texts)),
      ]);
      assertRising(acks, "alice's acks");
      for (const [who, seen] of [["bob on B", onB], ["carol on A", onA]] as const) {
        const mine = seen.filter((m) => m.from === "alice" && !m.history);
        assert.deepEqual(mine.map((m) => m.text), texts, `${who}: every text once, in order`);
        assert.deepEqual(mine.map((m) => m.id), acks.map((ack) => ack.id), `${who}: acked ids`);
        assertRising(seen, who);
      }
    } finally {
      for (const client of [alice, bob, carol]) client.close();
    }
  });
});

Deno.test("cluster delivery: senders on A and B at once: every observer sees every message once, ids strictly rising", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    const carol = await loginAt(a.port, "carol");
    const dave = await loginAt(b.port, "dave");
    try {
      const fromA = Array.from({ length: 100 }, (_, i) => `a ${i}`);
      const fromB = Array.from({ length: 100 }, (_, i) => `b ${i}`);
      const all = new Set([...fromA, ...fromB]);
      // The authors also read the other's messages (their own come back as acks only).
      const [{ acks: acksA, seen: seenA }, { acks: acksB, seen: seenB }, seenC, seenD] =
        await Promise.all([
          traffic(alice, fromA, "a", new Set(fromB)),
          traffic(bob, fromB, "b", new Set(fromA)),
          seeAll(carol, all),
          seeAll(dave, all),
        ]);
      assertRising(acksA, "alice's acks");
      assertRising(acksB, "bob's acks");
      const acked = new Map<number, string>();
      for (const [i, ack] of acksA.entries()) acked.set(ack.id, fromA[i]);
      for (const [i, ack] of acksB.entries()) acked.set(ack.id, fromB[i]);
      assert.equal(acked.size, 200, "no id handed out twice across the nodes");
      for (
        const [who, seen, expected] of [
          ["carol on A", seenC, 200],
          ["dave on B", seenD, 200],
          ["alice on A", seenA, 100],
          ["bob on B", seenB, 100],
        ] as const
      ) {
        const live = seen.filter((m) => !m.history && acked.has(m.id));
        assertRising(live, who);
        assert.equal(live.length, expected, `${who}: each message once`);
        for (const m of live) assert.equal(m.text, acked.get(m.id), `${who}: id ${m.id}'s text`);
      }
      // Both observers saw the one order the log fixed.
      assert.deepEqual(seenC.map((m) => m.id), seenD.map((m) => m.id), "one order on A and B");
    } finally {
      for (const client of [alice, bob, carol, dave]) client.close();
    }
  });
});

Deno.test("cluster delivery: ids rise across nodes: each ack above the one the other node gave before", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    try {
      let last = 0;
      for (let i = 0; i < 10; i++) {
        const [author, tag] = i % 2 === 0 ? [alice, "a"] : [bob, "b"];
        const [ack] = await sendAll(author, [`turn ${i}`], `${tag}${i}-`);
        assert.ok(ack.id > last, `turn ${i} (${tag}) got id ${ack.id} after ${last}`);
        last = ack.id;
      }
      // The latecomer on B replays history in the same order: the ten turns, ids rising.
      const late = await loginAt(b.port, "late");
      try {
        const replay = await collect(late, "#lobby", (seen) => seen.length === 10);
        assert.deepEqual(
          replay.map((m) => m.text),
          Array.from({ length: 10 }, (_, i) => `turn ${i}`),
        );
        assertRising(replay, "late's replay");
      } finally {
        late.close();
      }
    } finally {
      alice.close();
      bob.close();
    }
  });
});

/**
 * Sends `count` messages from `client` to `room` in bursts of ten, resolving with their acks in
 * order.
 */
async function stream(
  client: JsonClient,
  count: number,
  tag: string,
  room = "#lobby",
  progress: (acked: number) => void = () => {},
): Promise<AckFrame[]> {
  const acks: AckFrame[] = [];
  for (let i = 0; i < count; i += 10) {
    const texts = Array.from({ length: Math.min(10, count - i) }, (_, j) => `${tag} ${i + j}`);
    acks.push(...(await traffic(client, texts, `${tag}${i}-`, new Set(), room)).acks);
    progress(acks.length);
  }
  return acks;
}

/** A promise that `progress` resolves once `count` messages are acked, and that callback. */
function once(count: number): { reached: Promise<void>; progress: (acked: number) => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { reached: promise, progress: (acked) => acked >= count && resolve() };
}

Deno.test("cluster delivery: a resume on B while A is sending gets every message after its id once: replay and live meet with no hole and no repeat", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const clients = [alice];
    try {
      const first = await stream(alice, 20, "warm");
      const from = first[9].id;
      // The resume lands while alice keeps sending: some of what follows `from` is stored
      // before it and replayed, the rest is live.
      const { reached, progress } = once(50);
      const sending = stream(alice, 200, "flow", "#lobby", progress);
      await reached;
      const carl = await loginAt(b.port, "carl", { resume: { "#lobby": from } });
      clients.push(carl);
      const acks = [...first.slice(10), ...await sending];
      const last = acks[acks.length - 1].id;
      const seen = await collect(carl, "#lobby", (s) => s.at(-1)?.id === last, BURST_MS);
      assert.deepEqual(
        seen.map((m) => m.id),
        acks.map((ack) => ack.id),
        `every id after ${from} once, in order (${seen.filter((m) => m.history).length} replayed)`,
      );
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("cluster delivery: joining a room on B while A is sending to it: replay and live meet with no hole and no repeat", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const dave = await loginAt(b.port, "dave");
    try {
      const joined = await command(alice, "/join #side");
      assert.equal(joined.type, "joined", JSON.stringify(joined));
      const early = await stream(alice, 30, "early", "#side");
      const { reached, progress } = once(50);
      const sending = stream(alice, 200, "side", "#side", progress);
      await reached;
      await dave.send({ type: "cmd", line: "/join #side", room: "#lobby", ref: "join" });
      const said = [...early, ...await sending].map((ack) => ack.id);
      const last = said[said.length - 1];
      const seen = await collect(dave, "#side", (s) => s.at(-1)?.id === last, BURST_MS);
      const ids = seen.map((m) => m.id);
      // What dave got is the tail of everything said in #side (a replay, then live), each once.
      const start = said.indexOf(ids[0]);
      assert.ok(start !== -1, `dave's first id ${ids[0]} was said`);
      assert.deepEqual(
        ids,
        said.slice(start),
        `a tail without a hole (${seen.filter((m) => m.history).length} replayed)`,
      );
    } finally {
      alice.close();
      dave.close();
    }
  });
});

Deno.test("cluster delivery: a node started later, and a node restarted, replay the history said before they started", async () => {
  await withCluster({ nodes: 2, node: NODE }, async (cluster) => {
    const [a, b] = cluster.nodes;
    const bob = await loginAt(b.port, "bob");
    const clients = [bob];
    try {
      const acks = await sendAll(bob, Array.from({ length: 5 }, (_, i) => `before ${i}`), "h");
      const expected = acks.map((ack, i) => [ack.id, `before ${i}`]);
      const c = await cluster.addNode();
      const carl = await loginAt(c.port, "carl");
      clients.push(carl);
      const onC = await collect(carl, "#lobby", (s) => s.length === 5);
      assert.deepEqual(onC.map((m) => [m.id, m.text]), expected, "the new node's replay");
      await a.kill9();
      await a.restart();
      const dave = await loginAt(a.port, "dave");
      clients.push(dave);
      const onA = await collect(dave, "#lobby", (s) => s.length === 5);
      assert.deepEqual(onA.map((m) => [m.id, m.text]), expected, "the restarted node's replay");
      // And the live path of both works: bob's next message reaches carl and dave once.
      const [next] = await sendAll(bob, ["after"], "n");
      for (const client of [carl, dave]) {
        const live = await collect(client, "#lobby", (s) => s.at(-1)?.text === "after");
        assert.deepEqual(live.map((m) => m.id), [next.id]);
      }
    } finally {
      for (const client of clients) client.close();
    }
  });
});
