/**
 * `--max-db-bytes` in cluster mode: a byte budget for sockchat's history in Redis, so that one
 * flood cannot fill Redis's `maxmemory` and take down what must keep working (leases, nick
 * claims, logins, the sweeps' own locks). The budget B splits into the room streams (B − B/8)
 * and the shared log (B/8, see {@linkcode LOG_BUDGET_DIVISOR}).
 *
 * How the bytes are known: exactly, and without a walk. Each room keeps in its meta hash the
 * bytes ever appended to it (`bytes`), and each stream entry carries in its field `c` that
 * count from before it; so what a room holds is `bytes − c(first entry)`, one `XRANGE COUNT 1`,
 * whatever trimmed it (`MAXLEN ~`, `--max-age`, this budget). The total over rooms (`sc:bytes`)
 * is kept by every script that adds or trims: each looks at what the rooms it touched hold
 * before and after and adds the difference, inside the same atomic step, so the total never
 * drifts from the streams (nor across a Redis restart from its own AOF or RDB). A message is
 * charged its stored JSON plus {@linkcode HISTORY_ENTRY_OVERHEAD_BYTES}. (`MEMORY USAGE`
 * sampled per room was the other way: approximate, one call per room, and no total to check
 * an append against at once.)
 *
 * What happens at the marks, like SQLite's prune (store/sqlite/bounds.ts): past the high-water
 * mark (90%) the oldest messages of any room are deleted (oldest first across rooms, found
 * through the `sc:heads` sorted set of each room's first id) down to the low-water mark (80%),
 * in short scripts, by whichever nodes see it: after an append that crossed the mark, or at the
 * next {@linkcode BUDGET_CHECK_MS} look. An append that would pass the room budget itself is
 * refused before it writes anything (`store_failed`, a sentence naming the budget), so Redis
 * itself never runs out of memory because of history. The log is trimmed by the append script
 * (oldest entries first) past its share.
 *
 * @module
 */

import type { RedisConn, Reply } from "../../cluster/redis_conn.ts";
import { Script } from "../../cluster/redis_conn.ts";
import { KEY_PREFIX } from "../../cluster/keys.ts";
import {
  BUDGET_CHECK_MS,
  BUDGET_HIGH_WATER,
  BUDGET_LOW_WATER,
  BUDGET_TRIM_BATCH,
  HISTORY_ENTRY_OVERHEAD_BYTES,
  LOG_BUDGET_DIVISOR,
} from "../../config/cluster_limits.ts";
import { StoreError, storeError } from "../store_error.ts";

/** Bytes the room streams hold, in total (what the budget is checked against). */
const BYTES_KEY = `${KEY_PREFIX}bytes`;
/** Each room's first (oldest) id, by room key: where the oldest messages are. */
const HEADS_KEY = `${KEY_PREFIX}heads`;
/** Bytes ever appended to the log in this epoch (each log batch entry's `c` is from before it). */
const LOG_BYTES_KEY = `${KEY_PREFIX}logbytes`;
/** The `c` of the log's first counted entry at the last look (never above the real one). */
const LOG_FLOOR_KEY = `${KEY_PREFIX}logfloor`;

/** The first element of the append script's reply when the budget refused the batch. */
const BUDGET_FULL = "!full";

/** The room streams' share of a budget of `maxBytes`. */
export function roomBudget(maxBytes: number): number {
  return maxBytes - Math.floor(maxBytes / LOG_BUDGET_DIVISOR);
}

/**
 * Lua helpers shared by the scripts that add to or trim the room streams and the log (the
 * append, the age sweep's trim, the budget's trim). They name their keys themselves (all under
 * `sc:`), as the bus's scripts do, so a script needs no new KEYS to keep the count.
 */
