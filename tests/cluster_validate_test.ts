/**
 * Entries read back from Redis are checked before use (cluster/validate.ts): a malformed log
 * event or batch, direct message or room stream entry is skipped and logged, never applied.
 * Unit checks of each reader, then a real cluster fed bad entries with redis-cli (the repros
 * of review-sec16: a `node_lost` without a node evicting every local user, a batch id of 1e300
 * poisoning the shared counter, one unparsable stream entry failing a room's history).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BadEntry,
  readBatch,
  readDirect,
  readEvent,
  readSeq,
  readStored,
} from "../cluster/validate.ts";
import { MAX_ID_JUMP } from "../config/cluster_limits.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { collect, loginAt, redisCli, withCluster } from "./helpers/cluster.ts";
import type { ClusterEvent } from "../core/cluster.ts";
import { Hub } from "../core/hub.ts";
import { BanList } from "../core/moderation.ts";
import { LOBBY, PROTOCOL_VERSION } from "../protocol/frames.ts";
import { MemoryCluster } from "../store/memory/cluster.ts";
import { RecordingSink } from "./helpers/core.ts";

const GOOD_MESSAGE = { id: 5, room: "#lobby", from: "alice", text: "hi", ts: 1000 };

/** Event shapes sockchat never writes (from review-sec16's fuzz list, and a few more). */
const BAD_EVENTS = [
  "{bad",
  "null",
  "42",
  '"str"',
  "[]",
  '{"t":"nonsense"}',
  "{}",
  '{"t":"hello"}',
  '{"t":"hello","user":null}',
  '{"t":"hello","user":{"nick":123,"rooms":"abc"}}',
  '{"t":"join","nick":null,"room":null}',
  '{"t":"join","nick":"x","room":"#' + "r".repeat(40) + '"}',
  '{"t":"part","nick":"x","room":5}',
  '{"t":"nick","from":null,"to":{}}',
  '{"t":"user","user":{}}',
  '{"t":"topic","room":"#lobby","topic":null,"by":1,"ts":"x"}',
  '{"t":"room","room":"#lobby","state":null}',
  '{"t":"room","room":"#lobby","state":{"modes":null}}',
  '{"t":"room","room":"#lobby","state":{"modes":{"bans":"x"},"ops":"y","voices":5}}',
  '{"t":"invite","room":null,"nick":null}',
  '{"t":"kill","nick":null}',
  '{"t":"record"}',
  '{"t":"record","change":null}',
  '{"t":"record","change":{"table":"bans","op":"save","record":null}}',
  '{"t":"record","change":{"table":"accounts","op":"save","record":{}}}',
  '{"t":"record","change":{"table":"claims","op":"save","record":{"room":null}}}',
  '{"t":"record","change":{"table":"mutes","op":"save","record":{"kind":"nick"}}}',
  '{"t":"node_lost"}',
  '{"t":"node_lost","node":null}',
  '{"t":"node_up","node":{}}',
  '{"t":"node_lost","node":""}',
  '{"t":"node_lost","node":"a b"}',
  '{"t":"node_lost","node":"' + "n".repeat(33) + '"}',
  '{"t":"bye","nick":{"a":1}}',
];

Deno.test("cluster validate: every malformed event shape is refused with a BadEntry naming the problem; well-formed ones pass", () => {
  for (const json of BAD_EVENTS) {
    assert.throws(() => readEvent(json), BadEntry, json);
  }
  const card = {
    nick: "bob",
    address: "127.0.0.1",
    ident: "bob",
    verified: false,
    operator: false,
    away: null,
    since: 1,
    lastActive: 2,
    rooms: ["#lobby"],
  };
  const good = [
    { t: "hello", user: card },
    { t: "join", nick: "bob", room: "#lobby" },
    { t: "part", nick: "bob", room: "#lobby", reason: "part", message: "" },
    { t: "bye", nick: "bob", reason: "quit", message: "bye" },
    { t: "nick", from: "bob", to: "rob" },
    { t: "topic", room: "#lobby", topic: "t", by: "bob", ts: 5 },
    {
      t: "room",
      room: "#lobby",
      state: {
        modes: { t: true, m: false, i: false, key: null, limit: 5, bans: [{ mask: "x!*@*" }] },
        ops: ["bob"],
        voices: [],
        created: 1,
      },
    },
    { t: "record", change: { table: "bans", op: "delete", kind: "nick", target: "troll" } },
    { t: "node_lost", node: "eu-1" },
  ];
  for (const event of good) assert.deepEqual(readEvent(JSON.stringify(event)), event);
});

