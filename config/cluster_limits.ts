/**
 * The cluster's limits (`serve --redis`): how long a node's lease lives and how often it is
 * renewed and checked, how long the shared log grows, how long a Redis command may take, and
 * how the engine paces its reconnects and id reservations. Each names what it protects against.
 *
 * @module
 */

/**
 * How long a node's lease (and every nick it holds) lives without a refresh. A node killed
 * with -9 is declared lost, its users leave their rooms (`node_lost`) and their nicks free up,
 * within about this long plus {@linkcode NODE_CHECK_MS}. Shorter frees nicks sooner but lets a
 * node stalled that long (a GC pause, a slow disk) be declared lost while alive.
 */
export const NODE_LEASE_MS = 15_000;

/** How often a node renews its lease and its nicks' leases: three tries per lease. */
export const LEASE_REFRESH_MS = 5_000;

/** How often each node looks for other nodes whose lease ran out. */
export const NODE_CHECK_MS = 1_000;

/**
 * Entries the shared log (`sc:log`) keeps, about (`MAXLEN ~`). It is what a node that lost
 * Redis for a while catches up from; one that falls further behind is told of a gap. 100 000
 * entries is minutes of a busy cluster's traffic and some tens of MB of Redis memory.
 */
export const LOG_MAXLEN = 100_000;

/** Log entries one blocking read brings at most: bounds a catching-up node's read buffer. */
export const LOG_READ_COUNT = 500;

/**
 * How long one blocking log read waits for new entries before it asks again (ms). Bounds how
 * long a stopping node waits for its reader, and how late a dead connection is noticed.
 */
export const LOG_BLOCK_MS = 1_000;

/**
 * How long a Redis command may take before it fails (ms), counted by the engine itself from
 * the call (node-redis's own timeout ends once a command is written). A message waits for its
 * commit at most this long before its author is told `store_failed`, and a login for its nick
 * claim: a stalled Redis, or a half-open connection, must not hold the chat silently. A
 * connection on which a command timed out is torn down and made again.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 5_000;

/**
 * How much longer than {@linkcode LOG_BLOCK_MS} the log reader's blocking read may take before
 * its connection counts as dead and is made again (ms): a frozen log connection is noticed
 * within about 3 s instead of never.
 */
export const LOG_READ_MARGIN_MS = 2_000;

/**
 * How long a stopping node spends leaving the cluster at most (ms): writing its queued events,
 * announcing its departure and freeing its nicks, and its pending record writes. Past it (Redis
 * stalled or away during a shutdown) the node stops anyway, as a killed one would: the other
 * nodes declare it lost when its lease runs out.
 */
export const CLUSTER_CLOSE_MS = 5_000;

/** How long connecting to Redis may take before the attempt fails and is retried (ms). */
export const REDIS_CONNECT_TIMEOUT_MS = 5_000;

/** First wait before reconnecting to Redis after losing it (ms); doubled on each failure. */
export const REDIS_RECONNECT_MIN_MS = 50;

/**
 * Longest wait between reconnect attempts (ms): a node keeps trying for ever, at most this far
 * apart, so that it is back within about a second of Redis.
 */
export const REDIS_RECONNECT_MAX_MS = 1_000;

/**
 * Ids a node reserves at once for direct messages (one INCRBY per block): DMs are never stored,
 * so their ids need only be unique, and a block keeps them off the network's round trip.
 */
export const DM_ID_BLOCK = 1_000;

/** A new block is reserved once fewer than this many ids of the current one are left. */
export const DM_ID_REFILL_AT = 250;

/**
 * The sliding window `--max-logins-per-minute` counts over cluster-wide, in ms: Redis's
 * counters `sc:rate:<addr>:<window>` (cluster/shared_counter.ts) and core/lockout.ts's
 * MemoryCounter.
 */
export const LOGIN_RATE_WINDOW_MS = 60_000;

/**
 * Events a node holds for the log while Redis is unreachable, at most: memory stays bounded
 * through a long outage. At the cap the queued presence events (hello, bye, join, nick, user)
 * are taken out and a snapshot of this node's users is owed instead (written once Redis is
 * back); other events past it (topics, room modes, records, kills) are dropped and logged.
 */
export const PUBLISH_QUEUE_MAX = 10_000;

/**
 * Room streams whose age trimming one upkeep run looks at, at most, before it lets other
 * work in: each is one short script in Redis.
 */
export const RETENTION_SWEEP_ROOMS = 256;

/**
 * History entries one Redis read brings at most; a longer read (a resume of up to
 * `MAX_RESUME_REPLAY`) goes on in further reads of this many while its byte budget lasts, so a
 * read never holds more than this many entries it may not use.
 */
export const HISTORY_READ_CHUNK = 256;

