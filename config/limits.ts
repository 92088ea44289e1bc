/**
 * Every limit and default sockchat enforces, in one place. Each is named, documented in
 * `--help` and the README, and covered by a test.
 *
 * @module
 */

/** Port that `serve` listens on and `join` connects to when none is given. */
export const DEFAULT_PORT = 7342;

/**
 * Address `serve` binds when `--host` is not given. A chat server exists so that other people can
 * reach it, so it listens on every IPv4 interface, as ssh-chat and IRC servers do.
 */
export const DEFAULT_SERVE_HOST = "0.0.0.0";

/** Host `join` connects to when none is given. */
export const DEFAULT_JOIN_HOST = "localhost";

/** Largest frame (one NDJSON line or one plain-text line, without its newline), in bytes. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/** Smallest `--max-frame` accepted: a hello with a 32-character nick must fit. */
export const MIN_MAX_FRAME_BYTES = 256;

/** Largest `--max-frame` accepted, so that one connection's decoder stays small. */
export const MAX_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Users that may be joined at once. */
export const DEFAULT_MAX_USERS = 1000;

/**
 * Bytes that may wait in one connection's outbound queue (including the batch being written).
 * A client whose queue would grow past this is disconnected as `too_slow`.
 */
export const DEFAULT_MAX_QUEUE_BYTES = 512 * 1024;

/**
 * A burst (many senders at once) may take a client's queue to this many times `--max-queue`,
 * as long as its socket is still draining. A stalled one is cut off at `--max-queue`.
 */
export const QUEUE_BURST_FACTOR = 4;

/**
 * Text (in UTF-16 code units, about bytes) one batch of room messages may hold: messages said
 * while a commit is in progress are committed and relayed together, and each reader's queue
 * takes a room's share of a batch as one buffer, so a batch stays far below a queue's cap. A
 * batch always takes at least one message; the rest wait for the next.
 */
export const MAX_BATCH_TEXT = 64 * 1024;

/** A client whose socket accepted nothing for this long, with its queue past the cap, is slow. */
export const SLOW_WRITE_GRACE_MS = 500;

/** Malformed frames a connection may send before it is closed as a protocol offender. */
export const MAX_BAD_FRAMES = 10;

/**
 * Smallest read buffer: what every idle connection holds in its one pending read. A hello fits;
 * the buffer doubles as soon as reads come back full, so busy peers pay one or two small reads.
 */
export const READ_BUFFER_MIN_BYTES = 256;

/** Largest read buffer, reached only while reads keep coming back full. */
export const READ_BUFFER_MAX_BYTES = 16 * 1024;

/** How long shutdown waits for clients to receive their goodbye before closing them anyway. */
export const SHUTDOWN_GRACE_MS = 2000;

/** Longest nickname, in Unicode code points. */
export const NICK_MAX_LENGTH = 32;

/** Longest client-chosen `ref` carried back in an ack, in characters. */
export const MAX_REF_LENGTH = 64;

/**
 * How long a new connection may stay silent before it is greeted in plain text. NDJSON clients
 * send their hello at once; a person on netcat waits to be asked for a nickname.
 */
export const PLAIN_GREETING_DELAY_MS = 250;

/** After a graceful close, how long unread input is drained before the socket is closed. */
export const LINGER_MS = 1000;

/** Longest room name, in code points after the `#`. */
export const ROOM_NAME_MAX_LENGTH = 32;

/** Rooms that may exist at once (each costs memory even when quiet). */
export const MAX_ROOMS = 10_000;

/** Rooms one user may be in at once. */
export const MAX_ROOMS_PER_USER = 50;

/** Longest topic, in code points. */
export const TOPIC_MAX_LENGTH = 300;

/** Wrong /oper secrets a connection may try before it is closed. */
export const MAX_OPER_FAILURES = 3;

/** A connection that has not logged in by then is closed (`--handshake-timeout`). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * An NDJSON client silent for half of this is pinged; one silent for all of it is dropped as
 * `timeout` (`--idle-timeout`). Plain-text clients are never pinged: lurking is allowed.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** How often the server checks every connection's deadlines (one timer for all). */
export const SWEEP_INTERVAL_MS = 1000;

/**
 * Connections that may be open at once without having logged in, across all addresses (each
 * address is also held to `--max-conns-per-ip`, and each login to `--handshake-timeout`).
 */
export const MAX_PENDING_LOGINS = 256;

/** Nicks one user may /ignore. */
export const MAX_IGNORES = 100;

/** Longest kick or ban reason, in code points. */
export const MAX_REASON_LENGTH = 200;

/** Most rooms /rooms lists (the busiest first); the answer says how many more there are. */
export const MAX_ROOMS_LISTED = 200;

