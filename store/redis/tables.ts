/**
 * The record tables of a cluster node (bans, mutes, accounts, room claims) over Redis hashes
 * (`sc:bans`, `sc:mutes`, `sc:accounts`, `sc:claims`; field = the record's key, value its
 * JSON). The core reads a table once, at start, and writes through on every change, without
 * waiting (its ports are synchronous): so each table keeps a cache, filled by
 * {@linkcode RedisTables.open} before the hub starts. A save or delete updates the cache,
 * writes to Redis in the background (a write that fails while Redis is away is kept and
 * written again once it is back; errors are reported, never thrown) and publishes a `record`
 * event so every other node applies it from the log. Changes other nodes made come back to
 * the cache through {@linkcode RedisTables.applyRemote}; after Redis came back empty,
 * {@linkcode RedisTables.reseed} writes the cache back (HSETNX: what another node wrote since
 * wins).
 *
 * @module
 */

import type { ClusterEvent, RecordChange } from "../../core/cluster.ts";
import type {
  AccountRecord,
  AccountStore,
  AccountTable,
  Ban,
  BanStore,
  Mute,
  MuteStore,
  RecordTable,
} from "../../core/ports.ts";
import type { ClaimRecord, ClaimStore, ClaimTable } from "../../core/room_claims.ts";
import type { RedisConn } from "../../cluster/redis_conn.ts";
import { ACCOUNTS_KEY, BANS_KEY, CLAIMS_KEY, MUTES_KEY } from "../../cluster/keys.ts";

/** Options for {@linkcode RedisTables.open}. */
export interface RedisTablesOptions {
  /** Publishes a change for the other nodes (the bus's `publish`). */
  publish: (event: ClusterEvent) => void;
  /** Told when a write failed (it is kept and tried again when Redis is back). */
  onError?: (message: string) => void;
}

/** One hash and its cache, keyed by each record's field. */
class HashCache<T> {
  readonly hash: string;
  readonly #conn: RedisConn;
  readonly #onError: (message: string) => void;
  readonly records = new Map<string, T>();
  /** Writes that failed, by field (null: a delete), written again when Redis is back. */
  readonly #pending = new Map<string, string | null>();
  /** Writes on their way. */
  readonly inflight = new Set<Promise<unknown>>();

  constructor(conn: RedisConn, hash: string, onError: (message: string) => void) {
    this.#conn = conn;
    this.hash = hash;
    this.#onError = onError;
  }

  async load(): Promise<void> {
    const reply = await this.#conn.command(["HGETALL", this.hash]);
    if (!Array.isArray(reply)) return;
    for (let i = 0; i + 1 < reply.length; i += 2) {
      try {
        this.records.set(String(reply[i]), JSON.parse(String(reply[i + 1])) as T);
      } catch {
        this.#onError(`${this.hash} field ${reply[i]} is not JSON; it was left out`);
      }
    }
  }

  /** Saves in the cache and writes through in the background. */
  put(field: string, record: T): void {
    this.records.set(field, structuredClone(record));
    this.#write(field, JSON.stringify(record));
  }

  /** Deletes from the cache and from Redis in the background. */
  drop(field: string): void {
    this.records.delete(field);
    this.#write(field, null);
  }

  list(): T[] {
    return [...this.records.values()].map((r) => structuredClone(r));
  }

  /** Writes back the writes that failed. */
  retry(): void {
    for (const [field, value] of [...this.#pending]) {
      this.#pending.delete(field);
      this.#write(field, value);
    }
  }

  /** Writes every cached record that Redis lacks (HSETNX). */
  async reseed(): Promise<void> {
    await Promise.all(
      [...this.records].map(([field, record]) =>
        this.#conn.command(["HSETNX", this.hash, field, JSON.stringify(record)])
      ),
    );
  }

  #write(field: string, value: string | null): void {
    const command = value === null ? ["HDEL", this.hash, field] : ["HSET", this.hash, field, value];
    const write = this.#conn.command(command).catch((error: Error) => {
      // A newer write of the same field supersedes this one.
      if (!this.#pending.has(field)) this.#pending.set(field, value);
      this.#onError(`${this.hash} ${field} not written yet: ${error.message}`);
    });
    this.inflight.add(write);
    write.finally(() => this.inflight.delete(write));
  }
}

/** The field of a ban or mute: its kind and target. */
function recordField(kind: string, target: string): string {
  return `${kind}:${target}`;
}

/** Bans or mutes as a {@linkcode RecordTable} over one hash, publishing each change. */
class RecordHash<T extends { kind: string; target: string }> implements RecordTable<T> {
  readonly #cache: HashCache<T>;
  readonly #saved: (record: T) => void;
  readonly #deleted: (kind: T["kind"], target: string) => void;

  constructor(
    cache: HashCache<T>,
    saved: (record: T) => void,
    deleted: (kind: T["kind"], target: string) => void,
  ) {
    this.#cache = cache;
    this.#saved = saved;
    this.#deleted = deleted;
  }

