/**
 * What the server thread and the store thread say to each other (threaded.ts and
 * history_thread.ts). Appends, the hot path, go through shared memory: the server thread writes
 * one packed batch (batch_codec.ts) and rings a bell (`Atomics.notify`); the store thread, asleep
 * on the bell in `Atomics.wait`, commits it and answers the same way. A round trip so costs a few
 * microseconds, where a `postMessage` costs tens. Everything else (reads, topics, upkeep, close)
 * is a message, and rings the bell too, so that the store thread leaves its wait to read it.
 *
 * @module
 */

import type { StoreFault, SyncMode } from "./db.ts";

/** Int32 slots at the start of the shared buffer. */
export const SLOT = {
  /** Sequence number of the newest append request written (server thread). */
  request: 0,
  /** Sequence number of the newest append answered (store thread). */
  done: 1,
  /** Bytes of the request. */
  length: 2,
  /** 0 when the append committed, else the bytes of the error's message. */
  status: 3,
  /** Messages posted to the store thread (server thread). */
  mail: 4,
  /** Rung for every append request and every message: the store thread sleeps on it. */
  bell: 5,
  /** What the request in shared memory is: {@linkcode KIND}. */
  kind: 6,
  /** A call's reply: its bytes at {@linkcode REPLY_OFFSET}, or -1 if it came as a message. */
  replyLength: 7,
} as const;

/** Kinds of request in shared memory. */
export const KIND = {
  /** A packed batch (batch_codec.ts); answered in `status`. */
  append: 0,
  /** A {@linkcode Call} as JSON; answered with a {@linkcode Reply} as JSON. */
  call: 1,
} as const;

/** Where the error message of a failed append is written. */
export const ERROR_OFFSET = 64;
/** Room for that message. */
export const ERROR_BYTES = 1024;
/** Where the request bytes start. */
export const REQUEST_OFFSET: number = ERROR_OFFSET + ERROR_BYTES;
/**
 * Room for one packed batch in shared memory (pages are touched only as far as batches reach).
 * A bigger batch, which takes many maximum-size messages at once, goes as a message instead.
 */
export const REQUEST_BYTES = 4 * 1024 * 1024;
/** Where a call's reply is written. */
export const REPLY_OFFSET: number = REQUEST_OFFSET + REQUEST_BYTES;
/** Room for a reply; a bigger one comes as a message instead. */
export const REPLY_BYTES = 4 * 1024 * 1024;

/** The engine's settings, as they cross to the store thread (no functions). */
export interface ThreadSettings {
  /** Database file, or `:memory:`. */
  path: string;
  /** Messages kept per room. */
  retention: number;
  /** How hard each commit is pushed to disk. */
  sync: SyncMode;
  /** Byte cap (0: none). */
  maxBytes: number;
  /** Age limit in ms (0: none). */
  maxAgeMs: number;
  /** A simulated fault, for tests. */
  fault?: StoreFault;
}

/**
 * A read or a topic write, sent through shared memory as JSON (`maxBytes` null: no limit, since
 * JSON has no Infinity).
 */
export type Call =
  | { op: "recent"; room: string; limit: number; maxBytes: number | null }
  | { op: "after"; room: string; afterId: number; limit: number; maxBytes: number | null }
  | { op: "before"; room: string; beforeId: number; limit: number; maxBytes: number | null }
  | { op: "afterOldest"; room: string; afterId: number; limit: number; maxBytes: number | null }
  | { op: "idAt"; room: string; tsMs: number }
  | { op: "topic"; room: string }
  | { op: "setTopic"; room: string; topic: string };

/** A message to the store thread. Every one is answered with a {@linkcode Reply} of its `id`. */
export type Request =
  | { op: "open"; id: number; settings: ThreadSettings; shared: SharedArrayBuffer }
  | { op: "append"; id: number; bytes: Uint8Array }
  | { op: "upkeep"; id: number; live: string[]; nextId: number }
  | { op: "close"; id: number; nextId: number }
  | { op: "collect"; id: number }
  | (Call & { id: number });

/**
 * The store thread's answer: a value, or the failure's message (a StoreError's clause). A
 * call's reply too big for shared memory comes as a message with `id` the request's number,
 * negated.
 */
export type Reply =
  | { id: number; ok: true; value?: unknown; errors?: string[] }
  | { id: number; ok: false; error: string };
