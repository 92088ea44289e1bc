/**
 * {@linkcode HistoryStore} on SQLite, run on a store thread (history_thread.ts) so that no
 * commit, fsync, checkpoint, history read or upkeep ever blocks the server's event loop. The
 * engine is the same {@linkcode SqliteHistory}; this is its asynchronous front.
 *
 * - **Appends** cross in shared memory (thread_protocol.ts): one packed batch at a time, the
 *   next waiting for the one before it, so batches said while a commit is in progress are
 *   committed together (group commit). An append resolves only once its transaction committed:
 *   "acknowledged means stored" holds as before.
 * - **Reads, topics and upkeep** are messages. Upkeep runs on a timer here, because only the
 *   server thread knows which rooms are in use.
 * - **Bans, mutes and accounts** stay on a second connection on the server thread
 *   (`moderation`, `accounts`): they are read from memory and written rarely.
 *
 * @module
 */

import type { HistorySlice, HistoryStore, StoredMessage } from "../../core/ports.ts";
import { STORE_UPKEEP_BACKLOG_DELAY_MS, STORE_UPKEEP_INTERVAL_MS } from "../../config/limits.ts";
import { StoreError } from "../store_error.ts";
import { encodeBatch } from "./batch_codec.ts";
import { SqliteHistory, type SqliteHistoryOptions } from "./history.ts";
import type { SqliteModeration } from "./moderation.ts";
import type { SqliteAccounts } from "./accounts.ts";
import type { SqliteClaims } from "./claims.ts";
import {
  type Call,
  ERROR_BYTES,
  ERROR_OFFSET,
  KIND,
  type Reply,
  REPLY_BYTES,
  REPLY_OFFSET,
  type Request,
  REQUEST_BYTES,
  REQUEST_OFFSET,
  SLOT,
} from "./thread_protocol.ts";

/** How long an append may hold the event loop waiting for its commit before it waits async. */
const SYNC_WAIT_MS = 0.5;

/** How long `close` waits for the store thread to finish its work and close the file. */
const CLOSE_TIMEOUT_MS = 10_000;

/** Options for {@linkcode ThreadedHistory}. */
export interface ThreadedHistoryOptions
  extends Omit<SqliteHistoryOptions, "roomInUse" | "now" | "upkeepIntervalMs"> {
  /** The keys of the rooms in use now (never forgotten by upkeep). @default none */
  roomsInUse?: () => Iterable<string>;
  /** How often upkeep runs; 0: never. @default 600000 */
  upkeepIntervalMs?: number;
  /** Test hook: the sequence number of the last job, as if that many had run. @default 0 */
  jobsBefore?: number;
}

/** An append or a call waiting for its turn in shared memory. */
interface Job {
  kind: typeof KIND.append | typeof KIND.call;
  bytes: Uint8Array;
  done: PromiseWithResolvers<unknown>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Distributive `Omit`, so that each request keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/**
 * SQLite history on its own thread.
 *
 * @example
 * ```ts
 * const store = new ThreadedHistory({ path: ":memory:", retention: 100 });
 * await store.append([{ id: store.nextId(), room: "#lobby", from: "ann", text: "hi", ts: 0 }]);
 * (await store.recent("#lobby", 10)).messages.length; // 1
 * await store.close();
 * ```
 */
export class ThreadedHistory implements HistoryStore {
  /** The bans and mutes tables, on the server thread's own connection. */
  readonly moderation: SqliteModeration;
  /** The accounts table, on the server thread's own connection (read at start, written rarely). */
  readonly accounts: SqliteAccounts;
  /** The room claims table, on the server thread's own connection (read at start). */
  readonly claims: SqliteClaims;
  readonly #local: SqliteHistory;
  readonly #worker: Worker;
  readonly #slots: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #inMemory: boolean;
  readonly #roomsInUse: () => Iterable<string>;
  readonly #upkeepIntervalMs: number;
  readonly #onUpkeepError: (error: StoreError) => void;
  readonly #calls = new Map<number, PromiseWithResolvers<unknown>>();
  /** Big replies that came before the wake-up announcing them (at most one job is in flight). */
  readonly #early = new Map<number, Reply>();
  readonly #jobs: Job[] = [];
  #busy = false;
  /** The newest job asked for. */
  #last: Job | null = null;
  #requested = 0;
  #callId = 0;
  #unsavedNextId = 0;
  #failure: StoreError | null = null;
  #upkeepTimer: ReturnType<typeof setTimeout> | undefined;
  #closing: Promise<void> | null = null;
  readonly #started: Promise<unknown>;

