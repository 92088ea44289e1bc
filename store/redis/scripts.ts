/**
 * The Lua scripts the Redis history runs: each is one atomic step in Redis, so ids, the room
 * streams and the shared log can never disagree, and a read's entries and counts come from one
 * instant. Numbers cross as decimal strings (`%.0f`): Lua's numbers are doubles, exact for
 * every id and millisecond time sockchat hands out.
 *
 * @module
 */

import { Script } from "../../cluster/redis_conn.ts";
import { BUDGET_LUA } from "./budget.ts";

/**
 * Shared by every script that touches the id counter: when the counter or the epoch is missing
 * (first start, or Redis came back empty) a new epoch begins above `floor`, the highest id the
 * calling node has seen, so ids never repeat one a client may hold; and the counter is never
 * left below `floor` (Redis restored from an older snapshot). Returns the counter and epoch.
 */
const EPOCH_LUA = `
local function fmt(x) return string.format('%.0f', x) end
local function epoch(idk, epk, basek, floor, token)
  local raw = redis.call('GET', idk)
  local ep = redis.call('GET', epk)
  if (not raw) or (not ep) then
    local start = floor
    if raw and tonumber(raw) > start then start = tonumber(raw) end
    redis.call('SET', idk, fmt(start))
    redis.call('SET', epk, token)
    redis.call('SET', basek, fmt(start))
    return start, token
  end
  local id = tonumber(raw)
  if floor > id then
    id = floor
    redis.call('SET', idk, fmt(id))
  end
  return id, ep
end
`;

/** Positions of the append script's fixed keys and arguments (see {@linkcode APPEND}). */
export const APPEND_FIXED_KEYS = 7;
/** Arguments before the per-message ones. */
export const APPEND_FIXED_ARGS = 9;
/** Arguments per message: room index (1-based), ts, JSON body without id and ts, breaks JSON. */
export const APPEND_ARGS_PER_MESSAGE = 4;

/**
 * Allocates ids and ts for a batch, adds each message to its room's stream (`<id>-0`, capped)
 * and the whole batch to the log, in one step. KEYS: id, ts, epoch, base, log, logseq, rooms,
 * then per room its stream and meta keys. ARGV: floor, epoch token, node, node as JSON, batch
 * token, message count, retention (0: none), 1 for approximate trimming, log cap; then per
 * message the {@linkcode APPEND_ARGS_PER_MESSAGE} values. Returns the epoch, the first id and
 * each message's ts.
 */