/** Wrong server passwords one address may send before it is locked out. */
export const MAX_AUTH_FAILURES = 5;

/** How long an address that kept getting the password wrong must wait. */
export const AUTH_LOCKOUT_MS = 60_000;

/** Addresses whose wrong passwords are remembered at once (the oldest are forgotten first). */
export const MAX_AUTH_TRACKED = 10_000;

/** After a failed accept (out of file descriptors), wait this long, doubling up to the max. */
export const ACCEPT_BACKOFF_MIN_MS = 10;

/** Longest wait between accept retries. */
export const ACCEPT_BACKOFF_MAX_MS = 1000;

/** TLS handshakes kept going only to deliver a refusal, at once; past it they are just closed. */
export const MAX_TLS_REFUSALS_IN_PROGRESS = 64;

/** Presence lines (joins, leaves) a room may hear at once before they are coalesced. */
export const PRESENCE_BURST = 10;

/** Presence lines a room earns back per second. */
export const PRESENCE_PER_SECOND = 1;

/**
 * Past the burst, presence changes are held this long and then told together, as their net
 * effect (see core/presence.ts).
 */
export const PRESENCE_WINDOW_MS = 2000;

/** A window's net changes up to this many go out as join/leave frames; more, as one summary. */
export const PRESENCE_INDIVIDUAL_MAX = 3;

/** Nicks named in a presence summary before "and N more". */
export const PRESENCE_NAMES_SHOWN = 10;

/**
 * Nicks a `welcome` or `joined` frame lists for a room (the newcomer among them); its `count`
 * says how many there are in all. Without the cap, n logins into one room would send n²/2 nicks.
 */
export const MEMBERS_FIRST_PAGE = 100;

/** Shortest IPv4 prefix an address ban may name (`/ban addr:10.0.0.0/8`): no banning the world. */
export const MIN_BAN_PREFIX_V4 = 8;

/** Shortest IPv6 prefix an address ban may name. */
export const MIN_BAN_PREFIX_V6 = 16;

/** How long the order of /rooms (busiest first) is reused before the rooms are sorted again. */
export const ROOM_LIST_CACHE_MS = 1000;

/** Refusals from one address are logged at most once per this window, with a count of the rest. */
export const LOG_THROTTLE_WINDOW_MS = 10_000;

/** Addresses whose log throttling is remembered at once. */
export const LOG_THROTTLE_KEYS = 10_000;

// The history store's limits live beside it in store_limits.ts; every limit is found from here.
export * from "./store_limits.ts";

/** How often the server looks at its heap to decide whether to collect it while quiet. */
export const IDLE_GC_CHECK_MS = 1000;

/**
 * The heap must have stayed this steady (no sample more than {@linkcode IDLE_GC_QUIET_BYTES}
 * above the one before) for this long before an idle collection: a server with traffic
 * allocates all the time, so it never qualifies.
 */
export const IDLE_GC_QUIET_MS = 5000;

/** Growth between two samples that still counts as quiet. */
export const IDLE_GC_QUIET_BYTES = 1024 * 1024;

/**
 * An idle collection runs only when V8's heap has grown by this much since the last full
 * collection (a login storm, a burst of history reads): less is not worth a pause.
 */
export const IDLE_GC_MIN_GROWTH_BYTES = 8 * 1024 * 1024;

/** At most one idle collection this often. */
export const IDLE_GC_MIN_INTERVAL_MS = 30_000;

/**
 * Longest away message (`/away MESSAGE`), in code points after cleaning, like a topic: it is
 * shown to everyone who messages the user, so it must not be a way to send a wall of text.
 */
export const AWAY_MAX_LENGTH = 200;

/**
 * Nicks `/users` lists at once; `/users 2` shows the next page. A big server has thousands of
 * users, and one info frame must stay well under a client's frame and queue limits.
 */
export const USERS_PAGE_SIZE = 100;

/**
 * Largest message of the day (`--motd-file`), in bytes: it is sent to every user at login, so
 * a login storm multiplies it, and it must fit one frame of any client.
 */
export const MOTD_MAX_BYTES = 4096;

/**
 * Bans one room may hold (`/mode +b`): each joiner and each speaker who is neither op nor voiced
 * is checked against all of them, so the list must stay short; IRC servers cap it alike.
 */
export const MAX_ROOM_BANS = 100;

/**
 * Longest room key (`/mode +k KEY`), in characters. IRC clients (irssi, irc-framework) assume
 * ISUPPORT's KEYLEN of 23 and send keys in a comma list, so a key has no spaces or commas.
 */
export const ROOM_KEY_MAX_LENGTH = 23;