  /**
   * Opens the database on this thread first (so that an unusable file is refused here, at
   * once, with a StoreError naming the cause), then starts the store thread on it.
   */
  constructor(options: ThreadedHistoryOptions) {
    // The server thread's connection: the schema, the id counter (read once), bans and mutes.
    this.#local = new SqliteHistory({ ...options, upkeepIntervalMs: 0 });
    this.moderation = this.#local.moderation;
    this.accounts = this.#local.accounts;
    this.claims = this.#local.claims;
    this.#inMemory = options.path === ":memory:";
    this.#roomsInUse = options.roomsInUse ?? (() => []);
    this.#upkeepIntervalMs = options.upkeepIntervalMs ?? STORE_UPKEEP_INTERVAL_MS;
    this.#onUpkeepError = options.onUpkeepError ?? (() => {});
    this.#requested = options.jobsBefore ?? 0;
    const shared = new SharedArrayBuffer(REPLY_OFFSET + REPLY_BYTES);
    this.#slots = new Int32Array(shared);
    this.#bytes = new Uint8Array(shared);
    Atomics.store(this.#slots, SLOT.request, this.#requested);
    Atomics.store(this.#slots, SLOT.done, this.#requested);
    this.#worker = new Worker(new URL("./history_thread.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent<Reply>) => this.#answer(event.data);
    this.#worker.onerror = (event) => {
      // An uncaught error there must not take this thread down with it.
      event.preventDefault();
      this.#fail(`the store thread stopped (${event.message})`);
    };
    this.#started = this.#call({
      op: "open",
      settings: {
        path: options.path,
        retention: options.retention,
        sync: options.sync ?? "normal",
        maxBytes: options.maxBytes ?? 0,
        maxAgeMs: options.maxAgeMs ?? 0,
        fault: options.fault,
      },
      shared,
    });
    this.#started.catch((error) => this.#fail((error as Error).message));
    this.#scheduleUpkeep(this.#upkeepIntervalMs);
  }

  /** {@inheritDoc HistoryStore.append} */
  append(messages: readonly StoredMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const unsaved = this.#unsavedNextId;
    this.#unsavedNextId = 0;
    return this.#queue(KIND.append, encodeBatch(messages, unsaved)) as Promise<void>;
  }

  /** {@inheritDoc HistoryStore.saveNextId} */
  saveNextId(nextId: number): void {
    this.#unsavedNextId = Math.max(this.#unsavedNextId, nextId);
  }

  /** {@inheritDoc HistoryStore.nextId} */
  nextId(): number {
    return this.#local.nextId();
  }

  /** {@inheritDoc HistoryStore.newestTs} */
  newestTs(): number {
    return this.#local.newestTs();
  }

  /** {@inheritDoc HistoryStore.recent} */
  recent(room: string, limit: number, maxBytes = Infinity): Promise<HistorySlice> {
    return this.#shared({ op: "recent", room, limit, maxBytes: finite(maxBytes) }) as Promise<
      HistorySlice
    >;
  }

  /** {@inheritDoc HistoryStore.after} */
  after(room: string, afterId: number, limit: number, maxBytes = Infinity): Promise<HistorySlice> {
    const call: Call = { op: "after", room, afterId, limit, maxBytes: finite(maxBytes) };
    return this.#shared(call) as Promise<HistorySlice>;
  }

  /** {@inheritDoc HistoryStore.before} */
  before(
    room: string,
    beforeId: number,
    limit: number,
    maxBytes = Infinity,
  ): Promise<HistorySlice> {
    const call: Call = { op: "before", room, beforeId, limit, maxBytes: finite(maxBytes) };
    return this.#shared(call) as Promise<HistorySlice>;
  }

  /** {@inheritDoc HistoryStore.afterOldest} */
  afterOldest(
    room: string,
    afterId: number,
    limit: number,
    maxBytes = Infinity,
  ): Promise<HistorySlice> {
    const call: Call = { op: "afterOldest", room, afterId, limit, maxBytes: finite(maxBytes) };
    return this.#shared(call) as Promise<HistorySlice>;
  }

