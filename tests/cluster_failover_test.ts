/**
 * Cluster mode end to end (issue 16): losing a node costs its users only a reconnect. A node
 * killed with SIGKILL says nothing; the others find its lease gone, tell the rooms its users
 * left (`node_lost`), free their nicks, and a client of the dead node that resumes on another
 * node gets exactly what it missed.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AckFrame, LeaveFrame, ServerFrame } from "../protocol/frames.ts";
import { command, within } from "./helpers/wire.ts";
import { RECONNECT_MAX_MS } from "../client/reconnect.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import {
  assertRising,
  CLUSTER_WAIT_MS,
  collect,
  helloAt,
  JoinProcess,
  joinsOf,
  LEASE_FLAGS,
  LEASE_MS,
  loginAt,
  LOST_MS,
  say,
  withCluster,
} from "./helpers/cluster.ts";

/** Node flags: the tests' lease, and no flood control (bursts on purpose). */
const NODE = { extra: [...LEASE_FLAGS, "--rate", "0"] };

/** How long after the kill the others may take to say so. */
const NOTICE_MS = LOST_MS;

/** How long `sockchat join` may take to start and log in (a cold `deno run`). */
const JOIN_START_MS = 30_000;

/**
 * How long after A is declared lost the real client may take to log in again on B: its
 * reconnect backs off up to RECONNECT_MAX_MS between tries, and its nick was held until then.
 */
const REJOIN_MS = RECONNECT_MAX_MS + 5_000;

/** True for a room message with this text. */
function isText(text: string): (frame: ServerFrame) => boolean {
  return (frame) => frame.type === "msg" && frame.text === text;
}

/** Keeps the #lobby leave frames a client is sent, by nick. */
function leaves(): { map: Map<string, LeaveFrame>; take: (frame: ServerFrame) => void } {
  const map = new Map<string, LeaveFrame>();
  return {
    map,
    take: (frame) => {
      if (frame.type === "leave" && frame.room === "#lobby") map.set(frame.nick, frame);
    },
  };
}

