/**
 * Cluster mode end to end (issue 16): concurrent senders on every node of three, every ack
 * checked against the room's Redis Stream (read with `redis-cli XRANGE`): the acked id holds
 * the acked text, stream ids rise strictly, nothing is in the stream twice, and every observer
 * on every node sees the one order.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AckFrame } from "../protocol/frames.ts";
import type { JsonClient } from "./helpers/wire.ts";
import { assertRising, collect, loginAt, roomStream, withCluster } from "./helpers/cluster.ts";

/** Senders per node. */
const SENDERS_PER_NODE = 3;

/** Messages each sender sends, all at once. */
const PER_SENDER = 30;

/** Longest wait for everything to cross. */
const ALL_MS = 30_000;

/** Sends `texts` at once with refs, and reads until all are acked; returns acks by index. */
async function burst(client: JsonClient, texts: string[]): Promise<AckFrame[]> {
  await client.write(
    texts.map((text, i) => JSON.stringify({ type: "msg", room: "#lobby", text, ref: `r${i}` }))
      .join("\n") + "\n",
  );
  const acks: AckFrame[] = new Array(texts.length);
  let got = 0;
  await collect(client, "#lobby", () => got === texts.length, ALL_MS, (frame) => {
    if (frame.type === "error") throw new Error(`refused: ${JSON.stringify(frame)}`);
    if (frame.type === "ack" && frame.ref?.startsWith("r")) {
      acks[Number(frame.ref.slice(1))] = frame;
      got++;
    }
  });
  return acks;
}

Deno.test("cluster concurrent: senders on all three nodes at once: every ack is in the room's stream with its text, stream ids rise, nothing twice", async () => {
  await withCluster({ nodes: 3, node: { extra: ["--rate", "0"] } }, async ({ redis, nodes }) => {
    const senders: { client: JsonClient; nick: string }[] = [];
    const observers: JsonClient[] = [];
    try {
      for (const [n, node] of nodes.entries()) {
        observers.push(await loginAt(node.port, `watch${n}`));
        for (let s = 0; s < SENDERS_PER_NODE; s++) {
          const nick = `s${n}x${s}`;
          senders.push({ client: await loginAt(node.port, nick), nick });
        }
      }
      const texts = senders.map(({ nick }) =>
        Array.from({ length: PER_SENDER }, (_, i) => `${nick} says ${i}`)
      );
      const total = senders.length * PER_SENDER;
      const [acks, ...watched] = await Promise.all([
        Promise.all(senders.map(({ client }, k) => burst(client, texts[k]))),
        ...observers.map((client) =>
          collect(client, "#lobby", (seen) => seen.length === total, ALL_MS)
        ),
      ]);

      const acked = new Map<number, { text: string; from: string }>();
      for (const [k, list] of acks.entries()) {
        assertRising(list, `${senders[k].nick}'s acks`);
        for (const [i, ack] of list.entries()) {
          assert.equal(acked.has(ack.id), false, `id ${ack.id} acked twice`);
          acked.set(ack.id, { text: texts[k][i], from: senders[k].nick });
        }
      }
      assert.equal(acked.size, total);

      const stream = await roomStream(redis.port, "#lobby");
      assertRising(stream.map((e) => e.message), "the room stream");
      const inStream = new Map(stream.map((e) => [e.message.id, e]));
      const textsSeen = new Set<string>();
      for (const { entry, message } of stream) {
        assert.equal(entry, `${message.id}-0`, "the entry id is the message id");
        assert.equal(textsSeen.has(message.text), false, `${message.text} is stored twice`);
        textsSeen.add(message.text);
      }
      for (const [id, { text, from }] of acked) {
        const entry = inStream.get(id);
        assert.ok(entry !== undefined, `acked id ${id} is in the stream`);
        assert.equal(entry.message.text, text, `id ${id}'s text`);
        assert.equal(entry.message.from, from, `id ${id}'s author`);
      }
      assert.equal(stream.length, total, "nothing unacked in the stream");

      // Every observer, on every node, saw every message once, in the stream's order.
      const order = stream.map((e) => e.message.id);
      for (const [n, seen] of watched.entries()) {
        assert.deepEqual(seen.map((m) => m.id), order, `watch${n} saw the stream's order`);
        for (const m of seen) assert.equal(m.text, acked.get(m.id)?.text);
      }
    } finally {
      for (const { client } of senders) client.close();
      for (const client of observers) client.close();
    }
  });
});