export const APPEND = new Script(
  EPOCH_LUA + BUDGET_LUA + `
-- The history budget (the last ARGV, see budget.ts): refused before anything is written.
local budget_max = tonumber(ARGV[#ARGV])
local budget_in = 0
for i = 1, tonumber(ARGV[6]) do budget_in = budget_in + #ARGV[12 + (i - 1) * 4] end
local full = budget_admit(budget_max, budget_in, tonumber(ARGV[6]))
if full then return full end
local id, ep = epoch(KEYS[1], KEYS[3], KEYS[4], tonumber(ARGV[1]), ARGV[2])
local nrooms = (#KEYS - 7) / 2
local budget_before = {}
for r = 1, nrooms do budget_before[r] = budget_held(KEYS[6 + 2 * r], KEYS[7 + 2 * r]) end
local fresh = {}
for r = 1, nrooms do
  local key = KEYS[6 + 2 * r]
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last == 0 then
    fresh[r] = redis.call('EXISTS', key) == 0
  else
    -- A stream never takes an id at or below its last: the counter skips past it.
    local lid = tonumber(string.match(last[1][1], '^(%d+)'))
    if lid > id then id = lid end
    fresh[r] = false
  end
end
local n = tonumber(ARGV[6])
local retention = tonumber(ARGV[7])
local first = id + 1
redis.call('SET', KEYS[1], fmt(id + n))
local ts = tonumber(redis.call('GET', KEYS[2]) or '0')
local parts = {}
-- Each message's NDJSON frame, as protocol/ndjson/encode.ts would write it, so no node encodes
-- it again (the log's 'f'); a text with an escaped control character (IRC formatting, which
-- NDJSON strips) gets an empty line: each node encodes that one itself.
local frames = {}
local escaped = string.char(92) .. 'u00'
local out = {ep, fmt(first)}
for i = 1, n do
  local a = 9 + (i - 1) * 4
  local r = tonumber(ARGV[a + 1])
  local given = tonumber(ARGV[a + 2])
  if given > ts then ts = given end
  local mid = fmt(first + i - 1)
  local head = '{"id":' .. mid .. ',"ts":' .. fmt(ts) .. ','
  local stored = head .. ARGV[a + 3] .. '}'
  local skey = KEYS[6 + 2 * r]
  local mkey = KEYS[7 + 2 * r]
  if fresh[r] then
    redis.call('HSET', mkey, 'floor', fmt(id))
    redis.call('SADD', KEYS[7], string.sub(skey, 9))
    fresh[r] = false
  end
  local seq = redis.call('HINCRBY', mkey, 'seq', 1)
  local c = budget_charge(mkey, #stored)
  if retention > 0 then
    if ARGV[8] == '1' then
      redis.call('XADD', skey, 'MAXLEN', '~', retention, mid .. '-0', 'm', stored, 'n', seq, 'c', c)
    else
      redis.call('XADD', skey, 'MAXLEN', retention, mid .. '-0', 'm', stored, 'n', seq, 'c', c)
    end
  else
    redis.call('XADD', skey, mid .. '-0', 'm', stored, 'n', seq, 'c', c)
  end
  local breaks = ''
  if ARGV[a + 4] == '' then
    parts[i] = stored
  else
    breaks = ',"breaks":' .. ARGV[a + 4]
    parts[i] = head .. ARGV[a + 3] .. breaks .. '}'
  end
  local body = ARGV[a + 3]
  if string.find(body, escaped, 1, true) then
    frames[i] = '\\n'
  else
    -- The body is room, from, text, then the flags: the frame puts ts between text and flags.
    local core, flags = body, ''
    if string.sub(body, -4) == 'true' then
      local at = string.find(body, ',"action":true', 1, true) or
        string.find(body, ',"notice":true', 1, true)
      core, flags = string.sub(body, 1, at - 1), string.sub(body, at)
    end
    frames[i] = '{"type":"msg","id":' .. mid .. ',' .. core .. ',"ts":' .. fmt(ts) .. flags ..
      breaks .. '}\\n'
  end
  out[i + 2] = fmt(ts)
end
redis.call('SET', KEYS[2], fmt(ts))
local d = '{"node":' .. ARGV[4] .. ',"token":' .. ARGV[5] .. ',"messages":[' ..
  table.concat(parts, ',') .. ']}'
local f = table.concat(frames)
local lseq = redis.call('INCR', KEYS[6])
local lc = budget_log_charge(#d + #f)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[9], '*', 'n', ARGV[3], 'k', 'm', 'd', d, 's', lseq,
  'c', lc, 'f', f)
budget_log_trim(KEYS[5], budget_max)
local budget_total = 0
for r = 1, nrooms do
  budget_total = budget_settle(KEYS[6 + 2 * r], KEYS[7 + 2 * r], budget_before[r])
end
-- After the ts: the rooms' bytes now, for the budget's high-water mark.
out[#out + 1] = fmt(budget_total)
return out
`,
);

/**
 * Reserves `count` ids (a block for direct messages). KEYS: id, epoch, base. ARGV: floor,
 * epoch token, count. Returns the epoch and the block's last id.
 */
export const RESERVE = new Script(
  EPOCH_LUA + `
local id, ep = epoch(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), ARGV[2])
local last = id + tonumber(ARGV[3])
redis.call('SET', KEYS[1], fmt(last))
return {ep, fmt(last)}
`,
);

/**
 * What a node starting (or its log reader resuming) needs at one instant. KEYS: id, ts, epoch,
 * log, logseq. Returns the id counter, newest ts, epoch, the log's last entry id and its count
 * (missing values as "0" or "").
 */
export const SNAPSHOT = new Script(`
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local lastId = '0-0'
if #last > 0 then lastId = last[1][1] end
return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[2]) or '0',
  redis.call('GET', KEYS[3]) or '', lastId, redis.call('GET', KEYS[5]) or '0'}
`);

/**
 * One history read with its counts. KEYS: the room's stream and meta, and base. ARGV: mode
 * (`recent`, `after`, `before`, `oldest`), the watermark W (no id above it is seen), the
 * reference id, how many entries to fetch. Entries come newest first (`oldest`: oldest first)
 * from: `recent` (..W], `after` (ref..W], `before` (..min(ref-1, W)], `oldest` (ref..W].
 * Returns {entries, newest visible seq, seq of the first counted entry, oldest held id, oldest
 * held seq, floor, base, and (for a stream trimmed empty) the newest id it held}: the count of visible entries after ref (or all, for `recent`) is the
 * difference of the two seqs plus one.
 */