export const BUDGET_LUA = `
local function budget_fmt(x) return string.format('%.0f', x) end
local function budget_c(e)
  for i = 1, #e[2], 2 do
    if e[2][i] == 'c' then return tonumber(e[2][i + 1]) end
  end
  return nil
end
local function budget_id(e) return tonumber(string.match(e[1], '^(%d+)')) end
-- What a room's stream holds: bytes ever appended minus those before its first entry.
local function budget_held(skey, mkey)
  local f = redis.call('XRANGE', skey, '-', '+', 'COUNT', 1)
  if #f == 0 then return 0, nil end
  local bytes = tonumber(redis.call('HGET', mkey, 'bytes') or '0')
  return bytes - (budget_c(f[1]) or 0), budget_id(f[1])
end
-- After a change to a room's stream: the total follows, and the room's head is known.
local function budget_settle(skey, mkey, before)
  local after, first = budget_held(skey, mkey)
  local total = redis.call('INCRBY', '${BYTES_KEY}', after - before)
  local room = string.sub(skey, ${KEY_PREFIX.length + 6})
  if first == nil then
    redis.call('ZREM', '${HEADS_KEY}', room)
  else
    redis.call('ZADD', '${HEADS_KEY}', first, room)
  end
  return total
end
-- Refuses a batch of n messages, body bytes 'bodies', that would pass the rooms' budget.
local function budget_admit(maxBytes, bodies, n)
  if maxBytes <= 0 then return nil end
  local cap = maxBytes - math.floor(maxBytes / ${LOG_BUDGET_DIVISOR})
  local total = tonumber(redis.call('GET', '${BYTES_KEY}') or '0')
  local incoming = bodies + n * (${HISTORY_ENTRY_OVERHEAD_BYTES} + 48)
  if total + incoming > cap then return {'${BUDGET_FULL}', budget_fmt(total)} end
  return nil
end
-- Charges a room one entry of 'size' bytes; returns its 'c' (the room's bytes before it).
local function budget_charge(mkey, size)
  local charged = size + ${HISTORY_ENTRY_OVERHEAD_BYTES}
  return budget_fmt(redis.call('HINCRBY', mkey, 'bytes', charged) - charged)
end
local function budget_log_charge(size)
  local charged = size + ${HISTORY_ENTRY_OVERHEAD_BYTES}
  return budget_fmt(redis.call('INCRBY', '${LOG_BYTES_KEY}', charged) - charged)
end
-- Trims the log's oldest entries once it holds more than its share (down to 3/4 of it). The
-- log's first counted entry is known from the last look ('logfloor': MAXLEN only moves it on,
-- so the estimate is never low): within its share, this costs one GET.
local function budget_log_trim(lkey, maxBytes)
  if maxBytes <= 0 then return end
  local cap = math.floor(maxBytes / ${LOG_BUDGET_DIVISOR})
  local total = tonumber(redis.call('GET', '${LOG_BYTES_KEY}') or '0')
  if total - tonumber(redis.call('GET', '${LOG_FLOOR_KEY}') or '0') <= cap then return end
  local from = '-'
  local checked = false
  local last = nil
  for round = 1, 32 do
    local es = redis.call('XRANGE', lkey, from, '+', 'COUNT', 16)
    if #es == 0 then break end
    for j = 1, #es do
      local c = budget_c(es[j])
      if c ~= nil then
        if not checked then
          checked = true
          redis.call('SET', '${LOG_FLOOR_KEY}', budget_fmt(c))
          if total - c <= cap then return end
        end
        if total - c <= math.floor(cap * 3 / 4) then
          redis.call('XTRIM', lkey, 'MINID', es[j][1])
          redis.call('SET', '${LOG_FLOOR_KEY}', budget_fmt(c))
          return
        end
      end
    end
    last = es[#es][1]
    from = '(' .. last
  end
  -- Far over (a share of a few entries): what was walked goes; the next append goes on.
  if last ~= nil then redis.call('XTRIM', lkey, 'MINID', last) end
end
`;

/**
 * Deletes the oldest messages of any room while the rooms hold more than ARGV[1] bytes, at
 * most ARGV[2] of them. Returns the total left and the messages deleted.
 */
const BUDGET_TRIM = new Script(
  BUDGET_LUA + `
local target = tonumber(ARGV[1])
local left = tonumber(ARGV[2])
local total = tonumber(redis.call('GET', '${BYTES_KEY}') or '0')
local deleted = 0
for step = 1, 4 * left do
  if total <= target or left <= 0 then break end
  local heads = redis.call('ZRANGE', '${HEADS_KEY}', 0, 1, 'WITHSCORES')
  if #heads == 0 then break end
  local room = heads[1]
  local score = tonumber(heads[2])
  local other = math.huge
  if #heads >= 4 then other = tonumber(heads[4]) end
  local skey = '${KEY_PREFIX}room:' .. room
  local mkey = skey .. ':meta'
  local before, first = budget_held(skey, mkey)
  if first == nil then
    redis.call('ZREM', '${HEADS_KEY}', room)
  elseif first > score then
    -- Trimmed since (retention, age): the head moved on; look again.
    redis.call('ZADD', '${HEADS_KEY}', first, room)
  else
    -- This room holds the oldest message: delete from it while its messages are older than
    -- every other room's first (only those are read), and the total is still over.
    local upto = '+'
    if other ~= math.huge then upto = '(' .. budget_fmt(other) .. '-0' end
    local es = redis.call('XRANGE', skey, '-', upto, 'COUNT', math.min(left, 32))
    local need = total - target
    local cut = budget_fmt(first + 1) .. '-0'
    if #es > 0 then
      local c1 = budget_c(es[1]) or 0
      -- Past the last one read unless the count or the bytes are reached first.
      cut = budget_fmt(budget_id(es[#es]) + 1) .. '-0'
      for j = 2, #es do
        if ((budget_c(es[j]) or 0) - c1) >= need then
          cut = es[j][1]
          break
        end
      end
    end
    local n
    n = redis.call('XTRIM', skey, 'MINID', cut)
    deleted = deleted + n
    left = left - n
    total = budget_settle(skey, mkey, before)
  end
end
return {budget_fmt(total), deleted}
`,
);