Deno.test("cluster validate: a batch's ids must be safe, rising and not far above the newest id seen (1e300 and 2^53+1 refused)", () => {
  const batch = (messages: unknown[]) => JSON.stringify({ node: "a", token: 1, messages });
  assert.equal(readBatch(batch([GOOD_MESSAGE]), 10).messages[0].id, 5);
  for (
    const bad of [
      "{bad",
      "null",
      '{"messages":"x"}',
      '{"node":"a","token":1,"messages":[null]}',
      '{"node":"a","token":1,"messages":[]}',
      '{"node":"a","token":1,"messages":[{"id":"x"}]}',
      '{"node":"zz","token":1,"messages":[{"id":5,"room":"#lobby","from":null,"text":null,"ts":"x"}]}',
      batch([{ ...GOOD_MESSAGE, id: 1e300 }]),
      batch([{ ...GOOD_MESSAGE, id: 2 ** 53 + 1 }]),
      batch([{ ...GOOD_MESSAGE, id: 10 + MAX_ID_JUMP + 1 }]),
      batch([{ ...GOOD_MESSAGE, id: 0 }]),
      batch([{ ...GOOD_MESSAGE, id: 5.5 }]),
      batch([GOOD_MESSAGE, GOOD_MESSAGE]),
      JSON.stringify({ node: "a b", token: 1, messages: [GOOD_MESSAGE] }),
    ]
  ) {
    assert.throws(() => readBatch(bad, 10), BadEntry, bad);
  }
  // An entry number that is not one counts as the expected next.
  assert.equal(readSeq("1e300", 7), 7);
  assert.equal(readSeq("x", 7), 7);
  assert.equal(readSeq("9", 7), 9);
});

Deno.test("cluster validate: direct messages and stream entries are checked; a stream entry whose id is not its own is unreadable", () => {
  const dm = { type: "dm", id: 3, from: "alice", to: "bob", text: "hi", ts: 9 };
  assert.deepEqual(readDirect(JSON.stringify({ key: "bob", frame: dm })).frame, dm);
  for (
    const bad of [
      "garbage",
      "null",
      '{"key":null,"frame":null}',
      '{"key":"bob","frame":{"type":"nope"}}',
      '{"key":"bob","frame":null}',
      JSON.stringify({ key: "bob", frame: { ...dm, text: 5 } }),
    ]
  ) {
    assert.throws(() => readDirect(bad), BadEntry, bad);
  }
  assert.deepEqual(readStored(JSON.stringify(GOOD_MESSAGE), "5-0"), GOOD_MESSAGE);
  assert.equal(readStored(JSON.stringify(GOOD_MESSAGE), "6-0"), null);
  assert.equal(readStored("{not json", "5-0"), null);
  assert.equal(readStored(JSON.stringify({ ...GOOD_MESSAGE, text: null }), "5-0"), null);
});

Deno.test("cluster validate: a node_lost that reaches the hub without a node (the in-memory bus checks nothing) leaves local users in their rooms", async () => {
  const cluster = new MemoryCluster();
  const node = cluster.node("a");
  const hub = new Hub({
    maxUsers: 10,
    maxFrame: 65536,
    serverName: "sockchat-a",
    store: node.store,
    replayBudgetBytes: 1 << 18,
    bans: new BanList(node.store.moderation, { mutes: node.store.moderation }),
    cluster: node.bus,
  });
  node.attach(hub);
  const result = await hub.login(new RecordingSink(), {
    version: PROTOCOL_VERSION,
    nick: "alice",
    address: "192.0.2.1",
  });
  assert.ok(result.ok);
  await cluster.settle();
  for (const event of [{ t: "node_lost" }, { t: "node_lost", node: undefined }]) {
    await hub.applyRemote({ node: "zz", event: event as unknown as ClusterEvent });
  }
  assert.ok(hub.room(LOBBY)?.members.has(result.user), "alice is still in the lobby");
  await cluster.settle();
  hub.shutdown();
  await cluster.settle();
});

