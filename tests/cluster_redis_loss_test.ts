/**
 * Cluster mode end to end (issue 16): Redis itself is lost. While it is down a message is
 * refused (`store_failed`), never acknowledged; connections stay open; when Redis returns with
 * its data, sending works again without reconnecting. When it returns empty, ids continue
 * above the highest any node saw, and a client resuming from before gets a `gap`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AckFrame, ServerFrame } from "../protocol/frames.ts";
import { command, type JsonClient, within } from "./helpers/wire.ts";
import {
  assertRising,
  collect,
  helloAt,
  joinsOf,
  LEASE_FLAGS,
  LEASE_MS,
  loginAt,
  roomStream,
  type Seen,
  withCluster,
} from "./helpers/cluster.ts";

/** No flood control: the sender below does not pace itself to the server's buckets. */
const NODE = { extra: [...LEASE_FLAGS, "--rate", "0"] };

/** How long a node may take to find Redis back (its reconnect backs off to about 1 s). */
const RECOVER_MS = 15_000;

/** An answer to one message: its ack, or the refusal's code. */
type Outcome = { ack: AckFrame } | { refused: string };

/**
 * Sends `texts` one by one, `gapMs` apart, calling `between(i)` before the i-th; resolves with
 * each one's answer (matched by ref) once all are answered. Other frames go to `other`.
 */
async function sendEach(
  client: JsonClient,
  texts: string[],
  gapMs: number,
  between: (i: number) => Promise<void>,
  other: (frame: ServerFrame) => void = () => {},
): Promise<Outcome[]> {
  const outcomes: (Outcome | undefined)[] = new Array(texts.length);
  let answered = 0;
  const reading = within(
    (async () => {
      while (answered < texts.length) {
        const frame = await client.next(`answer ${answered + 1} of ${texts.length}`, RECOVER_MS);
        if (frame === null) throw new Error(`EOF after ${answered} answers: connections must stay`);
        const ref = "ref" in frame ? frame.ref : undefined;
        if (ref === undefined || !ref.startsWith("s")) {
          other(frame);
          continue;
        }
        const i = Number(ref.slice(1));
        assert.equal(outcomes[i], undefined, `message ${i} answered twice`);
        if (frame.type === "ack") outcomes[i] = { ack: frame };
        else if (frame.type === "error") outcomes[i] = { refused: frame.code };
        else throw new Error(`unexpected answer ${JSON.stringify(frame)}`);
        answered++;
      }
    })(),
    "every message answered",
    RECOVER_MS,
  );
  for (const [i, text] of texts.entries()) {
    await between(i);
    await client.send({ type: "msg", room: "#lobby", text, ref: `s${i}` });
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  await reading;
  return outcomes as Outcome[];
}

/** Sends `text` until it is acked (a store_failed answer is retried), within RECOVER_MS. */
async function sendUntilAcked(
  client: JsonClient,
  text: string,
  other: (frame: ServerFrame) => void = () => {},
): Promise<{ ack: AckFrame; refusals: number }> {
  let refusals = 0;
  const ack = await within(
    (async () => {
      for (let attempt = 0;; attempt++) {
        const ref = `u${attempt}`;
        await client.send({ type: "msg", room: "#lobby", text, ref });
        while (true) {
          const frame = await client.next(`the answer to ${ref}`, RECOVER_MS);
          if (frame === null) throw new Error("EOF: the connection must stay open");
          if ("ref" in frame && frame.ref === ref) {
            if (frame.type === "ack") return frame;
            assert.equal(
              frame.type === "error" && frame.code,
              "store_failed",
              JSON.stringify(frame),
            );
            refusals++;
            break;
          }
          other(frame);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })(),
    `${text} to be acked again`,
    RECOVER_MS,
  );
  return { ack, refusals };
}

Deno.test("cluster redis loss: kill -9 of Redis mid-stream: every message acked or store_failed, each ack durable in Redis; connections stay; sending works again once Redis is back", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ redis, nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    try {
      const texts = Array.from({ length: 40 }, (_, i) => `during ${i}`);
      const outcomes = await sendEach(alice, texts, 10, async (i) => {
        if (i === 15) await redis.kill9();
      });
      const acked = outcomes.flatMap((o, i) =>
        "ack" in o ? [{ id: o.ack.id, text: texts[i] }] : []
      );
      const refused = outcomes.filter((o) => "refused" in o);
      for (const o of refused) assert.equal("refused" in o && o.refused, "store_failed");
      // (The last few before the kill may be in flight when Redis dies: either answer is right.)
      assert.ok("ack" in outcomes[0], "the first, sent well before the kill, is acked");
      assert.ok(refused.length >= 1, "messages sent with Redis dead are refused, not acked");
      assertRising(acked, "alice's acks");

      // Both connections are still open and served while Redis is down.
      assert.equal((await command(alice, "/who")).type, "who");
      // (bob's messages so far are kept: he is checked for every acked one below.)
      let answered = false;
      await bob.send({ type: "cmd", line: "/who", room: "#lobby", ref: "alive" });
      const early = await collect(bob, "#lobby", () => answered, RECOVER_MS, (frame) => {
        if (!("ref" in frame) || frame.ref !== "alive") return;
        assert.equal(frame.type, "who", JSON.stringify(frame));
        answered = true;
      });

      // A login needs Redis (its nick is claimed cluster-wide): refused, clearly, not hung.
      const { client: newbie, frame: refusal } = await helloAt(b.port, "newbie");
      newbie.close();
      assert.equal(
        refusal?.type === "error" && refusal.code,
        "store_failed",
        JSON.stringify(refusal),
      );
      assert.match(refusal?.type === "error" ? refusal.message : "", /unreachable/);

      await redis.restart({ keepData: true });
      const stream = await roomStream(redis.port, "#lobby");
      const stored = new Map(stream.map((e) => [e.message.id, e.message]));
      for (const { id, text } of acked) {
        assert.equal(stored.get(id)?.text, text, `acked id ${id} is in Redis with its text`);
        assert.equal(stored.get(id)?.from, "alice");
      }

      // Without reconnecting: alice is acked again, and bob on the other node gets it.
      const { ack: back } = await sendUntilAcked(alice, "back again");
      assert.ok(back.id > acked[acked.length - 1].id, "ids go on rising");
      const seen = await collect(bob, "#lobby", (s) => s.at(-1)?.text === "back again", RECOVER_MS);
      const live = [...early, ...seen].filter((m) => !m.history);
      assertRising(live, "bob");
      const ids = new Set(live.map((m) => m.id));
      for (const { id } of acked) assert.ok(ids.has(id), `bob got acked id ${id}`);
      for (const m of live) {
        if (m.text === "back again") continue;
        assert.equal(stored.get(m.id)?.text, m.text, `bob got ${m.id} as Redis has it`);
      }
    } finally {
      alice.close();
      bob.close();
    }
  });
});

