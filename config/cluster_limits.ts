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

/** Window of the cluster-wide login-rate counter (`sc:rate:<addr>:<window>`), in ms. */
export const LOGIN_RATE_WINDOW_MS = 60_000;

/**
 * Events a node holds for the log while Redis is unreachable, at most. Past it they are
 * dropped and the node re-announces its users once Redis is back (see `onResync`): memory
 * stays bounded through a long outage.
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