Deno.test("cluster validate: bad log entries, DMs and stream entries are skipped on a real cluster; local users stay in their rooms, appends still work, the room's history still reads", async () => {
  await withCluster({ nodes: 2 }, async ({ redis, nodes: [a, b] }) => {
    const alice = await loginAt(a.port, "alice");
    const bob = await loginAt(b.port, "bob");
    let n = 0;
    /** Alice speaks; she must be acked (not not_in_room / store_failed) and bob must hear it. */
    const probe = async (label: string) => {
      const text = `probe${n++}`;
      await alice.send({ type: "msg", room: "#lobby", text });
      for (;;) {
        const frame = await alice.next(`alice's ack after ${label}`);
        assert.notEqual(frame, null, `alice was dropped after ${label}`);
        assert.notEqual(frame?.type, "error", `after ${label}: ${JSON.stringify(frame)}`);
        if (frame?.type === "ack") break;
      }
      await collect(bob, "#lobby", (seen) => seen.some((s) => s.text === text));
    };
    const add = async (kind: string, data: string) => {
      const seq = await redisCli(redis.port, "INCR", "sc:logseq");
      await redisCli(
        redis.port,
        "XADD",
        "sc:log",
        "*",
        "n",
        "zz",
        "k",
        kind,
        "d",
        data,
        "s",
        `${seq}`,
      );
    };
    await probe("start");
    // The worst one: a node_lost without a node matched every local user.
    await add("e", '{"t":"node_lost"}');
    await add("e", '{"t":"node_up","node":{}}');
    await probe("node_lost without a node");
    // A batch with an absurd id became every node's floor and broke every append.
    const huge = { node: "zz", token: 0, messages: [{ ...GOOD_MESSAGE, id: 1e300 }] };
    await add("m", JSON.stringify(huge));
    await add("m", JSON.stringify({ ...huge, messages: [{ ...GOOD_MESSAGE, id: 2 ** 53 + 1 }] }));
    await probe("a batch with id 1e300");
    for (const node of [a.id, b.id]) {
      for (
        const m of [
          "garbage",
          '{"key":"bob","frame":null}',
          '{"key":"bob","frame":{"type":"nope"}}',
        ]
      ) {
        await redisCli(redis.port, "PUBLISH", `sc:dm:${node}`, m);
      }
    }
    await probe("bad direct messages");
    assert.ok(a.running && b.running, "both nodes are up");
    // One unparsable entry in the room's stream, newer than the rest.
    const tail = await redisCli(
      redis.port,
      "XREVRANGE",
      "sc:room:#lobby",
      "+",
      "-",
      "COUNT",
      "1",
    ) as [
      string,
      string[],
    ][];
    const last = Number(tail[0][0].split("-")[0]);
    await redisCli(redis.port, "SET", "sc:id", `${last + 2000}`);
    await redisCli(
      redis.port,
      "XADD",
      "sc:room:#lobby",
      `${last + 1000}-0`,
      "m",
      "{not json",
      "n",
      "999",
    );
    await probe("a poisoned stream entry");
    const errors: ServerFrame[] = [];
    const carol = await loginAt(b.port, "carol");
    try {
      // Her join replays #lobby's history across the bad entry.
      const seen = await collect(
        carol,
        "#lobby",
        (seen) => seen.some((s) => s.text === `probe${n - 1}`),
        undefined,
        (frame) => frame.type === "error" && errors.push(frame),
      );
      assert.deepEqual(errors, []);
      assert.ok(seen.some((s) => s.text === "probe0"), "the older history is there too");
    } finally {
      carol.close();
    }
    const logs = a.output + b.output;
    assert.match(logs, /node_lost|is not a node id/);
    assert.match(logs, /far above|2\^53/);
    alice.close();
    bob.close();
  });
});