/** Options for {@linkcode HistoryBudget}. */
export interface HistoryBudgetOptions {
  /** `--max-db-bytes`: what the history may hold in Redis; 0: no budget. */
  maxBytes: number;
  /** How often the total is looked at; 0: only after appends. @default BUDGET_CHECK_MS */
  checkMs?: number;
  /** Told when trimming fails (it is tried again at the next look). @default nothing */
  onError?: (error: StoreError) => void;
}

/** One node's side of the history budget; see the module documentation. */
export class HistoryBudget {
  /** The budget (`--max-db-bytes`), passed to the append script; 0: none. */
  readonly maxBytes: number;
  readonly #conn: RedisConn;
  readonly #high: number;
  readonly #low: number;
  readonly #onError: (error: StoreError) => void;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #trimming: Promise<number> | null = null;
  #closed = false;

  /** The budget of `options.maxBytes` for the history on `conn`. */
  constructor(conn: RedisConn, options: HistoryBudgetOptions) {
    this.#conn = conn;
    this.maxBytes = Number.isFinite(options.maxBytes) && options.maxBytes > 0
      ? Math.floor(options.maxBytes)
      : 0;
    const rooms = roomBudget(this.maxBytes);
    this.#high = Math.floor(rooms * BUDGET_HIGH_WATER);
    this.#low = Math.floor(rooms * BUDGET_LOW_WATER);
    this.#onError = options.onError ?? (() => {});
    const every = options.checkMs ?? BUDGET_CHECK_MS;
    if (this.maxBytes > 0 && every > 0) {
      this.#timer = setInterval(() => void this.#look(), every);
      // The budget's look alone must not keep a process alive.
      Deno.unrefTimer(this.#timer);
    }
  }

  /**
   * Reads the append script's reply: throws a StoreError when the budget refused the batch,
   * and starts trimming when `total` (the rooms' bytes after it) is past the high-water mark.
   */
  admitted(reply: Reply, total?: string): void {
    if (Array.isArray(reply) && reply[0] === BUDGET_FULL) {
      void this.trim();
      throw new StoreError(
        `the chat's history has reached its --max-db-bytes budget of ${shownBytes(this.maxBytes)}` +
          "; the oldest messages are being deleted to make room, so try again in a moment",
      );
    }
    if (this.maxBytes > 0 && total !== undefined && Number(total) > this.#high) void this.trim();
  }

  /**
   * Deletes the oldest messages of any room until the rooms are under the low-water mark, in
   * scripts of at most {@linkcode BUDGET_TRIM_BATCH}; one trim at a time per node. Resolves
   * with the messages deleted; never rejects (failures go to `onError`).
   */
  trim(): Promise<number> {
    if (this.maxBytes <= 0) return Promise.resolve(0);
    this.#trimming ??= this.#trim().finally(() => this.#trimming = null);
    return this.#trimming;
  }

  /** Stops looking at the total. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #trim(): Promise<number> {
    let deleted = 0;
    try {
      while (!this.#closed) {
        const reply = await this.#conn.run(BUDGET_TRIM, [], [this.#low, BUDGET_TRIM_BATCH]);
        const [total, n] = (reply as Reply[]).map(Number);
        deleted += n;
        if (total <= this.#low || n === 0) break;
      }
    } catch (error) {
      if (!this.#closed) this.#onError(storeError(error));
    }
    return deleted;
  }

  async #look(): Promise<void> {
    if (this.#closed || this.#trimming !== null || !this.#conn.ready) return;
    try {
      const total = Number(await this.#conn.command(["GET", BYTES_KEY]) ?? 0);
      if (total > this.#high) await this.trim();
    } catch {
      // Redis is away: the next look tries again, and the connection reports the outage.
    }
  }
}

/** `n` bytes for people: 1 GiB, 512 MiB, 300 KiB. */
function shownBytes(n: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`;
  }
  return `${n} bytes`;
}