Deno.test("cluster redis loss: Redis restarted empty: ids continue above the highest seen, and a client resuming from before gets a gap", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ redis, nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    try {
      const first: AckFrame[] = [];
      for (let i = 0; i < 5; i++) first.push((await sendUntilAcked(alice, `old ${i}`)).ack);
      await collect(bob, "#lobby", (s) => s.at(-1)?.text === "old 4");
      const highest = first[first.length - 1].id;

      await redis.kill9();
      await redis.restart({ keepData: false });

      const { ack: onA } = await sendUntilAcked(alice, "new on A");
      assert.ok(onA.id > highest, `A's next id ${onA.id} is above ${highest}`);
      const { ack: onB } = await sendUntilAcked(bob, "new on B");
      assert.ok(onB.id > highest, `B's next id ${onB.id} is above ${highest}`);
      assert.notEqual(onA.id, onB.id);

      // A client that last saw the second old message resumes: the rest of the old ones are
      // gone with Redis's data, so it is told of a gap, then gets the new ones.
      const gaps: ServerFrame[] = [];
      const late = await loginAt(b.port, "late", { resume: { "#lobby": first[1].id } });
      try {
        const replay: Seen[] = await collect(
          late,
          "#lobby",
          (s) => s.some((m) => m.text === "new on A") && s.some((m) => m.text === "new on B"),
          10_000,
          (frame) => {
            if (frame.type === "gap") gaps.push(frame);
          },
        );
        assert.equal(gaps.length, 1, `one gap: ${JSON.stringify(gaps)}`);
        const gap = gaps[0];
        assert.ok(
          gap.type === "gap" && gap.room === "#lobby" && gap.missed > 0,
          JSON.stringify(gap),
        );
        assert.ok(replay.every((m) => m.id > highest), "nothing replayed from before the restart");
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

Deno.test("cluster redis loss: Redis restarted empty: the nodes write their bans back and claim their users' nicks again, so a ban holds and a nick stays one", async () => {
  await withCluster({
    nodes: 2,
    node: { ...NODE, extra: [...NODE.extra, "--oper-file", "@DIR@/oper"] },
    files: { oper: "sekrit-for-the-cluster" },
  }, async (cluster) => {
    const [a, b] = cluster.nodes;
    const op = await loginAt(a.port, "op");
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    try {
      await command(op, "/oper sekrit-for-the-cluster");
      const banned = await command(op, "/ban troll 1h spamming");
      assert.equal(banned.type, "info", JSON.stringify(banned));

      await cluster.redis.kill9();
      await cluster.redis.restart({ keepData: false });
      // Once A can store again it has noticed the empty Redis (its epoch changed).
      await sendUntilAcked(alice, "after the restart");
      await collect(bob, "#lobby", (s) => s.at(-1)?.text === "after the restart", RECOVER_MS);

      // A node started now knows only what Redis holds: the ban is there again, and so is
      // alice's nick claim.
      const c = await cluster.addNode({ ...NODE });
      await within(
        (async () => {
          while (true) {
            const { client: troll, frame } = await helloAt(c.port, "troll");
            troll.close();
            if (frame?.type === "error" && frame.code === "banned") return;
            assert.equal(frame?.type, "welcome", JSON.stringify(frame));
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        })(),
        "the ban to be written back to Redis",
        RECOVER_MS,
      );
      const { client, frame } = await helloAt(c.port, "alice");
      client.close();
      assert.equal(frame?.type === "error" && frame.code, "nick_taken", JSON.stringify(frame));
      const { client: onB, frame: onBFrame } = await helloAt(b.port, "ALICE");
      onB.close();
      assert.equal(onBFrame?.type === "error" && onBFrame.code, "nick_taken");
    } finally {
      op.close();
      alice.close();
      bob.close();
    }
  });
});

Deno.test("cluster redis loss: Redis down for longer than the node lease (every lease and nick claim expired meanwhile): back, the cluster is whole again by itself", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ redis, nodes: [a, b] }) => {
    const ann = await loginAt(a.port, "ann");
    const bob = await loginAt(b.port, "bob");
    try {
      await joinsOf(ann, ["bob"]);
      await redis.kill9();
      // Nothing to await: the point is that time passes with Redis away.
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 2_000));
      await redis.restart({ keepData: true });

      // Both users are still connected, can speak, and hear each other.
      // (What each reads while waiting for its ack is kept: the other's message may be in it.)
      const texts = { ann: new Map<number, string>(), bob: new Map<number, string>() };
      const keep = (into: Map<number, string>) => (frame: ServerFrame) => {
        if (frame.type === "msg") into.set(frame.id, frame.text);
      };
      const { ack: fromAnn } = await sendUntilAcked(ann, "ann is back", keep(texts.ann));
      const { ack: fromBob } = await sendUntilAcked(bob, "bob is back", keep(texts.bob));
      for (
        const [client, into, id] of [[bob, texts.bob, fromAnn.id], [
          ann,
          texts.ann,
          fromBob.id,
        ]] as const
      ) {
        if (!into.has(id)) {
          for (const m of await collect(client, "#lobby", (s) => s.some((m) => m.id === id))) {
            into.set(m.id, m.text);
          }
        }
      }
      assert.equal(texts.bob.get(fromAnn.id), "ann is back");
      assert.equal(texts.ann.get(fromBob.id), "bob is back");

      // Each node shows both users again, and each nick is held cluster-wide again.
      for (const [name, client] of [["A", ann], ["B", bob]] as const) {
        await within(
          (async () => {
            while (true) {
              const who = await command(client, "/who");
              if (who.type === "who" && [...who.members].sort().join() === "ann,bob") return;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          })(),
          `${name}'s /who to list ann and bob`,
          RECOVER_MS,
        );
      }
      for (const [nick, port] of [["ann", b.port], ["bob", a.port]] as const) {
        const { client, frame } = await helloAt(port, nick);
        client.close();
        assert.equal(frame?.type === "error" && frame.code, "nick_taken", `${nick} is held`);
      }
    } finally {
      ann.close();
      bob.close();
    }
  });
});