  /** {@inheritDoc HistoryStore.idAt} */
  idAt(room: string, tsMs: number): Promise<number> {
    // With no match, the store thread's next id: past every stored message, though it may not
    // yet count ids handed out here for DMs (which are never stored).
    return this.#shared({ op: "idAt", room, tsMs }) as Promise<number>;
  }

  /** {@inheritDoc HistoryStore.topic} */
  topic(room: string): Promise<string> {
    return this.#shared({ op: "topic", room }) as Promise<string>;
  }

  /** {@inheritDoc HistoryStore.setTopic} */
  async setTopic(room: string, topic: string): Promise<void> {
    await this.#shared({ op: "setTopic", room, topic });
  }

  /**
   * One upkeep run on the store thread (see {@linkcode SqliteHistory.upkeep}); failures go to
   * `onUpkeepError`. True if a backlog remains.
   */
  async upkeep(): Promise<boolean> {
    const live = Array.from(this.#roomsInUse());
    const nextId = this.#unsavedNextId;
    this.#unsavedNextId = 0;
    // Bans and mutes are on this thread's connection only when nothing is shared through a file.
    if (this.#inMemory) this.#local.upkeep();
    return await this.#call({ op: "upkeep", live, nextId }) as boolean;
  }

  /** Asks the store thread to collect its heap (when the server is idle and collects its own). */
  collectGarbage(): void {
    this.#call({ op: "collect" }).catch(() => {});
  }

  /**
   * Finishes the appends already asked for, writes the id counter, closes the file and stops
   * the store thread. Resolves when all that is done (or after a timeout).
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    clearTimeout(this.#upkeepTimer);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const finished = (async () => {
        // The jobs first: they settle in order, so the last one settles last. Their failures
        // were their callers' to hear.
        await this.#last?.done.promise.catch(() => {});
        if (this.#failure === null) {
          await this.#call({ op: "close", nextId: this.#unsavedNextId }).catch(() => {});
        }
      })();
      await Promise.race([
        finished,
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS))),
      ]);
    } finally {
      clearTimeout(timer);
      this.#worker.terminate();
      // terminate() does not wake a worker asleep in Atomics.wait: mail and the bell do.
      Atomics.add(this.#slots, SLOT.mail, 1);
      this.#ring();
      this.#fail("the database is closed");
      this.#local.close();
    }
  }

  /** A read or a topic write, through shared memory. */
  #shared(call: Call): Promise<unknown> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return this.#queue(KIND.call, encoder.encode(JSON.stringify(call)));
  }

  /** Queues a job for shared memory; they run one at a time, in order. */
  #queue(kind: Job["kind"], bytes: Uint8Array): Promise<unknown> {
    const job: Job = { kind, bytes, done: Promise.withResolvers<unknown>() };
    this.#jobs.push(job);
    this.#last = job;
    if (!this.#busy) this.#sendNext();
    return job.done.promise;
  }

  /** Writes the next job into shared memory and wakes the store thread. */
  #sendNext(): void {
    const job = this.#jobs.shift();
    if (job === undefined) {
      this.#busy = false;
      return;
    }
    if (this.#failure !== null) {
      job.done.reject(this.#failure);
      this.#sendNext();
      return;
    }
    this.#busy = true;
    if (job.bytes.length > REQUEST_BYTES) {
      // Too big for shared memory (only a batch can be): the same bytes, as a message.
      this.#call({ op: "append", bytes: job.bytes }).then(
        () => this.#settle(job, 0),
        (error) => this.#settle(job, 0, error as StoreError),
      );
      return;
    }
    const slots = this.#slots;
    this.#bytes.set(job.bytes, REQUEST_OFFSET);
    Atomics.store(slots, SLOT.length, job.bytes.length);
    Atomics.store(slots, SLOT.kind, job.kind);
    // Sequence numbers live in Int32 slots: they go round from 2^31 - 1 back to 1 (never 0, the
    // worker's start, nor negative, which marks a big reply), and the wait is on the last one.
    const before = this.#requested;
    const request = before >= 0x7fffffff ? 1 : before + 1;
    this.#requested = request;
    Atomics.store(slots, SLOT.request, request);
    this.#ring();
    // A commit on a healthy disk takes tens of microseconds: wait for it here, briefly, which
    // costs less than a trip through the event loop; past that, wait without blocking.
    if (Atomics.wait(slots, SLOT.done, before, SYNC_WAIT_MS) !== "timed-out") {
      this.#settle(job, request);
      return;
    }
    const waiting = Atomics.waitAsync(slots, SLOT.done, before);
    const answered = () => {
      // Woken without an answer: the store thread failed (see #fail).
      if (Atomics.load(slots, SLOT.done) !== request) {
        this.#settle(job, 0, this.#failure ?? new StoreError("the store thread stopped"));
      } else this.#settle(job, request);
    };
    if (waiting.async) void waiting.value.then(answered);
    else answered();
  }

