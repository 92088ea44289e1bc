/**
 * Limits of the SSH front end (issue 13) and of the in-process link it runs each chat over. Kept
 * apart from `limits.ts` so the front end's numbers can change on their own; each constant says
 * why it has its value. The handshake deadline and idle timeout are the server's own
 * (`--handshake-timeout`, `--idle-timeout`): SSH shares them with TCP.
 *
 * @module
 */

/**
 * Authentication requests one SSH connection may have refused before it is disconnected. OpenSSH's
 * sshd allows 6 (MaxAuthTries); a client with several keys in its agent offers each in turn, so
 * fewer would turn away honest users whose right key comes late.
 */
export const SSH_MAX_AUTH_ATTEMPTS = 6;

/**
 * Refused authentication requests one address may make within {@linkcode SSH_AUTH_LOCKOUT_MS}
 * before its SSH logins are refused outright: reconnecting must not buy unlimited guesses.
 * Five connections' worth of {@linkcode SSH_MAX_AUTH_ATTEMPTS}.
 */
export const SSH_MAX_AUTH_FAILURES_PER_ADDRESS = 30;

/** How long an address that ran out of SSH authentication attempts waits, from its latest one. */
export const SSH_AUTH_LOCKOUT_MS = 60_000;

/**
 * An authenticated SSH connection must have started its chat session by then. A connection that
 * only asked for something refused (exec, sftp, forwarding) is closed within this, so it holds no
 * slot; OpenSSH's `ssh -N` would otherwise sit on the connection for ever.
 */
export const SSH_SESSION_START_MS = 10_000;

/**
 * After the chat ends (exit-status sent, channel closed), the client hangs up by itself; a client
 * that has not within this is cut off, so a stalled one cannot hold the socket (or a shutdown).
 * Long enough for the last output to reach a slow link.
 */
export const SSH_HANGUP_MS = 5_000;

/**
 * Refused requests (channels, exec, forwarding) one connection may make; past it, it is
 * disconnected. Each refusal costs one small packet, but a loop of them is not a chat.
 */
export const SSH_MAX_REFUSALS = 16;

/**
 * In-process connections one SSH session may open to the chat: each login attempt (a nick
 * refused, then another) opens one. The terminal client asks for another nick a few times at most.
 */
export const SSH_MAX_DIALS = 8;

/**
 * Seconds between keepalive probes to a quiet SSH client; three unanswered ones drop it. It is
 * how a vanished SSH client is noticed: the chat session inside answers the server's pings
 * itself, so the server's idle timeout never sees it go.
 */
export const SSH_KEEPALIVE_INTERVAL_MS = 15_000;

/** Unanswered keepalive probes after which an SSH client is dropped. */
export const SSH_KEEPALIVE_COUNT_MAX = 3;

/**
 * Bytes each direction of an in-process link holds before a writer waits: back-pressure as on a
 * socket, so a chat that is not read cannot grow the server's memory. 64 KiB fits the largest
 * frame's bulk without making every idle SSH user pay for a big buffer (the bytes are allocated
 * as they come).
 */
export const MEMORY_LINK_BUFFER_BYTES = 64 * 1024;

/**
 * Shortest interval between two terminal resizes applied to a chat: a window-change makes the
 * terminal client rewrap and redraw its screen, which the server pays for. Requests in between
 * only replace the size waiting to be applied (the latest wins), so a flood of them costs one
 * redraw per interval. A tenth of a second still follows a window being dragged.
 */
export const SSH_RESIZE_INTERVAL_MS = 100;

/**
 * Window-change requests one connection may send within {@linkcode SSH_WINDOW_CHANGE_PERIOD_MS};
 * past it, it is disconnected. Dragging a window's corner sends a few dozen a second; this many
 * in ten seconds is no terminal being resized, and each still costs a packet to parse.
 */
export const SSH_MAX_WINDOW_CHANGES = 2000;

/** The period {@linkcode SSH_MAX_WINDOW_CHANGES} is counted over. */
export const SSH_WINDOW_CHANGE_PERIOD_MS = 10_000;

/**
 * The terminal sizes a chat is drawn at; a size asked outside is taken as the nearest inside
 * (0, "unknown", stays 0 and gets the default). A 1-column terminal makes every redraw of the
 * edited line cost a screen row per character (megabytes for Home/End on a long line), and a
 * huge one makes every wrap and redraw pad out that far.
 */
export const SSH_PTY_COLUMNS = { min: 20, max: 1000 } as const;

/** The terminal heights a chat is drawn at; see {@linkcode SSH_PTY_COLUMNS}. */
export const SSH_PTY_ROWS = { min: 2, max: 1000 } as const;

/**
 * Public-key queries (a key offered without a signature: "would this key do?") and "none"
 * requests (which list the methods) one connection may make together; past it, it is
 * disconnected. A query that is refused already counts as an attempt; one
 * that is answered "yes" costs no guess but a key parse and a packet, and a client meaning to log
 * in signs next. Twice {@linkcode SSH_MAX_AUTH_ATTEMPTS}: every key of a well-stocked agent, each
 * offered once, with room to spare.
 */
export const SSH_MAX_KEY_QUERIES = 2 * SSH_MAX_AUTH_ATTEMPTS;

/**
 * Bytes a second an SSH user's keys and pastes may bring into the chat hosted for them, sustained:
 * every key costs the server the line editing and redrawing the user's own computer would do.
 * Typing is tens of bytes a second; past the budget (a paste bigger than
 * {@linkcode SSH_INPUT_BURST_BYTES}, a flood) the channel is read no faster than this, and the
 * SSH window makes the client wait: nothing typed is dropped.
 */
export const SSH_INPUT_BYTES_PER_SECOND = 8 * 1024;

/**
 * Bytes of keys an SSH user may send at once, above the sustained rate: room for a real paste
 * (a screenful of text, a log excerpt) to arrive whole and at once.
 */
export const SSH_INPUT_BURST_BYTES = 64 * 1024;

/**
 * Bytes of an SSH user's input handed to the chat in one turn of the server's event loop; the
 * rest of a packet (up to 32 KiB) waits for the next turn. Some keys cost far more than others
 * (Ctrl-U then Ctrl-Y redraws a whole long line), and a quarter kilobyte of the costliest takes
 * only tens of milliseconds, so other users never wait behind a whole burst. A 20 KiB paste
 * still goes in within a few dozen turns.
 */
export const SSH_INPUT_SLICE_BYTES = 256;

/**
 * Milliseconds a second of the server's time that handling one SSH user's keys may take,
 * sustained: the time the chat hosted for them spends on each slice of input (line editing,
 * redrawing) is measured and charged. Bytes alone do not say what keys cost: a kilobyte of
 * Ctrl-U and Ctrl-Y on a long line redraws it hundreds of times. A tenth of a core per user.
 */
export const SSH_INPUT_CPU_MS_PER_SECOND = 100;

/** Milliseconds of the server's time one SSH user's keys may take at once, above the rate. */
export const SSH_INPUT_CPU_BURST_MS = 200;
