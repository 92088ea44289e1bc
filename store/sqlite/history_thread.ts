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
  type Call,
  ERROR_BYTES,
  ERROR_OFFSET,
  KIND,
  type Reply,
  REPLY_BYTES,
  REPLY_OFFSET,
  type Request,
  REQUEST_OFFSET,
  SLOT,
} from "./thread_protocol.ts";
import { storeError } from "../store_error.ts";
import { exposeGc } from "../../runtime/idle_gc.ts";

let store: SqliteHistory | null = null;
let live = new Set<string>();
let upkeepErrors: string[] = [];
let slots: Int32Array | null = null;
let bytes: Uint8Array | null = null;
/** The newest append request answered. */
let answered = 0;
/** Messages read so far (see SLOT.mail). */
let mailRead = 0;

const collectGarbage = exposeGc();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
function serveShared(): void {
  for (;;) {
    if (slots === null || Atomics.load(slots, SLOT.mail) !== mailRead) return;
    const request = Atomics.load(slots, SLOT.request);
    if (request !== answered) {
      serveRequest(request);
      continue;
    }
    const bell = Atomics.load(slots, SLOT.bell);
    // Anything asked for after the checks above rang the bell after it was read: no lost wake-up.
    if (Atomics.load(slots, SLOT.mail) !== mailRead) return;
    if (Atomics.load(slots, SLOT.request) !== answered) continue;
    Atomics.wait(slots, SLOT.bell, bell);
  }
}

/** Runs the request `request` waiting in shared memory (an append or a call) and answers it. */
function serveRequest(request: number): void {
  if (slots === null || bytes === null) return;
  const length = Atomics.load(slots, SLOT.length);
  // A copy: decoding straight from shared memory is not allowed.
  const payload = bytes.slice(REQUEST_OFFSET, REQUEST_OFFSET + length);
  if (Atomics.load(slots, SLOT.kind) === KIND.call) serveCall(request, payload, bytes, slots);
  else {
    let status = 0;
    try {
      commit(payload);
    } catch (error) {
      const { written } = encoder.encodeInto(
        storeError(error).message.slice(0, ERROR_BYTES / 3),
        bytes.subarray(ERROR_OFFSET, ERROR_OFFSET + ERROR_BYTES),
      );
      status = Math.max(1, written);
    }
    Atomics.store(slots, SLOT.status, status);
  }
  answered = request;
  Atomics.store(slots, SLOT.done, request);
  Atomics.notify(slots, SLOT.done);
}

/** Runs a call from shared memory and writes its reply there (or posts it, if too big). */
function serveCall(request: number, payload: Uint8Array, bytes: Uint8Array, slots: Int32Array) {
  let reply: { ok: true; value: unknown } | { ok: false; error: string };
  try {
    const call = JSON.parse(decoder.decode(payload)) as Call;
    reply = { ok: true, value: run(call) };
  } catch (error) {
    reply = { ok: false, error: storeError(error).message };
  }
  const json = JSON.stringify(reply);
  const { read, written } = encoder.encodeInto(
    json,
    bytes.subarray(REPLY_OFFSET, REPLY_OFFSET + REPLY_BYTES),
  );
  if (read === json.length) Atomics.store(slots, SLOT.replyLength, written);
  else {
    self.postMessage({ ...reply, id: -request });
    Atomics.store(slots, SLOT.replyLength, -1);
  }
}

/** Runs a read or a topic write. */
function run(call: Call): unknown {
  if (store === null) throw storeError(new Error("database connection is not open"));
  switch (call.op) {
    case "recent":
      return store.recent(call.room, call.limit, call.maxBytes ?? Infinity);
    case "after":
      return store.after(call.room, call.afterId, call.limit, call.maxBytes ?? Infinity);
    case "before":
      return store.before(call.room, call.beforeId, call.limit, call.maxBytes ?? Infinity);
    case "afterOldest":
      return store.afterOldest(call.room, call.afterId, call.limit, call.maxBytes ?? Infinity);
    case "idAt":
      return store.idAt(call.room, call.tsMs);
    case "topic":
      return store.topic(call.room);
    case "setTopic":
      return store.setTopic(call.room, call.topic);
  }
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
    answered = Atomics.load(slots, SLOT.done);
    return undefined;
  }
  if (store === null) throw storeError(new Error("database connection is not open"));
  switch (request.op) {
    case "append":
      return commit(request.bytes);
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
    case "collect":
      // The server is idle and collecting its own heap: this thread's garbage goes too.
      collectGarbage?.();
      return undefined;
    default:
      return run(request);
  }
}

self.onmessage = (event: MessageEvent<Request>) => {
  const request = event.data;
  // The mail count lives in an Int32 slot, where it wraps: so does this.
  mailRead = (mailRead + 1) | 0;
  answer(request);
  // Back to sleep on the bell (unless more messages are waiting, or the store was closed).
  serveShared();
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