/** Largest user limit (`/mode +l N`): no room holds more than a server's users anyway. */
export const MAX_ROOM_LIMIT = 10_000;

/**
 * How long an invitation (`/invite NICK`) lets its invitee in (past +i, and past +k, +l and +b
 * if an operator gave it): an
 * invitation forgotten for a day should not open the door to whoever holds that nick later.
 */
export const INVITE_TTL_MS = 3_600_000;

/**
 * Invitations one room keeps pending at once: each is a map entry kept until used or expired,
 * so a room operator's script may not grow memory without bound.
 */
export const MAX_ROOM_INVITES = 100;

/**
 * How long a member who lost their connection may resume into a keyed (+k) room without typing
 * the key again: their client resumes without it (see `core/resume_keys.ts`). Long enough for
 * a reconnect after a network change, short enough that a nick given up is not a key kept.
 */
export const RESUME_KEY_TTL_MS = 900_000;

/**
 * How far ahead of the clock the store's newest message ts may be at startup and still be kept
 * as the floor of new ts (so a clock behind the last run's does not take ts back). Past it, the
 * stored ts is taken for a mistake (a clock once set wrong, a store edited by hand), ignored and
 * logged: it would otherwise pin every new message's ts to it until that time came.
 */
export const MAX_STORED_TS_AHEAD_MS = 86_400_000;

/**
 * Resume passes into keyed rooms the server keeps at once (the oldest is forgotten past it):
 * one per member of a +k room whose connection ended, so connecting and dropping in a loop
 * cannot grow memory without bound.
 */
export const MAX_RESUME_KEYS = 10_000;

/**
 * How long an account proof (IRC SASL PLAIN's checked password, `core/account_proof.ts`) stays
 * good for the login it spares a second password hash: registration follows SASL at once, so a
 * minute is plenty, and a proof kept around buys nothing later.
 */
export const ACCOUNT_PROOF_TTL_MS = 60_000;

/**
 * Accounts one connection remembers having proven (`core/identity.ts`), so that changing back to
 * an account's nick after changing away regains it without its password again. Each costs a
 * proof (a password check through the lockout, or a key), so few are ever held; the cap keeps a
 * connection that proves many accounts from growing its memory without bound (the oldest is
 * forgotten first: changing back to it then wants the password again).
 */
export const MAX_PROVEN_ACCOUNTS = 8;

/**
 * Rooms one account may claim (`/register #room`): a claim keeps a row in the database and the
 * room's state in memory while it is empty, so one account must not hoard names.
 */
export const MAX_CLAIMS_PER_ACCOUNT = 10;

/**
 * Rooms claimed on the whole server: the claims are read into memory at start, so their number
 * (and the database's size) has a ceiling whatever the number of accounts.
 */
export const MAX_CLAIMED_ROOMS = 10_000;

/**
 * Accounts one claimed room remembers as operators or voiced: each is written to the database
 * on every change, so the lists stay small.
 */
export const MAX_CLAIM_MEMBERS = 100;

/**
 * How long a session that took its nick over from another session of the same account keeps it:
 * within it, a login or /nick /identify to that nick is refused as `nick_taken` instead of
 * replacing it. The first takeover always goes through (the owner replacing a ghost, or a new
 * client replacing an old one); only taking it straight back is refused. Without it, two live
 * clients of one account (an IRC client with SASL and one with PASS, each reconnecting 10 s
 * after being closed) took the nick from each other forever, every round flooding every room
 * with a leave and a join.
 */
export const TAKEOVER_COOLDOWN_MS = 60_000;

/**
 * How long a session holding a nick it just took over has to answer the ping a second takeover
 * sends it (`TAKEOVER_COOLDOWN_MS`): one that answers is another live client and keeps the nick;
 * one that does not is a dead connection, and the owner retrying after this gets the nick. So a
 * connection that drops twice in a minute costs its owner a few seconds, not the whole minute.
 */
export const TAKEOVER_PROBE_MS = 5_000;

/**
 * How long a node keeps another node's state of a room it has no member in yet (cluster mode):
 * a node that starts or comes back is sent every room's state, and makes the rooms only as the
 * users' `hello`s arrive (sent in paced chunks). Past this, the state is dropped: a room nobody
 * re-made meanwhile may have been forgotten everywhere, and must not come back with old modes.
 */
export const PENDING_ROOM_STATE_MS = 120_000;

/**
 * Room states a node keeps pending at once (see `PENDING_ROOM_STATE_MS`); the oldest gives way.
 * Bounded by the rooms the other nodes hold, but capped so a flood of `room` events cannot grow
 * memory without bound.
 */
export const MAX_PENDING_ROOM_STATES = 10_000;
