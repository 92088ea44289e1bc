/**
 * Limits of the web front end (issue 14): the page and its WebSocket endpoint. Kept apart from
 * `limits.ts` so the front end's numbers can change on their own; each constant says why it has
 * its value. Frame size, queue bytes, flood control and the login and idle deadlines are the
 * server's own (`--max-frame`, `--max-queue`, ...): a browser shares them with TCP.
 *
 * @module
 */

/**
 * Bytes a WebSocket may hold unsent (its `bufferedAmount`) before the link stops taking more.
 * The peer's bounded queue then fills behind it, and a tab that stops reading is dropped as
 * `too_slow` like any client. About what a socket's kernel buffers hold.
 */
export const WEB_SEND_BUFFER_BYTES = 256 * 1024;

/**
 * How often a link waiting for its WebSocket to drain looks at `bufferedAmount` again: a
 * WebSocket has no event for "drained", so it is polled, and only while a write waits.
 */
export const WEB_DRAIN_POLL_MS = 25;

/**
 * Frames' worth of bytes (of `--max-frame` each) received on a WebSocket and not yet read by its
 * peer. A WebSocket cannot be paused as a socket can, so past this the connection is closed
 * rather than let one tab grow the server's memory while its peer waits (for the store, say).
 */
export const WEB_INBOUND_FRAMES = 4;

/** Seconds a browser may cache the page's assets: short, so an upgraded server is seen soon. */
export const WEB_ASSET_MAX_AGE_SECONDS = 300;

/**
 * Page requests (any path but `/ws`) one address may make in a burst. A first visit costs 4
 * (the page, its script, style sheet and icon), which the browser then keeps for
 * {@linkcode WEB_ASSET_MAX_AGE_SECONDS}. 64 is 16 first visits at once: the requests are not what
 * limits people sharing an address, `--max-conns-per-ip` (8 by default, every connection of the
 * address counted together) is.
 */
export const WEB_PAGE_REQUEST_BURST = 64;

/**
 * Page requests per second one address may sustain once its burst is spent: a whole page load a
 * second, more than anyone reloads by hand. Without it one address could make the server send
 * the largest asset (about 46 KiB of script) as fast as it can ask; with it, at most about
 * 185 KiB/s. Past it the answer is 429 with `Retry-After`.
 */
export const WEB_PAGE_REQUESTS_PER_SECOND = 4;

/**
 * Addresses whose page budgets are remembered at once (IPv6 by /64). Past it the address seen
 * longest ago is forgotten, so the table stays a few MiB at most whatever the number of
 * addresses, while an address that keeps asking is the last to be forgotten and keeps its debt.
 */
export const WEB_PAGE_TRACKED_ADDRESSES = 10_000;

/**
 * Milliseconds a connection to the web port has to send its first complete request head (after
 * the TLS handshake, with TLS), whatever it sends meanwhile: a browser sends it at once, in one
 * write, so 10 s is generous even on a bad mobile link. It is what closes idle and slowloris
 * connections, which would otherwise hold a descriptor each for as long as they like. Never
 * longer than `--handshake-timeout`, which bounds every step before a login.
 */
export const WEB_REQUEST_HEAD_TIMEOUT_MS = 10_000;

/**
 * Milliseconds a connection that is not a WebSocket may go without the server sending it
 * anything, once it has made a request: the wait for the next request on a kept-alive
 * connection, and a client that stops reading a response. A page load's requests follow each
 * other within milliseconds and the assets are then cached (see
 * {@linkcode WEB_ASSET_MAX_AGE_SECONDS}), so a held connection is rarely used again; 5 s is
 * Apache's default. Never longer than `--handshake-timeout`.
 */
export const WEB_KEEP_ALIVE_MS = 5_000;

/**
 * Milliseconds a refused connection (the door said no) is kept after its short HTTP refusal,
 * reading and discarding what the client sent, so that closing it does not reset the connection
 * before the client has read the refusal.
 */
export const WEB_REFUSAL_LINGER_MS = 1_000;

/**
 * Refused connections lingering at once (see {@linkcode WEB_REFUSAL_LINGER_MS}); past it they are
 * closed at once. Each holds a descriptor while it lingers, so a client refused in a loop holds
 * at most this many.
 */
export const WEB_REFUSALS_IN_PROGRESS = 16;

/**
 * Milliseconds a connection to the web port may last in all before it is a WebSocket, whatever
 * it does meanwhile. The head and keep-alive deadlines restart with each request, so without a
 * total one client asking for something every few seconds would stay a "login in progress" for
 * ever, and a few dozen addresses could hold every place the server keeps for logins. A page
 * load takes well under a second; a browser opens a new connection when one is closed. Never
 * longer than `--handshake-timeout` (default 30 s), as a TCP connection's time to log in.
 */
export const WEB_CONNECTION_LIFETIME_MS = 30_000;

/**
 * New connections one address may open to the web port in a burst. A page load opens up to 6
 * (Chromium's connections per host) and its WebSocket one more, so 64 new connections is several
 * page loads at once; what an address may hold open is `--max-conns-per-ip`. Without it one
 * address could open and close thousands of connections a second, each one a piped socket to the
 * private server (and a port left in TIME_WAIT).
 */
export const WEB_CONNECTION_BURST = 64;

/**
 * New connections per second one address may sustain once its burst is spent: two a second is
 * more than a person reloading pages, or a tab reconnecting, ever needs. Past it the connection
 * gets 429 (as for `--max-conns-per-ip`) and is closed.
 */
export const WEB_CONNECTIONS_PER_SECOND = 2;

/**
 * Seconds of `Strict-Transport-Security` sent with every response when the web port serves
 * https: a browser that has seen the page over https once then never asks for it over http,
 * where a network attacker could serve another script. One year is the usual value (and what
 * preload lists ask for); `includeSubDomains` is not sent, as the server cannot speak for other
 * hosts. Browsers ignore the header over a connection with a certificate error.
 */
export const WEB_HSTS_MAX_AGE_SECONDS = 31_536_000;