export const READ = new Script(`
local mode = ARGV[1]
local w = ARGV[2]
local ref = ARGV[3]
local count = ARGV[4]
local entries
if mode == 'recent' then
  entries = redis.call('XREVRANGE', KEYS[1], w, '-', 'COUNT', count)
elseif mode == 'after' then
  entries = redis.call('XREVRANGE', KEYS[1], w, '(' .. ref, 'COUNT', count)
elseif mode == 'before' then
  -- An exclusive end of '(ref' would still take ref-0: the end is ref - 1, inclusive.
  local below = tonumber(ref) - 1
  if below < 0 then
    entries = {}
  else
    local top = string.format('%.0f', below)
    if tonumber(w) < below then top = w end
    entries = redis.call('XREVRANGE', KEYS[1], top, '-', 'COUNT', count)
  end
else
  entries = redis.call('XRANGE', KEYS[1], '(' .. ref, w, 'COUNT', count)
end
local function seqof(e)
  for i = 1, #e[2], 2 do
    if e[2][i] == 'n' then return e[2][i + 1] end
  end
  return '0'
end
local newest = '0'
local firstCounted = '0'
if mode == 'recent' or mode == 'after' then
  local top = redis.call('XREVRANGE', KEYS[1], w, '-', 'COUNT', 1)
  if #top > 0 then newest = seqof(top[1]) end
  local low = '-'
  if mode == 'after' then low = '(' .. ref end
  local f = redis.call('XRANGE', KEYS[1], low, w, 'COUNT', 1)
  if #f > 0 then firstCounted = seqof(f[1]) end
end
local held = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local heldId = '0'
local heldSeq = '0'
if #held > 0 then
  heldId = string.match(held[1][1], '^(%d+)')
  heldSeq = seqof(held[1])
end
-- A stream trimmed empty (by age) still knows the newest id it held.
local lastGen = '0'
if #held == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then lastGen = string.match(info[i + 1], '^(%d+)') end
  end
end
return {entries, newest, firstCounted, heldId, heldSeq,
  redis.call('HGET', KEYS[2], 'floor') or '', redis.call('GET', KEYS[3]) or '0', lastGen}
`);

/**
 * Lua for a bisection by ts over a room's stream (KEYS[1]) up to `top` (a Lua expression: an id,
 * or `'+'`): `first(x)` is the first entry at or after id `x` (its id and its message's ts, or
 * nil), and `bisect(low, want)` the smallest id from `low` on whose ts is at or after `want`
 * (one past the last id when none is), in about 50 O(log n) probes.
 */
function bisectLua(top: string): string {
  return `
local function first(x)
  local r = redis.call('XRANGE', KEYS[1], x, ${top}, 'COUNT', 1)
  if #r == 0 then return nil end
  local e = r[1]
  local id = tonumber(string.match(e[1], '^(%d+)'))
  for i = 1, #e[2], 2 do
    if e[2][i] == 'm' then
      return id, tonumber(string.match(e[2][i + 1], '"ts":(%d+)')) or 0
    end
  end
  return id, 0
end
local function bisect(low, want)
  local last = redis.call('XREVRANGE', KEYS[1], ${top}, '-', 'COUNT', 1)
  local high = tonumber(string.match(last[1][1], '^(%d+)')) + 1
  while low < high do
    local mid = math.floor((low + high) / 2)
    local id, ts = first(string.format('%.0f', mid))
    if id == nil or ts >= want then high = mid else low = id + 1 end
  end
  return low
end
`;
}

/**
 * The smallest id of a room's stream (up to the watermark) whose message's ts is at or after
 * the given one, by bisection inside Redis (one round trip, about 50 O(log n) probes). KEYS:
 * the stream. ARGV: ts, watermark. Returns the id, or "" when none.
 */
export const ID_AT = new Script(
  // The watermark, ARGV[2], bounds every read.
  bisectLua("ARGV[2]") + `
local want = tonumber(ARGV[1])
local lowId = first('-')
if lowId == nil then return '' end
local low = bisect(lowId, want)
local id = first(string.format('%.0f', low))
if id == nil then return '' end
return string.format('%.0f', id)
`,
);

/**
 * Deletes a room's messages older than a time (retention by age): finds the first whose ts is
 * at or after it by bisection and trims the stream to start there (`XTRIM MINID`), or empties
 * it. KEYS: the stream. ARGV: the cut-off ts. Returns the entries deleted.
 */
export const TRIM_AGE = new Script(
  BUDGET_LUA + bisectLua("'+'") + `
local want = tonumber(ARGV[1])
local lowId, lowTs = first('-')
if lowId == nil or lowTs >= want then return 0 end
local low = bisect(lowId, want)
local budget_before = budget_held(KEYS[1], KEYS[1] .. ':meta')
local trimmed = redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f', low))
budget_settle(KEYS[1], KEYS[1] .. ':meta', budget_before)
return trimmed
`,
);
