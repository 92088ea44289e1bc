/**
 * Cluster mode end to end (issue 16): presence and moderation across nodes through a real
 * Redis. A nick is one nick cluster-wide, /who, /whois and /rooms see other nodes' users, and a
 * ban made on one node puts the user out on another and keeps them out of every node.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../protocol/frames.ts";
import { command, type JsonClient, within } from "./helpers/wire.ts";
import { CLUSTER_WAIT_MS, helloAt, joinsOf, loginAt, withCluster } from "./helpers/cluster.ts";

/** Reads frames until one passes `match`; fails on EOF. */
async function until<T extends ServerFrame>(
  client: JsonClient,
  what: string,
  match: (frame: ServerFrame) => frame is T,
  ms = CLUSTER_WAIT_MS,
): Promise<T> {
  return await within(
    (async () => {
      while (true) {
        const frame = await client.next(what, ms);
        if (frame === null) throw new Error(`EOF before ${what}`);
        if (match(frame)) return frame;
      }
    })(),
    what,
    ms,
  );
}

/** The `leave` of `nick` that `watcher` is told of. */
function leaveOf(
  watcher: JsonClient,
  nick: string,
  what: string,
): Promise<Extract<ServerFrame, { type: "leave" }>> {
  return until(
    watcher,
    what,
    (f): f is Extract<ServerFrame, { type: "leave" }> => f.type === "leave" && f.nick === nick,
  );
}

/** The `bye` `client` is sent. */
function byeOf(client: JsonClient, what: string): Promise<Extract<ServerFrame, { type: "bye" }>> {
  return until(
    client,
    what,
    (f): f is Extract<ServerFrame, { type: "bye" }> => f.type === "bye",
  );
}

