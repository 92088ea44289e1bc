/**
 * Limits of the web front end (issue 14): the page and its WebSocket endpoint. Kept apart from
 * `limits.ts` so the front end's numbers can change on their own; each constant says why it has
 * its value. Frame size, queue bytes, flood control and the login and idle deadlines are the
 * server's own (`--max-frame`, `--max-queue-bytes`, ...): a browser shares them with TCP.
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
