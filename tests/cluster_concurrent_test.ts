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
import { command, type JsonClient } from "./helpers/wire.ts";
import { assertRising, collect, loginAt, roomStream, withCluster } from "./helpers/cluster.ts";

/** Senders per node. */
const SENDERS_PER_NODE = 3;

/** Messages each sender sends, all at once. */
const PER_SENDER = 30;

/** Longest wait for everything to cross. */
const ALL_MS = 30_000;

/**
 * Sends every message at once (a text goes to #lobby; `{ room, text }` where it says) with
 * refs, and reads until all are acked; returns the acks by index.
 */
async function burst(
  client: JsonClient,
  messages: (string | { room: string; text: string })[],
): Promise<AckFrame[]> {
  await client.write(
    messages.map((m, i) => {
      const { room, text } = typeof m === "string" ? { room: "#lobby", text: m } : m;
      return JSON.stringify({ type: "msg", room, text, ref: `r${i}` });
    }).join("\n") + "\n",
  );
  const acks: AckFrame[] = new Array(messages.length);
  let got = 0;
  await collect(client, "*", () => got === messages.length, ALL_MS, (frame) => {
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

Deno.test("cluster concurrent: two rooms, senders on both nodes: a member of both sees each room's ids rise, no id is used twice, and each room's stream holds exactly its own", async () => {
  await withCluster({ nodes: 2, node: { extra: ["--rate", "0"] } }, async ({ redis, nodes }) => {
    const clients: JsonClient[] = [];
    try {
      const senders: { client: JsonClient; nick: string }[] = [];
      const observers: JsonClient[] = [];
      for (const [n, node] of nodes.entries()) {
        const watcher = await loginAt(node.port, `watch${n}`);
        clients.push(watcher);
        observers.push(watcher);
        for (let s = 0; s < 2; s++) {
          const nick = `s${n}x${s}`;
          const client = await loginAt(node.port, nick);
          clients.push(client);
          senders.push({ client, nick });
        }
      }
      for (const client of clients) {
        const joined = await command(client, "/join #side");
        assert.equal(joined.type, "joined", JSON.stringify(joined));
      }
      const plan = senders.map(({ nick }) =>
        Array.from({ length: PER_SENDER }, (_, i) => ({
          room: i % 2 === 0 ? "#lobby" : "#side",
          text: `${nick} says ${i}`,
        }))
      );
      const total = senders.length * PER_SENDER;
      const [acks, ...watched] = await Promise.all([
        Promise.all(senders.map(({ client }, k) => burst(client, plan[k]))),
        ...observers.map((client) =>
          collect(client, "*", (seen) => seen.filter((m) => !m.history).length === total, ALL_MS)
        ),
      ]);
      const byId = new Map<number, { room: string; text: string }>();
      for (const [k, list] of acks.entries()) {
        for (const [i, ack] of list.entries()) {
          assert.equal(ack.room, plan[k][i].room);
          byId.set(ack.id, plan[k][i]);
        }
      }
      assert.equal(byId.size, total, "no id twice across rooms and nodes");
      for (const [n, seen] of watched.entries()) {
        const live = seen.filter((m) => !m.history);
        // Per room, as on one server (whose batches fan out room by room): resume is per room.
        for (const room of ["#lobby", "#side"]) {
          assertRising(live.filter((m) => m.room === room), `watch${n} in ${room}`);
        }
        for (const m of live) assert.deepEqual({ room: m.room, text: m.text }, byId.get(m.id));
      }
      for (const room of ["#lobby", "#side"]) {
        const stream = await roomStream(redis.port, room);
        assertRising(stream.map((e) => e.message), `${room}'s stream`);
        const expected = [...byId].filter(([, m]) => m.room === room).map(([id]) => id)
          .sort((x, y) => x - y);
        assert.deepEqual(stream.map((e) => e.message.id), expected, `${room}'s stream`);
      }
    } finally {
      for (const client of clients) client.close();
    }
  });
});