/**
 * Batches a node has committed whose copy the cluster log has not brought back yet, at most
 * (their authors wait for the log to be acknowledged). Normally a handful: the log follows the
 * commits within a round trip or two. A node whose log reader is stuck (its connection
 * half-open, or refused while the others work) would otherwise keep committing and hold every
 * message it can never acknowledge; past this bound a new message is refused at once
 * (`store_failed`, "the cluster log is behind") instead. Each batch holds at most
 * `MAX_BATCH_TEXT` of text, so this also bounds that memory.
 */
export const MAX_AWAITING_BATCHES = 1_000;

/**
 * How long a committed batch waits for the cluster log before its authors are told it could
 * not be confirmed (ms): longer than a command's timeout plus a blocking read, so a healthy but
 * busy reader is never cut short, short enough that nobody waits silently for an ack that the
 * log will not bring.
 */
export const AWAITING_LOG_TIMEOUT_MS = 10_000;

/**
 * How long a resume floor is kept at most (ms). A client resuming on a node whose log reader
 * is behind the last id it saw elsewhere is not sent again, live, what it saw: messages up to
 * that id are skipped for it until the reader passes it. The log normally passes it within
 * moments; this bounds a floor the log will not pass soon (a client resuming from a made-up
 * id), which would otherwise hide the room's messages from that client.
 */
export const RESUME_FLOOR_MAX_MS = 60_000;

/**
 * How far above the highest id a node has seen an id read back from Redis may be (2^32). Real
 * traffic never moves the counter that far between two entries a node reads; a made-up id past
 * it (1e300, 2^53 + 1) would otherwise become every node's floor and push the shared counter
 * where no message can be stored, so such an entry is skipped and logged.
 */
export const MAX_ID_JUMP = 2 ** 32;

/**
 * Longest free-form short field in an entry read back from Redis (an address, ident, reason,
 * ban target or mask), in UTF-16 units: far above anything sockchat writes, low enough that a
 * bad entry cannot hand the hub megabytes where a word is expected.
 */
export const ENTRY_FIELD_MAX_LENGTH = 4096;

/** Most items in a list read back from Redis (a batch's messages, a room's ops or voices). */
export const ENTRY_LIST_MAX = 100_000;

/**
 * Bytes one stored message is charged beyond its JSON, against `--max-db-bytes` in cluster
 * mode: the stream entry's id, its `n` and `c` fields and Redis's per-entry bookkeeping. Over-
 * rather than under-charges small messages, so the budget errs towards Redis having room.
 */
export const HISTORY_ENTRY_OVERHEAD_BYTES = 96;

/**
 * Share of the history budget (`--max-db-bytes`) the shared log may hold, as a divisor: the log
 * repeats every message for the nodes to read, so it is trimmed (oldest first) past
 * budget / 8, which is still minutes of catch-up for a node that lost Redis for a while.
 */
export const LOG_BUDGET_DIVISOR = 8;

/**
 * Where the history budget's trimming starts (high-water) and stops (low-water), as fractions
 * of `--max-db-bytes`. Appends are refused only past the whole budget, so between the high-water
 * mark and the cap the trimming has 10% of the budget to catch up with a flood.
 */
export const BUDGET_HIGH_WATER = 0.9;

/** Where trimming for the history budget stops (see {@linkcode BUDGET_HIGH_WATER}). */
export const BUDGET_LOW_WATER = 0.8;

/**
 * How often each node looks at the history's byte total (one `GET`), besides after each append
 * that finds it past the high-water mark: a node that only reads still trims what others wrote.
 */
export const BUDGET_CHECK_MS = 1_000;

/**
 * Oldest messages one budget-trim script deletes at most: a trim is many short steps, so Redis
 * never stalls other nodes' commands for long.
 */
export const BUDGET_TRIM_BATCH = 256;

/**
 * How long a node that holds a wanted nick must look dead before it is declared lost at once
 * (cluster/node_gone.ts): its direct-message channel has no subscriber (Redis drops a killed
 * process's connections at once) at the start and at the end of this wait, and its lease was not
 * renewed in between. Long enough for a live node's subscriber to reconnect or its lease to be
 * renewed (see {@linkcode SUBSCRIBER_DOWN_BEAT_MS}); short enough that a dead node's users get
 * their nicks back within a reconnect, not a whole {@linkcode NODE_LEASE_MS}.
 */
export const NODE_GONE_CONFIRM_MS = 1_500;

/**
 * How often a node renews its lease while its own direct-message subscriber is away (its
 * channel then looks like a dead node's): three renewals per {@linkcode NODE_GONE_CONFIRM_MS},
 * so another node checking it sees the lease renewed and does not declare it lost.
 */
export const SUBSCRIBER_DOWN_BEAT_MS = 500;
