/**
 * Micro-benchmark: one message said in a room of 100, through the real {@linkcode Hub} (say,
 * then the batch flush that acks and relays it) with fake sinks that take the encoded bytes as
 * a transport would. The history store is a no-op, so this measures the hub's fan-out alone.
 *
 * @module
 */

import { NDJSON } from "../protocol/ndjson/encode.ts";
import type { HistorySlice, HistoryStore, StoredMessage } from "../core/ports.ts";
import { Hub, type PeerSink, type User } from "../core/hub.ts";
import { type Ban, BanList, type BanStore, type RecordTable } from "../core/moderation.ts";
import type { Deliverable } from "../protocol/outgoing.ts";
import { ITERATIONS, TEXT_64 } from "./micro_options.ts";

const MEMBERS = 100;

/** Takes each frame's NDJSON bytes and keeps the last few, as a bounded queue would. */
class FakeSink implements PeerSink {
  #queue: Uint8Array[] = [];
  deliver(out: Deliverable): void {
    if (this.#queue.length >= 64) this.#queue = [];
    this.#queue.push(out.encode(NDJSON));
  }
  close(): void {}
}

/** Remembers nothing: the benchmark is about fan-out, not SQLite. */
class NullStore implements HistoryStore, BanStore {
  #nextId = 1;
  append(messages: readonly StoredMessage[]): void {
    const last = messages.at(-1);
    if (last !== undefined) this.#nextId = last.id + 1;
  }
  saveNextId(nextId: number): void {
    this.#nextId = nextId;
  }
  nextId(): number {
    return this.#nextId;
  }
  newestTs(): number {
    return 0;
  }
  recent(): HistorySlice {
    return { messages: [], missed: 0, bytes: 0 };
  }
  after(): HistorySlice {
    return { messages: [], missed: 0, bytes: 0 };
  }
  before(): HistorySlice {
    return { messages: [], missed: 0, bytes: 0 };
  }
  afterOldest(): HistorySlice {
    return { messages: [], missed: 0, bytes: 0 };
  }
  idAt(): number {
    return this.#nextId;
  }
  topic(): string {
    return "";
  }
  setTopic(): void {}
  close(): void {}
  readonly bans: RecordTable<Ban> = { load: () => [], save() {}, delete() {} };
}

const store = new NullStore();
const hub = new Hub({
  maxUsers: MEMBERS,
  maxFrame: 65536,
  serverName: "bench",
  store,
  replayBudgetBytes: 1 << 18,
  bans: new BanList(store),
});
const users: User[] = [];
for (let i = 0; i < MEMBERS; i++) {
  const result = await hub.login(new FakeSink(), { version: 1, nick: `c${i}` });
  if (!result.ok) throw new Error(result.error.message);
  users.push(result.user);
}
let turn = 0;

Deno.bench({
  name: `broadcast enqueue: Hub.say + flush in a room of ${MEMBERS} (${
    MEMBERS - 1
  } deliveries per iteration)`,
  ...ITERATIONS,
  fn() {
    hub.say(users[turn++ % MEMBERS], "#lobby", TEXT_64);
    hub.flush();
  },
});
