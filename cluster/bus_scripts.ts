/**
 * The Lua scripts of the Redis bus: publishing events to the log, nick leases, the node lease
 * heartbeat, finding lost nodes, leaving, and the login-rate counter. Each is one atomic step,
 * so a nick has one holder and a lost node is announced exactly once however many nodes look.
 *
 * @module
 */

import { Script } from "./redis_conn.ts";

/**
 * Appends events to the log, in order. KEYS: log, logseq. ARGV: node, log cap, then each
 * event's JSON. Returns how many were written.
 */
export const PUBLISH = new Script(`
for i = 3, #ARGV do
  local seq = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'n', ARGV[1], 'k', 'e', 'd', ARGV[i],
    's', seq)
end
return #ARGV - 2
`);

/**
 * Claims a nick: taken when free or already this node's (its lease renewed). KEYS: the nick's
 * lease, the node's held-nicks set. ARGV: node, lease ms. Returns 1 when this node holds it
 * now, else 0.
 */
export const CLAIM = new Script(`
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`);

/** Gives a nick up if this node holds it. KEYS: the nick's lease, held set. ARGV: node. */
export const RELEASE = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], KEYS[1])
return 0
`);

/**
 * The heartbeat: starts an epoch if Redis is empty (see store/redis/scripts.ts), renews this
 * node's lease and its membership, and renews (or re-takes, when expired) each nick it holds.
 * KEYS: id, epoch, base, the node's lease, nodes, the node's held-nicks set, then the nicks'
 * leases. ARGV: node, lease ms, floor, epoch token, this run's instance token. Returns the
 * epoch, 1 if the node's lease was still there (else 0), then the nick keys another node holds
 * now; or the epoch and `usurped` when the lease holds another run's token (another process
 * took this node id): then nothing is renewed.
 */
export const HEARTBEAT = new Script(`
local function fmt(x) return string.format('%.0f', x) end
local raw = redis.call('GET', KEYS[1])
local ep = redis.call('GET', KEYS[2])
local floor = tonumber(ARGV[3])
if (not raw) or (not ep) then
  local start = floor
  if raw and tonumber(raw) > start then start = tonumber(raw) end
  redis.call('SET', KEYS[1], fmt(start))
  redis.call('SET', KEYS[2], ARGV[4])
  redis.call('SET', KEYS[3], fmt(start))
  ep = ARGV[4]
elseif floor > tonumber(raw) then
  redis.call('SET', KEYS[1], fmt(floor))
end
local cur = redis.call('GET', KEYS[4])
if cur and cur ~= ARGV[5] then return {ep, 'usurped'} end
local had = 0
if cur then had = 1 end
redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[2])
redis.call('SADD', KEYS[5], ARGV[1])
local out = {ep, had}
for i = 7, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  elseif not holder then
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
    redis.call('SADD', KEYS[6], KEYS[i])
  else
    redis.call('SREM', KEYS[6], KEYS[i])
    out[#out + 1] = KEYS[i]
  end
end
redis.call('PEXPIRE', KEYS[6], ARGV[2])
return out
`);

/**
 * Shared by the scripts that end a node's membership: if `node` was a member (or `force`), it
 * is removed, the nicks it held are freed at once, and `node_lost` goes to the log under its
 * id, so every other node drops its users. Returns true if it was announced.
 */
export const DEPART_LUA = `
local function depart(nodes, log, logseq, maxlen, prefix, node, force)
  local was = redis.call('SREM', nodes, node) == 1
  if not was and not force then return false end
  local held = prefix .. 'held:' .. node
  for _, key in ipairs(redis.call('SMEMBERS', held)) do
    if redis.call('GET', key) == node then redis.call('DEL', key) end
  end
  redis.call('DEL', held)
  redis.call('DEL', prefix .. 'node:' .. node)
  local seq = redis.call('INCR', logseq)
  local d = cjson.encode({t = 'node_lost', node = node})
  redis.call('XADD', log, 'MAXLEN', '~', maxlen, '*', 'n', node, 'k', 'e', 'd', d, 's', seq)
  return true
end
`;

/**
 * Declares lost every node in the set whose lease is gone, once, whichever node gets there
 * first (see DEPART_LUA). KEYS: nodes, log, logseq. ARGV: this node, log cap, key prefix
 * (`sc:`). Returns the nodes declared lost.
 */
export const FIND_LOST = new Script(
  DEPART_LUA + `
local lost = {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if node ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. 'node:' .. node) == 0 then
    if depart(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], node, false) then
      lost[#lost + 1] = node
    end
  end
end
return lost
`,
);

/**
 * A node starting: a previous run under the same id that did not leave (killed, its lease
 * perhaps still live) is declared lost first, so other nodes drop its users and its nicks are
 * free; then the lease is taken, holding this run's instance token. KEYS: nodes, log, logseq,
 * the node's lease. ARGV: node, log cap, key prefix, lease ms, instance token, `1` to take a
 * live lease of another run (else `0`). Returns 1 if a previous run was declared lost, 0 if
 * none; or, when the lease is live with another run's token and not forced, {`busy`, its
 * remaining ms}: the caller waits one renewal to tell a live twin from a killed run.
 */
export const JOIN = new Script(
  DEPART_LUA + `
local holder = redis.call('GET', KEYS[4])
if holder and holder ~= ARGV[5] and ARGV[6] ~= '1' then
  return {'busy', redis.call('PTTL', KEYS[4])}
end
local stale = redis.call('EXISTS', KEYS[4]) == 1 or
  redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1
local announced = false
if stale then
  announced = depart(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[1], true)
end
redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[4])
redis.call('SADD', KEYS[1], ARGV[1])
if announced then return 1 end
return 0
`,
);

/**
 * A node leaving on purpose: announced as lost (its users' byes went before, so applying it
 * changes nothing where they were heard), its lease and nicks dropped. KEYS: nodes, log,
 * logseq. ARGV: node, log cap, key prefix.
 */
export const LEAVE = new Script(
  DEPART_LUA + `
depart(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[1], true)
return 0
`,
);
