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

const encoder = new TextEncoder();

/** Commits one packed batch; throws a StoreError. */
function commit(packed: Uint8Array): void {
  if (store === null) throw storeError(new Error("database connection is not open"));
  const { messages, nextId } = decodeBatch(packed);
  if (nextId !== 0) store.saveNextId(nextId);
  store.append(messages);
}

/** Waits for the next append in shared memory, without blocking the thread's messages. */
function awaitAppend(): void {
  if (slots === null) return;
  const waiting = Atomics.waitAsync(slots, SLOT.request, answered);
  if (waiting.async) void waiting.value.then(serveAppend);
  else serveAppend();
}

/** Commits the append waiting in shared memory, answers it, and waits for the next. */
function serveAppend(): void {
  if (slots === null || bytes === null) return;
  const request = Atomics.load(slots, SLOT.request);
  if (request !== answered) {
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
  awaitAppend();
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
    awaitAppend();
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
};