  /**
   * Settles a job from what the store thread wrote for `request` in shared memory (0: it was
   * sent as a message, and `error` is its failure, if any), then sends the next.
   */
  #settle(job: Job, request: number, error?: StoreError): void {
    if (error !== undefined) job.done.reject(error);
    else if (request === 0) job.done.resolve(undefined);
    else if (job.kind === KIND.append) {
      const status = Atomics.load(this.#slots, SLOT.status);
      if (status === 0) job.done.resolve(undefined);
      else {
        const text = decoder.decode(
          this.#bytes.slice(ERROR_OFFSET, ERROR_OFFSET + Math.min(status, ERROR_BYTES)),
        );
        job.done.reject(new StoreError(text));
      }
    } else {
      const length = Atomics.load(this.#slots, SLOT.replyLength);
      if (length < 0) {
        // Too big for shared memory: it comes as a message, under the request's number negated
        // (perhaps already here).
        this.#calls.set(-request, job.done);
        const early = this.#early.get(-request);
        if (early !== undefined) {
          this.#early.delete(-request);
          this.#answer(early);
        }
      } else {
        const reply = JSON.parse(
          decoder.decode(this.#bytes.slice(REPLY_OFFSET, REPLY_OFFSET + length)),
        ) as Reply;
        if (reply.ok) job.done.resolve(reply.value);
        else job.done.reject(new StoreError(reply.error));
      }
    }
    this.#sendNext();
  }

  /** Sends a request to the store thread; resolves with its answer. */
  #call(request: WithoutId<Request>): Promise<unknown> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const id = ++this.#callId;
    const call = Promise.withResolvers<unknown>();
    this.#calls.set(id, call);
    this.#worker.postMessage({ ...request, id });
    // The store thread may be asleep on the bell: tell it there is mail.
    Atomics.add(this.#slots, SLOT.mail, 1);
    this.#ring();
    return call.promise;
  }

  /** Wakes the store thread. */
  #ring(): void {
    Atomics.add(this.#slots, SLOT.bell, 1);
    Atomics.notify(this.#slots, SLOT.bell);
  }

  #answer(reply: Reply): void {
    const call = this.#calls.get(reply.id);
    if (call === undefined) {
      // A reply too big for shared memory may arrive before the wake-up that says so.
      if (reply.id < 0) this.#early.set(reply.id, reply);
      return;
    }
    this.#calls.delete(reply.id);
    if (reply.ok) {
      for (const message of reply.errors ?? []) this.#onUpkeepError(new StoreError(message));
      call.resolve(reply.value);
    } else call.reject(new StoreError(reply.error));
  }

  /** Fails everything waiting and everything asked for from now on, with `cause`. */
  #fail(cause: string): void {
    if (this.#failure !== null) return;
    const failure = this.#failure = new StoreError(cause);
    for (const call of this.#calls.values()) call.reject(failure);
    this.#calls.clear();
    // The job in shared memory (if any) may never be answered now.
    if (this.#busy) Atomics.notify(this.#slots, SLOT.done);
  }

  #scheduleUpkeep(delay: number): void {
    if (this.#upkeepIntervalMs === 0 || this.#closing !== null) return;
    this.#upkeepTimer = setTimeout(async () => {
      let more = false;
      try {
        more = await this.upkeep();
      } catch (error) {
        this.#onUpkeepError(error as StoreError);
      }
      this.#scheduleUpkeep(more ? STORE_UPKEEP_BACKLOG_DELAY_MS : this.#upkeepIntervalMs);
    }, delay);
    // Upkeep alone must not keep a process alive.
    Deno.unrefTimer(this.#upkeepTimer);
  }
}

/** A byte limit as JSON can carry it: null for none. */
function finite(maxBytes: number): number | null {
  return Number.isFinite(maxBytes) ? maxBytes : null;
}