Deno.test("cluster failover: kill -9 of node A: B's members see A's users leave (node_lost) within the lease, their nicks are free, and a resume on B (by hand, and by `sockchat join A,B` on its own) gets exactly what was missed", async () => {
  await withCluster({ nodes: 2, node: { ...NODE, irc: true } }, async ({ env, nodes: [a, b] }) => {
    const bob = await loginAt(b.port, "bob");
    const ivy = await RawIrcClient.login(b.server, "ivy");
    const ann = await loginAt(a.port, "ann");
    const carl = await loginAt(a.port, "carl");
    const clients: { close(): void }[] = [bob, ivy, ann, carl];
    // The real client, given both addresses, A first: it is on A when A dies.
    const jay = new JoinProcess([a.port, b.port], "jay", env);
    try {
      await ivy.send("JOIN #lobby");
      await ivy.expect(/ 366 ivy #lobby /);
      await jay.until("jay's welcome", (f) => f.type === "welcome", JOIN_START_MS);
      // A's users are known on B before A dies.
      await joinsOf(bob, ["ann", "carl", "jay"]);
      const before: AckFrame[] = [];
      for (let i = 0; i < 5; i++) before.push(await say(bob, `before ${i}`, `p${i}`));
      before.push(await say(ann, "ann's last words", "last"));
      const seenByCarl = await collect(carl, "#lobby", (seen) => seen.length === 6);
      assert.deepEqual(seenByCarl.map((m) => m.id), before.map((ack) => ack.id));
      const lastSeen = seenByCarl[5].id;
      await jay.until("ann's last words", isText("ann's last words"), CLUSTER_WAIT_MS);

      const killed = Date.now();
      await a.kill9();

      // Said while A is dead (and before B knows): what carl misses.
      const { map: lost, take } = leaves();
      const missed: AckFrame[] = [];
      for (let i = 0; i < 10; i++) missed.push(await say(bob, `missed ${i}`, `m${i}`, take));
      // A is dead but not yet declared lost: a DM to its user is refused, never acked.
      await bob.send({ type: "cmd", line: "/msg carl are you there", room: "#lobby", ref: "dm" });
      let unreachable: ServerFrame | undefined;
      await collect(bob, "#lobby", () => unreachable !== undefined, 5_000, (frame) => {
        if ("ref" in frame && frame.ref === "dm") unreachable = frame;
        else take(frame);
      });
      assert.equal(
        unreachable?.type,
        "error",
        `a DM to a dead node: ${JSON.stringify(unreachable)}`,
      );
      await collect(bob, "#lobby", () => lost.size === 3, NOTICE_MS, take);
      const noticed = Date.now() - killed;
      assert.deepEqual([...lost.keys()].sort(), ["ann", "carl", "jay"]);
      for (const frame of lost.values()) assert.equal(frame.reason, "node_lost");
      assert.ok(noticed <= NOTICE_MS, `noticed after ${noticed} ms`);
      // An IRC user on B sees them go as IRC clients know a lost server: a netsplit.
      const split = new Set<string>();
      while (split.size < 3) {
        const quit = /^:(\w+)!\S+ QUIT :\*\.net \*\.split$/.exec(await ivy.expect(/ QUIT /));
        assert.ok(quit !== null, `a netsplit QUIT: ${ivy.seen.at(-1)}`);
        split.add(quit[1]);
      }
      assert.deepEqual([...split].sort(), ["ann", "carl", "jay"]);

      // ann's nick is free on B at once (her claim went with A's lease).
      const { client: annAgain, frame: annWelcome } = await helloAt(b.port, "ann");
      clients.push(annAgain);
      assert.equal(annWelcome?.type, "welcome", JSON.stringify(annWelcome));

      // carl reconnects to B with the id of the last message he saw.
      const carlAgain = await loginAt(b.port, "carl", { resume: { "#lobby": lastSeen } });
      clients.push(carlAgain);
      const after = await say(bob, "after the reconnect", "after");
      const gaps: unknown[] = [];
      const resumed = await collect(
        carlAgain,
        "#lobby",
        (seen) => seen.at(-1)?.text === "after the reconnect",
        10_000,
        (frame) => {
          if (frame.type === "gap") gaps.push(frame);
        },
      );
      assert.deepEqual(gaps, [], "nothing lost, so no gap");
      assert.deepEqual(
        resumed.map((m) => [m.id, m.text, m.history]),
        [
          ...missed.map((ack, i) => [ack.id, `missed ${i}`, true]),
          [after.id, "after the reconnect", false],
        ],
        "exactly what carl missed, once each, then live",
      );

      // The real client got back in on B by itself (its nick free once A was declared lost),
      // and resumed: every message once, ids rising.
      const welcomes = () => jay.frames.filter((f) => f.type === "welcome").length;
      await jay.until("jay's welcome on B", () => welcomes() === 2, REJOIN_MS);
      await jay.until(
        "the message after the reconnect",
        isText("after the reconnect"),
        CLUSTER_WAIT_MS,
      );
      const texts = jay.frames.flatMap((f) => f.type === "msg" ? [f.text] : []);
      const expected = [
        ...Array.from({ length: 5 }, (_, i) => `before ${i}`),
        "ann's last words",
        ...Array.from({ length: 10 }, (_, i) => `missed ${i}`),
        "after the reconnect",
      ];
      assert.deepEqual(texts, expected, "jay: everything once, in order");
      const ids = jay.frames.flatMap((f) => f.type === "msg" ? [f.id] : []);
      assertRising(ids.map((id) => ({ id })), "jay");
    } finally {
      for (const client of clients) client.close();
      await jay.close();
    }
  });
});

Deno.test("cluster failover: a node restarted after kill -9 under the same id, within its lease, leaves no ghost: users that did not come back leave, those that did are back", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ nodes: [a, b] }) => {
    const bob = await loginAt(b.port, "bob");
    const ann = await loginAt(a.port, "ann");
    const carl = await loginAt(a.port, "carl");
    const clients = [bob, ann, carl];
    try {
      await joinsOf(bob, ["ann", "carl"]);
      await a.kill9();
      // Back before its lease ran out: the new process must not take over the old one's users.
      await a.restart();
      const annAgain = await within(
        (async () => {
          while (true) {
            const { client, frame } = await helloAt(a.port, "ann");
            if (frame?.type === "welcome") return client;
            client.close();
            assert.equal(
              frame?.type === "error" && frame.code,
              "nick_taken",
              JSON.stringify(frame),
            );
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })(),
        "ann to log in again on the restarted node",
        NOTICE_MS,
      );
      clients.push(annAgain);
      // carl never came back: B must stop showing him (a ghost would hold his nick forever).
      // ann's new session is announced after that (her welcome may come before B hears it).
      const { map: left, take } = leaves();
      let annBack = false;
      await collect(bob, "#lobby", () => left.has("carl") && annBack, NOTICE_MS, (frame) => {
        take(frame);
        if (frame.type === "join" && frame.nick === "ann") annBack = left.has("ann");
      }).catch((error) => {
        throw new Error(
          `B after the restart: carl gone ${
            left.has("carl")
          }, ann back ${annBack}: ${error.message}`,
        );
      });
      assert.equal(left.get("carl")?.reason, "node_lost");
      const who = await command(bob, "/who");
      assert.deepEqual(who.type === "who" && [...who.members].sort(), ["ann", "bob"]);
      const { client: carlAgain, frame } = await helloAt(b.port, "carl");
      clients.push(carlAgain);
      assert.equal(frame?.type, "welcome", `carl's nick is free: ${JSON.stringify(frame)}`);

      const ack = await say(annAgain, "back again", "back");
      const seen = await collect(bob, "#lobby", (s) => s.at(-1)?.text === "back again", 10_000);
      assert.equal(seen.at(-1)?.id, ack.id);
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("cluster failover: a node stopped cleanly (SIGTERM) says so at once: its users leave B's rooms and their nicks are free without waiting for the lease", async () => {
  await withCluster({ nodes: 2, node: NODE }, async ({ nodes: [a, b] }) => {
    const bob = await loginAt(b.port, "bob");
    const ann = await loginAt(a.port, "ann");
    const clients = [bob, ann];
    try {
      await joinsOf(bob, ["ann"]);
      const stopped = Date.now();
      const [status] = await Promise.all([a.stop(), ann.expectEof(10_000)]);
      assert.equal(status?.code, 0, a.output);
      const { map: left, take } = leaves();
      await collect(bob, "#lobby", () => left.has("ann"), LEASE_MS / 2, take);
      assert.equal(left.get("ann")?.reason, "shutdown");
      assert.ok(Date.now() - stopped < LEASE_MS, "well before the lease would have run out");
      const { client, frame } = await helloAt(b.port, "ann");
      clients.push(client);
      assert.equal(frame?.type, "welcome", `ann's nick is free: ${JSON.stringify(frame)}`);
    } finally {
      for (const client of clients) client.close();
    }
  });
});