  load(): T[] {
    return this.#cache.list();
  }

  save(record: T): void {
    this.#cache.put(recordField(record.kind, record.target), record);
    this.#saved(record);
  }

  delete(kind: T["kind"], target: string): void {
    this.#cache.drop(recordField(kind, target));
    this.#deleted(kind, target);
  }
}

/** The cluster's record tables; see the module documentation. */
export class RedisTables implements AccountStore, ClaimStore {
  /** Bans and mutes, for the `BanList`. */
  readonly moderation: BanStore & MuteStore;
  /** {@inheritDoc AccountStore.accounts} */
  readonly accounts: AccountTable;
  /** {@inheritDoc ClaimStore.claims} */
  readonly claims: ClaimTable;
  readonly #bans: HashCache<Ban>;
  readonly #mutes: HashCache<Mute>;
  readonly #accounts: HashCache<AccountRecord>;
  readonly #claims: HashCache<ClaimRecord>;
  readonly #stopRetry: () => void;

  private constructor(conn: RedisConn, options: RedisTablesOptions) {
    const onError = options.onError ?? (() => {});
    const publish = (change: RecordChange) => options.publish({ t: "record", change });
    this.#bans = new HashCache<Ban>(conn, BANS_KEY, onError);
    this.#mutes = new HashCache<Mute>(conn, MUTES_KEY, onError);
    this.#accounts = new HashCache<AccountRecord>(conn, ACCOUNTS_KEY, onError);
    this.#claims = new HashCache<ClaimRecord>(conn, CLAIMS_KEY, onError);
    this.moderation = {
      bans: new RecordHash<Ban>(
        this.#bans,
        (record) => publish({ table: "bans", op: "save", record }),
        (kind, target) => publish({ table: "bans", op: "delete", kind, target }),
      ),
      mutes: new RecordHash<Mute>(
        this.#mutes,
        (record) => publish({ table: "mutes", op: "save", record }),
        (kind, target) => publish({ table: "mutes", op: "delete", kind, target }),
      ),
    };
    const accounts = this.#accounts;
    this.accounts = {
      load: () => accounts.list(),
      save(record) {
        accounts.put(record.key, record);
        publish({ table: "accounts", op: "save", record });
      },
      delete(key) {
        accounts.drop(key);
        publish({ table: "accounts", op: "delete", key });
      },
    };
    const claims = this.#claims;
    this.claims = {
      load: () => claims.list(),
      save(record) {
        claims.put(record.roomKey, record);
        publish({ table: "claims", op: "save", record });
      },
      delete(key) {
        claims.drop(key);
        publish({ table: "claims", op: "delete", key });
      },
    };
    this.#stopRetry = conn.onReady(() => {
      for (const cache of this.#caches()) cache.retry();
    });
  }

  /**
   * Loads the four hashes into the cache (before the hub starts: it reads them at once).
   * Rejects with a StoreError when Redis cannot be reached.
   */
  static async open(conn: RedisConn, options: RedisTablesOptions): Promise<RedisTables> {
    const tables = new RedisTables(conn, options);
    try {
      await Promise.all(tables.#caches().map((cache) => cache.load()));
    } catch (error) {
      tables.close();
      throw error;
    }
    return tables;
  }

  /** Applies a change another node made (from the log) to the cache. Never throws. */
  applyRemote(change: RecordChange): void {
    switch (change.table) {
      case "bans":
        if (change.op === "save") {
          this.#bans.records.set(recordField(change.record.kind, change.record.target), {
            ...change.record,
          });
        } else this.#bans.records.delete(recordField(change.kind, change.target));
        return;
      case "mutes":
        if (change.op === "save") {
          this.#mutes.records.set(recordField(change.record.kind, change.record.target), {
            ...change.record,
          });
        } else this.#mutes.records.delete(recordField(change.kind, change.target));
        return;
      case "accounts":
        if (change.op === "save") {
          this.#accounts.records.set(change.record.key, { ...change.record });
        } else this.#accounts.records.delete(change.key);
        return;
      case "claims":
        if (change.op === "save") {
          this.#claims.records.set(change.record.roomKey, structuredClone(change.record));
        } else this.#claims.records.delete(change.key);
        return;
    }
  }

  /**
   * Writes every cached record Redis lacks (after Redis came back empty). Rejects when Redis
   * cannot be reached.
   */
  async reseed(): Promise<void> {
    await Promise.all(this.#caches().map((cache) => cache.reseed()));
  }

  /** Resolves once the writes started so far have succeeded or failed (for tests, shutdown). */
  async settled(): Promise<void> {
    while (true) {
      const writes = this.#caches().flatMap((cache) => [...cache.inflight]);
      if (writes.length === 0) return;
      await Promise.all(writes);
    }
  }

  /** Stops retrying failed writes. */
  close(): void {
    this.#stopRetry();
  }

  #caches(): HashCache<unknown>[] {
    return [this.#bans, this.#mutes, this.#accounts, this.#claims] as HashCache<unknown>[];
  }
}