Deno.test("cluster redis loss: a ban made on A while Redis is down reaches the user on B once Redis is back", async () => {
  await withCluster({
    nodes: 2,
    node: { ...NODE, extra: [...NODE.extra, "--oper-file", "@DIR@/oper"] },
    files: { oper: "sekrit-for-the-cluster" },
  }, async ({ redis, nodes: [a, b] }) => {
    const op = await loginAt(a.port, "op");
    const troll = await loginAt(b.port, "troll");
    try {
      await joinsOf(op, ["troll"]);
      await command(op, "/oper sekrit-for-the-cluster");
      await redis.kill9();
      const banned = await command(op, "/ban troll 1h spamming");
      assert.equal(banned.type, "info", JSON.stringify(banned));
      await redis.restart({ keepData: true });
      const bye = await within(
        (async () => {
          while (true) {
            const frame = await troll.next("troll's bye", RECOVER_MS);
            if (frame === null) throw new Error("EOF before the bye");
            if (frame.type === "bye") return frame;
          }
        })(),
        "the ban to reach B",
        RECOVER_MS,
      );
      assert.equal(bye.reason, "banned");
      const { client, frame } = await helloAt(b.port, "troll");
      client.close();
      assert.equal(frame?.type === "error" && frame.code, "banned");
    } finally {
      op.close();
      troll.close();
    }
  });
});
