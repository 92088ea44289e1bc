/**
 * Limits and defaults of the hardening work (issue 4): flood control, connections per address,
 * secrets, nick safety, TLS and metrics. Kept apart from `limits.ts` so that the two can change
 * independently; each constant says why it has its value.
 *
 * @module
 */

// --- Flood control (security/token_bucket.ts) ---------------------------------------------

/**
 * Frames a connection may send in one burst. A person pasting a 20-line snippet from a terminal
 * client sends 20 frames within a millisecond; that must go through untouched.
 */
export const FLOOD_MESSAGE_BURST = 20;

/**
 * Frames per second a connection may sustain once its burst is spent. The fastest typist sends
 * about one line a second; 5/s is five times that, yet caps a bot at 300 lines a minute.
 */
export const FLOOD_MESSAGES_PER_SECOND = 5;

/**
 * Bytes a connection may send in one burst: one frame of the default maximum size (64 KiB), so
 * a single large paste passes. A frame larger than the burst (with a raised `--max-frame`) is
 * still admitted when the bucket is full, and the bucket goes into debt for it.
 */
export const FLOOD_BYTE_BURST = 64 * 1024;

/**
 * Bytes per second a connection may sustain: a full 64 KiB paste every 4 seconds, about a
 * thousand times what anyone types, while keeping one peer's share of the relay bandwidth small.
 */
export const FLOOD_BYTES_PER_SECOND = 16 * 1024;

/**
 * Limited frames in a row (with no admitted frame between them) after which a connection is
 * disconnected as a flooder. A person who pastes 120 lines loses the tail of the paste but stays
 * connected; a bot writing as fast as it can is gone within milliseconds.
 */
export const FLOOD_DISCONNECT_STREAK = 100;

/**
 * The streak of limited frames above only counts if it fits in this window: a streak whose
 * first frame is older starts again, so a slow, persistent client is throttled, not dropped.
 */
export const FLOOD_WINDOW_MS = 10_000;

// --- Connections per address (security/conn_limiter.ts) -----------------------------------

/**
 * Live connections one address may hold (`--max-conns-per-ip`). Eight covers a person with a
 * couple of clients and a bot, or a small office behind one NAT; raise it for larger NATs.
 */
export const DEFAULT_MAX_CONNS_PER_IP = 8;

/**
 * IPv6 clients are counted per /64 prefix, because one host is routinely given a whole /64 and
 * can connect from as many addresses as it likes inside it. Must be a multiple of 16.
 */
export const IPV6_PREFIX_BITS = 64;

// --- Secrets (security/secrets.ts) ---------------------------------------------------------

/**
 * Largest password or operator-secret file read. A secret is a line; anything bigger means the
 * flag points at the wrong file, and reading it whole would be a waste.
 */
export const MAX_SECRET_FILE_BYTES = 4096;

/**
 * Permission bits a secret file may not have: any access for "other", and write for the group.
 * Group read stays allowed for the usual service setup (`root:sockchat`, mode 0640), as
 * PostgreSQL allows for its key files; world-readable secrets are never acceptable.
 */
export const SECRET_FILE_FORBIDDEN_MODE = 0o027;

// --- Unicode safety (security/unicode.ts) --------------------------------------------------

/**
 * Combining marks allowed in a row in a nick (after NFC). Thai and Vietnamese need two, a few
 * Tibetan stacks three; more is "zalgo" text that spills over neighbouring lines.
 */
export const NICK_MAX_COMBINING_RUN = 3;

/**
 * Combining marks kept in a row in message text; the rest of a longer run is dropped. Generous,
 * because text is not an identity, but small enough that no message can smear the screen.
 */
export const TEXT_MAX_COMBINING_RUN = 8;

// --- TLS (transport/tcp/) ----------------------------------------------------------------------

/**
 * Longest a TLS handshake may take, on either side, before the connection is dropped. A
 * handshake is two round trips; ten seconds covers a slow mobile link, and stops a peer that
 * opens connections and never finishes from holding them.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Largest PEM file (certificate chain, key or CA bundle) read. The Mozilla bundle is ~220 KiB. */
export const MAX_PEM_FILE_BYTES = 1024 * 1024;

// --- Metrics (metrics/registry.ts, metrics/http.ts) ----------------------------------------

/**
 * Address the metrics endpoint binds unless told otherwise. Metrics reveal how busy the server
 * is and when; they are for the operator's scraper, so they stay on loopback by default.
 */
export const DEFAULT_METRICS_HOST = "127.0.0.1";

/**
 * Upper bounds, in seconds, of the history-write latency histogram: from a quarter of a
 * millisecond (a batched commit to a warm page cache) to 2.5 s (fsync on a struggling disk).
 */
