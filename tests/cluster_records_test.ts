/**
 * Cluster mode end to end (issue 16): accounts, mutes and room modes are one set for every node
 * (Redis hashes, changes through the log), and they outlive every node: a cluster whose nodes
 * are all killed and started again still enforces them.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../protocol/frames.ts";
import { command, type JsonClient, within } from "./helpers/wire.ts";
import {
  CLUSTER_WAIT_MS,
  collect,
  helloAt,
  joinsOf,
  loginAt,
  redisCli,
  withCluster,
} from "./helpers/cluster.ts";

/** The operator secret every node is given. */
const SECRET = "sekrit-for-the-cluster";

/** Nodes with an operator secret. */
const WITH_OPER = {
  files: { oper: SECRET },
  node: { extra: ["--oper-file", "@DIR@/oper"] },
};

/** The first answer to a hello, closing the connection. */
async function answerTo(port: number, nick: string, fields: Record<string, unknown> = {}) {
  const { client, frame } = await helloAt(port, nick, fields);
  client.close();
  return frame;
}

/** The error code of `frame`, or its type when it is not an error. */
function codeOf(frame: ServerFrame | null): string | undefined {
  return frame?.type === "error" ? frame.code : frame?.type;
}

Deno.test("cluster records: an account registered on A is enforced on B, and after every node was killed and started again", async () => {
  await withCluster({ nodes: 2 }, async ({ nodes: [a, b] }) => {
    const dave = await loginAt(a.port, "dave");
    const registered = await command(dave, "/register correct-horse");
    assert.match(JSON.stringify(registered), /dave is now registered/);
    await dave.send({ type: "quit" });
    await dave.expectEof();
    dave.close();

    const check = async (port: number, where: string) => {
      const thief = await answerTo(port, "Dave");
      assert.equal(codeOf(thief), "nick_registered", `${where}: ${JSON.stringify(thief)}`);
      const owner = await answerTo(port, "dave", { accountPassword: "correct-horse" });
      assert.equal(owner?.type, "welcome", `${where}: ${JSON.stringify(owner)}`);
      assert.deepEqual(owner?.type === "welcome" && owner.account, { kind: "password" });
    };
    // The record crosses the log: B may hear of it a moment after A answered.
    await within(
      (async () => {
        while (codeOf(await answerTo(b.port, "Dave")) !== "nick_registered") {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
      "B to know dave's account",
      CLUSTER_WAIT_MS,
    );
    await check(b.port, "B");

    await Promise.all([a.kill9(), b.kill9()]);
    // (Each waits a lease renewal first, to tell its own killed run from a live twin.)
    await Promise.all([a.restart(), b.restart()]);
    await check(b.port, "B after the restart");
    await check(a.port, "A after the restart");
  });
});

Deno.test("cluster records: a mute made on A silences the user on B, and an unmute lets them speak", async () => {
  await withCluster({ nodes: 2, ...WITH_OPER }, async ({ nodes: [a, b] }) => {
    const op = await loginAt(a.port, "op");
    const loud = await loginAt(b.port, "loud");
    try {
      await joinsOf(op, ["loud"]);
      await command(op, `/oper ${SECRET}`);
      assert.equal((await command(op, "/mute loud 10m")).type, "info");
      const refusal = await untilAnswer(loud, (code) => code === "muted");
      assert.equal(refusal, "muted");
      assert.equal((await command(op, "/unmute loud")).type, "info");
      assert.equal(await untilAnswer(loud, (code) => code === "ack"), "ack");
    } finally {
      op.close();
      loud.close();
    }
  });
});

Deno.test("cluster records: a +i room made on A keeps B's user out until an invitation from A lets them in", async () => {
  // No flood control: bob's joins are retried until the mode has crossed.
  await withCluster({ nodes: 2, node: { extra: ["--rate", "0"] } }, async ({ nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    try {
      await joinsOf(alice, ["bob"]);
      assert.equal((await command(alice, "/join #club")).type, "joined");
      await command(alice, "/mode #club +i", "#club");
      const kept = await within(
        (async () => {
          while (true) {
            const answer = await command(bob, "/join #club");
            if (answer.type === "error") return answer;
            // In before the mode crossed: out again, and try once it has.
            await command(bob, "/leave #club", "#club");
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })(),
        "B to know #club is +i",
        CLUSTER_WAIT_MS,
      );
      assert.equal(kept.type === "error" && kept.code, "room_invite_only");
      await command(alice, "/invite bob #club", "#club");
      const invite = await within(
        (async () => {
          while (true) {
            const frame = await bob.next("the invitation");
            if (frame === null) throw new Error("EOF before the invitation");
            if (frame.type === "invite") return frame;
          }
        })(),
        "the invitation",
        CLUSTER_WAIT_MS,
      );
      assert.deepEqual([invite.room, invite.by, invite.to], ["#club", "alice", "bob"]);
      const joined = await command(bob, "/join #club");
      assert.equal(joined.type, "joined", JSON.stringify(joined));
    } finally {
      alice.close();
      bob.close();
    }
  });
});

/**
 * Sends messages (100 ms apart) until the answer's code (`ack` for an ack) passes `done`;
 * returns it. Bounded by the wait of {@linkcode within}.
 */
async function untilAnswer(client: JsonClient, done: (code: string) => boolean): Promise<string> {
  return await within(
    (async () => {
      for (let i = 0;; i++) {
        const ref = `try${i}`;
        await client.send({ type: "msg", room: "#lobby", text: `try ${i}`, ref });
        while (true) {
          const frame = await client.next(`the answer to ${ref}`);
          if (frame === null) throw new Error(`EOF before the answer to ${ref}`);
          if (!("ref" in frame) || frame.ref !== ref) continue;
          const code = frame.type === "error" ? frame.code : frame.type;
          if (done(code)) return code;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })(),
    "the answer wanted",
    CLUSTER_WAIT_MS,
  );
}

Deno.test("cluster records: --retention caps each room's stream; a resume from before what is kept gets a gap; --max-users counts a node's own users only", async () => {
  await withCluster({
    nodes: 2,
    node: { extra: ["--rate", "0", "--retention", "10", "--history", "5", "--max-users", "2"] },
  }, async ({ redis, nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    const clients = [alice, bob];
    try {
      // Three users on two nodes of two places each: mirrors take no place.
      clients.push(await loginAt(a.port, "anna"));
      assert.equal(codeOf(await answerTo(a.port, "third")), "server_full", "A has its two");

      await alice.write(
        Array.from(
          { length: 30 },
          (_, i) => JSON.stringify({ type: "msg", room: "#lobby", text: `m${i}`, ref: `r${i}` }),
        ).join("\n") +
          "\n",
      );
      const acks: number[] = [];
      while (acks.length < 30) {
        const frame = await alice.next("an ack");
        if (frame === null) throw new Error("EOF");
        if (frame.type === "ack") acks.push(frame.id);
      }
      const kept = await redisCli(redis.port, "XLEN", "sc:room:#lobby");
      assert.ok(typeof kept === "number" && kept >= 10 && kept < 30, `the stream keeps ${kept}`);

      bob.close();
      const late = await loginAt(b.port, "late", { resume: { "#lobby": acks[0] } });
      clients.push(late);
      const gaps: ServerFrame[] = [];
      const replay = await collect(
        late,
        "#lobby",
        (s) => s.at(-1)?.id === acks[29],
        CLUSTER_WAIT_MS,
        (f) => {
          if (f.type === "gap") gaps.push(f);
        },
      );
      assert.equal(gaps.length, 1, JSON.stringify(gaps));
      assert.ok(gaps[0].type === "gap" && gaps[0].missed > 0, JSON.stringify(gaps[0]));
      assert.deepEqual(
        replay.map((m) => m.id),
        acks.slice(30 - replay.length),
        "the newest, in order",
      );
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("cluster records: a node started later knows the users, rooms, topics and room modes set before it came", async () => {
  await withCluster({ nodes: 2 }, async (cluster) => {
    const [a, b] = cluster.nodes;
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    const clients = [alice, bob];
    try {
      await joinsOf(alice, ["bob"]);
      assert.equal((await command(alice, "/topic the lobby topic")).type, "topic");
      assert.equal((await command(alice, "/join #club")).type, "joined");
      assert.equal((await command(alice, "/mode #club +i", "#club")).type, "mode");
      assert.equal((await command(alice, "/topic club topic", "#club")).type, "topic");
      // bob hears the last of it: everything before is in the log too.
      await within(
        (async () => {
          while (true) {
            const rooms = await command(bob, "/rooms");
            const club = rooms.type === "rooms" && rooms.rooms.find((r) => r.room === "#club");
            if (club && club.topic === "club topic") return;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })(),
        "B to know #club's topic",
        CLUSTER_WAIT_MS,
      );

      const c = await cluster.addNode();
      const carl = await loginAt(c.port, "carl");
      clients.push(carl);
      // The others answer the new node's node_up with snapshots of their users: it knows them
      // once those are in (a login meanwhile is still kept off their nicks by the claims).
      await within(
        (async () => {
          while (true) {
            const who = await command(carl, "/who");
            if (who.type === "who" && [...who.members].sort().join() === "alice,bob,carl") return;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })(),
        "C's /who to list alice, bob and carl",
        CLUSTER_WAIT_MS,
      );
      const { client: fake, frame } = await helloAt(c.port, "BOB");
      fake.close();
      assert.equal(codeOf(frame), "nick_taken", "B's user's nick is held on C too");
      const rooms = await command(carl, "/rooms");
      assert.deepEqual(
        rooms.type === "rooms" && [...rooms.rooms].sort((x, y) => x.room.localeCompare(y.room)),
        [
          { room: "#club", members: 1, topic: "club topic" },
          { room: "#lobby", members: 3, topic: "the lobby topic" },
        ],
      );
      const refused = await command(carl, "/join #club");
      assert.equal(codeOf(refused), "room_invite_only", "#club's +i is known on C");
    } finally {
      for (const client of clients) client.close();
    }
  });
});
