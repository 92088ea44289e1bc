/**
 * The store thread: a `Worker` that owns the SQLite connection for history, so that commits,
 * fsyncs, WAL checkpoints, history reads and upkeep never run on the server's event loop. The
 * server thread talks to it through threaded.ts; what they say is in thread_protocol.ts.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { SqliteHistory } from "./history.ts";
import { decodeBatch } from "./batch_codec.ts";
import {
  ERROR_BYTES,
  ERROR_OFFSET,
  type Reply,
  type Request,
  REQUEST_OFFSET,
  SLOT,
} from "./thread_protocol.ts";
import { storeError } from "../store_error.ts";

let store: SqliteHistory | null = null;
let live = new Set<string>();
let upkeepErrors: string[] = [];
let slots: Int32Array | null = null;
let bytes: Uint8Array | null = null;
/** The newest append request answered. */
let answered = 0;
/** Messages read so far (see SLOT.mail). */
let mailRead = 0;

const encoder = new TextEncoder();

/** Commits one packed batch; throws a StoreError. */
function commit(packed: Uint8Array): void {
  if (store === null) throw storeError(new Error("database connection is not open"));
  const { messages, nextId } = decodeBatch(packed);
  if (nextId !== 0) store.saveNextId(nextId);
  store.append(messages);
}

/**
 * Serves appends from shared memory, asleep on the bell between them, until a message is posted
 * (or the store is closed): then it returns, so that the thread's event loop delivers the
 * message; its handler comes back here. Sleeping in `Atomics.wait` wakes faster and cheaper than
 * `Atomics.waitAsync`, which goes through the event loop.
 */
function serveAppends(): void {
  for (;;) {
    if (slots === null || Atomics.load(slots, SLOT.mail) !== mailRead) return;
    const request = Atomics.load(slots, SLOT.request);
    if (request !== answered) {
      serveAppend(request);
      continue;
    }
    const bell = Atomics.load(slots, SLOT.bell);
    // Anything asked for after the checks above rang the bell after it was read: no lost wake-up.
    if (Atomics.load(slots, SLOT.mail) !== mailRead) return;
    if (Atomics.load(slots, SLOT.request) !== answered) continue;
    Atomics.wait(slots, SLOT.bell, bell);
  }
}

/** Commits the append `request` waiting in shared memory and answers it. */
function serveAppend(request: number): void {
  if (slots === null || bytes === null) return;
  const length = Atomics.load(slots, SLOT.length);
  let status = 0;
  try {
    // A copy: decoding straight from shared memory is not allowed.
    commit(bytes.slice(REQUEST_OFFSET, REQUEST_OFFSET + length));
  } catch (error) {
    const { written } = encoder.encodeInto(
      storeError(error).message.slice(0, ERROR_BYTES / 3),
      bytes.subarray(ERROR_OFFSET, ERROR_OFFSET + ERROR_BYTES),
    );
    status = Math.max(1, written);
  }
  Atomics.store(slots, SLOT.status, status);
  answered = request;
  Atomics.store(slots, SLOT.done, request);
  Atomics.notify(slots, SLOT.done);
}

/** Runs one request; throws what the store throws. */
function handle(request: Request): unknown {
  if (request.op === "open") {
    const { settings } = request;
    store = new SqliteHistory({
      ...settings,
      roomInUse: (key) => live.has(key),
      // The server thread drives upkeep (it knows which rooms are in use).
      upkeepIntervalMs: 0,
      onUpkeepError: (error) => upkeepErrors.push(error.message),
    });
    slots = new Int32Array(request.shared);
    bytes = new Uint8Array(request.shared);
    return undefined;
  }
  if (store === null) throw storeError(new Error("database connection is not open"));
  switch (request.op) {
    case "append":
      return commit(request.bytes);
    case "recent":
      return store.recent(request.room, request.limit, request.maxBytes);
    case "after":
      return store.after(request.room, request.afterId, request.limit, request.maxBytes);
    case "topic":
      return store.topic(request.room);
    case "setTopic":
      return store.setTopic(request.room, request.topic);
    case "upkeep": {
      live = new Set(request.live);
      if (request.nextId !== 0) store.saveNextId(request.nextId);
      const more = store.upkeep();
      live = new Set();
      return more;
    }
    case "close": {
      if (request.nextId !== 0) store.saveNextId(request.nextId);
      store.close();
      store = null;
      slots = null;
      return undefined;
    }
  }
}

self.onmessage = (event: MessageEvent<Request>) => {
  const request = event.data;
  mailRead++;
  answer(request);
  // Back to sleep on the bell (unless more messages are waiting, or the store was closed).
  serveAppends();
};

/** Runs one request and posts the reply. */
function answer(request: Request): void {
  let reply: Reply;
  try {
    upkeepErrors = [];
    const value = handle(request);
    reply = { id: request.id, ok: true, value };
    if (upkeepErrors.length > 0) reply.errors = upkeepErrors;
  } catch (error) {
    reply = { id: request.id, ok: false, error: storeError(error).message };
  }
  self.postMessage(reply);
}