/** Logs in as `nick` on `port`, retrying a refusal with `code` until `ms` passes. */
async function loginOnceFree(port: number, nick: string, code: string): Promise<JsonClient> {
  return await within(
    (async () => {
      while (true) {
        const { client, frame } = await helloAt(port, nick);
        if (frame?.type === "welcome") return client;
        client.close();
        if (frame?.type !== "error" || frame.code !== code) {
          throw new Error(`login as ${nick}: ${JSON.stringify(frame)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })(),
    `${nick} to be free on ${port}`,
    CLUSTER_WAIT_MS,
  );
}

Deno.test("cluster presence: a nick held on node A is refused on node B (any case), and free there once A's user quits", async () => {
  await withCluster({ nodes: 2 }, async ({ nodes: [a, b] }) => {
    const watcher = await loginAt(b.port, "watcher");
    const alice = await loginAt(a.port, "alice");
    try {
      await joinsOf(watcher, ["alice"]);
      for (const nick of ["alice", "ALICE", "Alice"]) {
        const { client, frame } = await helloAt(b.port, nick);
        client.close();
        assert.equal(frame?.type, "error", `${nick} on B: ${JSON.stringify(frame)}`);
        assert.equal(frame.type === "error" && frame.code, "nick_taken", nick);
      }
      // B's own user is as much in the way of a login on A.
      const { client, frame } = await helloAt(a.port, "WATCHER");
      client.close();
      assert.equal(frame?.type === "error" && frame.code, "nick_taken", "watcher on A");

      await alice.send({ type: "quit" });
      await alice.expectEof();
      const left = await leaveOf(watcher, "alice", "alice's leave");
      assert.equal(left.reason, "quit");
      const again = await loginOnceFree(b.port, "alice", "nick_taken");
      again.close();
    } finally {
      watcher.close();
      alice.close();
    }
  });
});

Deno.test("cluster presence: /who, /whois and /rooms on node B see node A's users and rooms", async () => {
  await withCluster({ nodes: 2 }, async ({ nodes: [a, b] }) => {
    const bob = await loginAt(b.port, "bob");
    const alice = await loginAt(a.port, "alice");
    try {
      await joinsOf(bob, ["alice"]);
      const who = await command(bob, "/who");
      assert.equal(who.type, "who", JSON.stringify(who));
      assert.deepEqual(
        who.type === "who" && [...who.members].sort(),
        ["alice", "bob"],
        "bob's /who on B lists alice on A",
      );
      // The other way round: A's /who lists B's user.
      const whoOnA = await command(alice, "/who");
      assert.deepEqual(whoOnA.type === "who" && [...whoOnA.members].sort(), ["alice", "bob"]);

      const joined = await command(alice, "/join #side");
      assert.equal(joined.type, "joined", JSON.stringify(joined));
      const whois = await within(
        (async () => {
          // The join crosses the log: ask until B's mirror of alice is in #side.
          while (true) {
            const answer = await command(bob, "/whois alice");
            if (answer.type === "info" && answer.text.includes("#side")) return answer;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })(),
        "B's /whois to show alice in #side",
        CLUSTER_WAIT_MS,
      );
      assert.match(
        whois.type === "info" ? whois.text : "",
        /^\* alice: here for .*; in #lobby, #side/,
      );

      const rooms = await command(bob, "/rooms");
      assert.equal(rooms.type, "rooms", JSON.stringify(rooms));
      const side = rooms.type === "rooms" ? rooms.rooms.find((r) => r.room === "#side") : undefined;
      assert.equal(side?.members, 1, `B's /rooms counts alice in #side: ${JSON.stringify(rooms)}`);
      const lobby = rooms.type === "rooms"
        ? rooms.rooms.find((r) => r.room === "#lobby")
        : undefined;
      assert.equal(lobby?.members, 2, "B's /rooms counts both in #lobby");

      const nobody = await command(bob, "/whois nobody");
      assert.equal(nobody.type === "error" && nobody.code, "no_such_user");
    } finally {
      bob.close();
      alice.close();
    }
  });
});

Deno.test("cluster presence: a ban made on node A puts the user out on node B, and keeps them out of both", async () => {
  await withCluster({
    nodes: 2,
    files: { oper: "sekrit-for-the-cluster" },
    node: { extra: ["--oper-file", "@DIR@/oper"] },
  }, async ({ nodes: [a, b] }) => {
    const op = await loginAt(a.port, "op");
    const watcher = await loginAt(b.port, "watcher");
    const troll = await loginAt(b.port, "troll");
    try {
      await joinsOf(op, ["troll"]);
      const opered = await command(op, "/oper sekrit-for-the-cluster");
      assert.equal(opered.type, "info", JSON.stringify(opered));
      const banned = await command(op, "/ban troll 1h spamming");
      assert.equal(banned.type, "info", JSON.stringify(banned));
      assert.match(banned.type === "info" ? banned.text : "", /Banned nick troll for 1h/);

      // Within the second the issue allows (and then some, for a loaded CI machine).
      const bye = await byeOf(troll, "troll's bye");
      assert.equal(bye.reason, "banned");
      await troll.expectEof();
      const left = await leaveOf(watcher, "troll", "troll's leave on B");
      assert.equal(left.reason, "banned");

      for (const [name, port] of [["B", b.port], ["A", a.port]] as const) {
        const { client, frame } = await helloAt(port, "troll");
        client.close();
        assert.equal(
          frame?.type === "error" && frame.code,
          "banned",
          `${name}: ${JSON.stringify(frame)}`,
        );
      }
    } finally {
      op.close();
      watcher.close();
      troll.close();
    }
  });
});

Deno.test("cluster presence: direct messages, topics and nick changes cross nodes", async () => {
  await withCluster({ nodes: 2 }, async ({ nodes: [a, b] }) => {
    const bob = await loginAt(b.port, "bob");
    const alice = await loginAt(a.port, "alice");
    try {
      await joinsOf(bob, ["alice"]);
      const sent = await command(alice, "/msg bob psst, bob");
      assert.equal(sent.type === "ack" && sent.to, "bob", JSON.stringify(sent));
      const dm = await until(
        bob,
        "alice's DM",
        (f): f is Extract<ServerFrame, { type: "dm" }> => f.type === "dm",
      );
      assert.deepEqual([dm.from, dm.to, dm.text], ["alice", "bob", "psst, bob"]);
      await command(bob, "/msg alice got it");
      const back = await until(
        alice,
        "bob's DM",
        (f): f is Extract<ServerFrame, { type: "dm" }> => f.type === "dm",
      );
      assert.deepEqual([back.from, back.text], ["bob", "got it"]);

      await command(alice, "/topic one chat, two nodes");
      const topic = await until(
        bob,
        "the topic",
        (f): f is Extract<ServerFrame, { type: "topic" }> => f.type === "topic",
      );
      assert.deepEqual([topic.room, topic.topic, topic.by], [
        "#lobby",
        "one chat, two nodes",
        "alice",
      ]);

      await command(alice, "/nick alicia");
      const renamed = await until(
        bob,
        "alice's new nick",
        (f): f is Extract<ServerFrame, { type: "nick" }> => f.type === "nick",
      );
      assert.deepEqual([renamed.old, renamed.new], ["alice", "alicia"]);
      const { client, frame } = await helloAt(b.port, "Alicia");
      client.close();
      assert.equal(frame?.type === "error" && frame.code, "nick_taken", "the new nick is held");
      const old = await loginOnceFree(b.port, "alice", "nick_taken");
      old.close();
    } finally {
      bob.close();
      alice.close();
    }
  });
});

Deno.test("cluster presence: one nick asked for on A and B at the same moment: exactly one login gets it", async () => {
  await withCluster({ nodes: 2 }, async ({ nodes: [a, b] }) => {
    for (let round = 0; round < 10; round++) {
      const nick = `race${round}`;
      const answers = await Promise.all([helloAt(a.port, nick), helloAt(b.port, nick)]);
      try {
        const kinds = answers.map(({ frame }) =>
          frame?.type === "welcome" ? "welcome" : frame?.type === "error" ? frame.code : frame?.type
        ).sort();
        assert.deepEqual(kinds, ["nick_taken", "welcome"], `round ${round}`);
      } finally {
        for (const { client } of answers) client.close();
      }
    }
  });
});

Deno.test("cluster presence: a server /kick on node A disconnects the user on node B (who may come back)", async () => {
  await withCluster({
    nodes: 2,
    files: { oper: "sekrit-for-the-cluster" },
    node: { extra: ["--oper-file", "@DIR@/oper"] },
  }, async ({ nodes: [a, b] }) => {
    const op = await loginAt(a.port, "op");
    const watcher = await loginAt(b.port, "watcher");
    const target = await loginAt(b.port, "target");
    try {
      await joinsOf(op, ["watcher", "target"]);
      await command(op, "/oper sekrit-for-the-cluster");
      const kicked = await command(op, "/kick target cool it");
      assert.notEqual(kicked.type, "error", JSON.stringify(kicked));
      const bye = await byeOf(target, "target's bye");
      assert.equal(bye.reason, "kicked");
      await target.expectEof();
      const left = await leaveOf(watcher, "target", "target's leave");
      assert.equal(left.reason, "kicked");
      const again = await loginOnceFree(b.port, "target", "nick_taken");
      again.close();
    } finally {
      op.close();
      watcher.close();
      target.close();
    }
  });
});

Deno.test("cluster presence: the login rate per address is counted across nodes", async () => {
  await withCluster(
    { nodes: 2, node: { extra: ["--max-logins-per-minute", "3"] } },
    async ({ nodes: [a, b] }) => {
      const answers = [];
      for (const [i, port] of [a.port, b.port, a.port, b.port, a.port].entries()) {
        const { client, frame } = await helloAt(port, `u${i}`);
        client.close();
        answers.push(frame?.type === "error" ? frame.code : frame?.type);
      }
      assert.deepEqual(answers, [
        "welcome",
        "welcome",
        "welcome",
        "too_many_connections",
        "too_many_connections",
      ], "three logins in a minute, wherever they land");
    },
  );
});

Deno.test("cluster presence: a burst of 100 DMs from A to B arrives whole and in order, each acked to its sender", async () => {
  await withCluster({ nodes: 2, node: { extra: ["--rate", "0"] } }, async ({ nodes: [a, b] }) => {
    const bob = await loginAt(b.port, "bob");
    const alice = await loginAt(a.port, "alice");
    try {
      await joinsOf(bob, ["alice"]);
      await alice.write(
        Array.from(
          { length: 100 },
          (_, i) =>
            JSON.stringify({ type: "cmd", line: `/msg bob dm ${i}`, room: "#lobby", ref: `d${i}` }),
        ).join("\n") + "\n",
      );
      const [got, answers] = await Promise.all([
        within(
          (async () => {
            const texts: string[] = [];
            while (texts.length < 100) {
              const frame = await bob.next("a DM");
              if (frame === null) throw new Error(`EOF after ${texts.length} DMs`);
              if (frame.type === "dm") texts.push(frame.text);
            }
            return texts;
          })(),
          "100 DMs",
          CLUSTER_WAIT_MS,
        ),
        within(
          (async () => {
            const refs: string[] = [];
            while (refs.length < 100) {
              const frame = await alice.next("an answer");
              if (frame === null) throw new Error(`EOF after ${refs.length} answers`);
              if (frame.type === "error") throw new Error(JSON.stringify(frame));
              if (frame.type === "ack" && frame.to === "bob") refs.push(frame.ref ?? "");
            }
            return refs;
          })(),
          "100 acks",
          CLUSTER_WAIT_MS,
        ),
      ]);
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `dm ${i}`));
      assert.deepEqual(answers, Array.from({ length: 100 }, (_, i) => `d${i}`));
    } finally {
      bob.close();
      alice.close();
    }
  });
});
