/**
 * The cluster log carries each message's NDJSON frame as the append script built it (the `f`
 * field), so no node encodes a logged message again: the bytes must be exactly what the NDJSON
 * codec would write for that message, and a message the script cannot frame (IRC formatting,
 * which NDJSON strips) is left for the node to encode. A log entry whose frames do not match
 * its messages (written by anything else) is read without them.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CommittedBatch } from "../core/cluster.ts";
import type { StoredMessage } from "../core/ports.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { NDJSON } from "../protocol/ndjson/encode.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { RedisHistory } from "../store/redis/history.ts";
import { LogReader } from "../cluster/log_reader.ts";
import { LOG_KEY, LOG_SEQ_KEY } from "../cluster/keys.ts";
import { startRedis } from "./helpers/redis.ts";

/** Waits for `n` batches from a reader of the log from `history`'s start. */
async function readBatches(
  conn: RedisConn,
  history: RedisHistory,
  n: number,
  write: () => Promise<void>,
): Promise<CommittedBatch[]> {
  const batches: CommittedBatch[] = [];
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  const reader = await LogReader.open(conn, {
    node: "a",
    from: history.logStart,
    onBatch: (batch) => {
      batches.push(batch);
      if (batches.length === n) done();
    },
    onEvent: () => {},
  });
  try {
    await write();
    await all;
  } finally {
    await reader.close();
  }
  return batches;
}

/** The NDJSON bytes of `m` as the relay would encode them. */
function expected(m: StoredMessage & { breaks?: number[] }): string {
  const frame: ServerFrame = {
    type: "msg",
    id: m.id,
    room: m.room,
    from: m.from,
    text: m.text,
    ts: m.ts,
  };
  if (m.action) frame.action = true;
  if (m.notice) frame.notice = true;
  if (m.breaks !== undefined) frame.breaks = m.breaks;
  return new TextDecoder().decode(NDJSON.encode(frame));
}

Deno.test("redis log: each message's NDJSON frame rides in the log entry, byte for byte what the codec writes; formatted text is left to the node", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url, { name: "a" });
  const history = await RedisHistory.open(conn, { node: "a", retention: 100 });
  try {
    const now = Date.now();
    const messages: StoredMessage[] = [
      { id: 0, room: "#x", from: "alice", text: 'quote " back \\ é 😀 \u2028', ts: now },
      { id: 0, room: "#x", from: "bob", text: "waves", ts: now, action: true },
      { id: 0, room: "#Y", from: "bob", text: "note", ts: now, notice: true },
      { id: 0, room: "#x", from: "bob", text: "both", ts: now, action: true, notice: true },
      { id: 0, room: "#x", from: "bob", text: "\x02bold\x02 \x0304red", ts: now },
      { id: 0, room: "#x", from: "bob", text: 'not a flag ,"action":true', ts: now },
    ];
    const breaks = [undefined, [2, 5], undefined, undefined, undefined, [1]];
    const [batch] = await readBatches(
      conn,
      history,
      1,
      () => history.append(messages, { token: 7, breaks }),
    );
    assert.ok(batch.encoded !== undefined, "the log entry carries the frames");
    assert.equal(batch.encoded.slot, NDJSON.slot);
    assert.equal(batch.encoded.frames.length, messages.length);
    batch.messages.forEach((m, i) => {
      const frame = batch.encoded!.frames[i];
      if (i === 4) {
        assert.equal(frame, undefined, "IRC formatting (stripped for NDJSON): the node encodes it");
        return;
      }
      assert.ok(frame !== undefined, `message ${i} has its frame`);
      assert.equal(new TextDecoder().decode(frame), expected(m), `message ${i}`);
    });
  } finally {
    history.close();
    conn.close();
  }
});

Deno.test("redis log: frames that do not match their messages' ids are not used", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url, { name: "a" });
  const history = await RedisHistory.open(conn, { node: "a", retention: 100 });
  try {
    const forged = JSON.stringify({
      node: "b",
      token: 1,
      messages: [{ id: 5, ts: 1, room: "#x", from: "bob", text: "hi" }],
    });
    const batches = await readBatches(conn, history, 2, async () => {
      for (const f of ['{"type":"msg","id":6,"room":"#x"}\n', '{"type":"kill","id":5,"x":1}\n']) {
        const seq = await conn.command(["INCR", LOG_SEQ_KEY]);
        await conn.command([
          "XADD",
          LOG_KEY,
          "*",
          "n",
          "b",
          "k",
          "m",
          "d",
          forged,
          "s",
          seq as number,
          "f",
          f,
        ]);
      }
    });
    assert.deepEqual(batches.map((b) => b.encoded), [undefined, undefined]);
    assert.deepEqual(batches.map((b) => b.messages[0].text), ["hi", "hi"]);
  } finally {
    history.close();
    conn.close();
  }
});