export const HISTORY_WRITE_BUCKETS_SECONDS: readonly number[] = [
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

// --- Per-address budgets (security/address_budget.ts) ---------------------------------------

/**
 * Connections one address may open per minute (`--max-logins-per-minute`), with bursts of as
 * many. Each accepted connection costs one, logged in or not: a connect/hello/reset loop costs
 * the server a login, a welcome and presence for the whole room, so it must not be free.
 */
export const DEFAULT_LOGINS_PER_MINUTE = 30;

/**
 * Bytes of stored history one address may read per second, for `/history` and resume
 * (`--history-read-rate`). A read stops at what it may send, and is charged what it read.
 */
export const DEFAULT_HISTORY_READ_BYTES_PER_SECOND = 1024 * 1024;

/**
 * The lowest `--history-read-rate`: a full join replay (half of the smallest queue) must fit in
 * a burst, so that an honest client can always rejoin.
 */
export const MIN_HISTORY_READ_BYTES_PER_SECOND = 64 * 1024;

/** Bursts of history reads one address may make: this many seconds of its rate. */
export const HISTORY_READ_BURST_SECONDS = 4;

/**
 * Addresses whose budgets are remembered at once. Past it, the budgets that are full again are
 * forgotten first, then the oldest: the memory stays bounded whatever the number of addresses.
 */
export const MAX_BUDGETED_ADDRESSES = 10_000;

// --- Native key login (protocol/ndjson/session.ts) --------------------------------------------

/**
 * Longest `key` a hello may carry, in characters. An `ssh-ed25519` line is 80 characters plus
 * its comment; this leaves room for a comment and keeps a hostile hello from handing the
 * decoder a frame-sized "key".
 */
export const MAX_PUBLIC_KEY_TEXT = 512;

/**
 * Random bytes in a login `challenge`: 32, so a nonce never repeats and a recorded `prove`
 * answers no later challenge.
 */
export const CHALLENGE_NONCE_BYTES = 32;

/** Longest `sig` a `prove` may carry: base64 of an ed25519 signature (64 bytes) is 88. */
export const MAX_SIGNATURE_TEXT = 128;

// --- Accounts (security/password_hash.ts, core/accounts.ts) ---------------------------------

/**
 * scrypt's cost N (a power of two). 2^14 with r 8 takes 16 MiB and about 50 ms per hash on one
 * core: slow for a guesser holding a stolen database, quick enough for one login.
 */
export const SCRYPT_COST = 2 ** 14;

/** scrypt's block size r (8 is the value the scrypt paper and node's default use). */
export const SCRYPT_BLOCK_SIZE = 8;

/** scrypt's parallelism p: one lane, so one hash keeps one thread busy. */
export const SCRYPT_PARALLELISM = 1;

/** Random salt per account, in bytes: no two accounts share a hash for the same password. */
export const SCRYPT_SALT_BYTES = 16;

/** Length of the derived key, in bytes. */
export const SCRYPT_KEY_BYTES = 32;

/**
 * Hashes in progress at once, server-wide. Each holds 16 MiB and a libuv thread for ~50 ms; past
 * this, a login or /register is told to try again (`rate_limited`), so a crowd sending passwords
 * cannot turn scrypt into a way to burn the server's CPU and memory.
 */
export const MAX_HASHES_IN_PROGRESS = 4;

/**
 * Shortest account password, in characters. Eight is the floor NIST SP 800-63B sets for a
 * secret the user picks; the lockout below caps online guessing.
 */
export const ACCOUNT_PASSWORD_MIN_LENGTH = 8;

/**
 * Longest account password, in characters: long passphrases pass, and scrypt never hashes a
 * frame-sized string.
 */
export const ACCOUNT_PASSWORD_MAX_LENGTH = 128;

/**
 * Fingerprint characters /whois shows after `SHA256:`: enough to tell keys apart by eye, short
 * enough for one line.
 */
export const SHORT_FINGERPRINT_LENGTH = 12;

/** Most keys an `--oper-keys` file may hold (and bytes it may have), so a wrong path fails fast. */
export const MAX_OPER_KEYS_FILE_BYTES = 256 * 1024;

/**
 * Nicks one key may own. Enough for a person's usual nick and a few alternates; without it one
 * key could register nick after nick (/nick, /register, again) and squat the whole namespace.
 */
export const MAX_ACCOUNTS_PER_KEY = 5;

/**
 * Registrations (key or password) one address may make in {@linkcode REGISTRATION_WINDOW_MS}
 * (an IPv6 address counts as its /64), so fresh keys or passwords cannot squat nicks in bulk.
 */
export const MAX_REGISTRATIONS_PER_ADDRESS = 10;

/** The window {@linkcode MAX_REGISTRATIONS_PER_ADDRESS} counts over: one hour. */
export const REGISTRATION_WINDOW_MS = 60 * 60 * 1000;

/**
 * Registered nicks in all, server-wide: each is held in memory and loaded at every start, so the
 * table cannot be grown without bound from many addresses.
 */
export const MAX_ACCOUNTS = 100_000;

/**
 * /register PASSWORD hashes one address may have in progress at once. The server-wide cap
 * ({@linkcode MAX_HASHES_IN_PROGRESS}) is shared with password logins; without this, a few
 * connections registering in a loop could hold every slot and starve everyone's logins.
 */
export const MAX_REGISTER_HASHES_PER_ADDRESS = 1;
