/**
 * Help texts and the usage error every CLI mistake becomes.
 *
 * @module
 */

import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HISTORY_REPLAY,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_JOIN_HOST,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_USERS,
  DEFAULT_PORT,
  DEFAULT_RETENTION_PER_ROOM,
  DEFAULT_SERVE_HOST,
} from "../config/limits.ts";
import {
  DEFAULT_MAX_CONNS_PER_IP,
  FLOOD_BYTE_BURST,
  FLOOD_BYTES_PER_SECOND,
  FLOOD_MESSAGE_BURST,
  FLOOD_MESSAGES_PER_SECOND,
} from "../config/security_limits.ts";
import { VERSION } from "../version.ts";

/** A mistake on the command line: printed as one line plus a hint, exit code 2. */
export class UsageError extends Error {
  /** The help command to suggest, such as `sockchat serve --help`. */
  readonly hint: string;

  constructor(message: string, hint = "sockchat --help") {
    super(message);
    this.name = "UsageError";
    this.hint = hint;
  }
}

/** `sockchat --help`. */
export const MAIN_HELP = `sockchat ${VERSION} - a chat server and client in one binary

Usage:
  sockchat serve [options]               run a chat server
  sockchat join [HOST[:PORT]] [options]  join a chat server from this terminal
  sockchat --help                        show this help
  sockchat --version                     print the version

Run 'sockchat serve --help' or 'sockchat join --help' for their options.
Anyone can also join with netcat: nc HOST ${DEFAULT_PORT}
`;

/** `sockchat serve --help`. */
export const SERVE_HELP = `Usage: sockchat serve [options]

Run a chat server. It prints "listening on HOST:PORT" once it is ready.
SIGINT or SIGTERM says goodbye to every client and exits 0.

Options:
  --host HOST          address to listen on (default ${DEFAULT_SERVE_HOST}: every IPv4
                       interface, so others can join; use 127.0.0.1 for this machine only,
                       :: for IPv6)
  --port PORT          TCP port, 0 for any free one (default ${DEFAULT_PORT})
  --max-users N        users connected at once; more get a server_full error
                       (default ${DEFAULT_MAX_USERS})
  --max-frame BYTES    longest frame (one line) a client may send; longer ones get
                       frame_too_large and the connection closes (default ${DEFAULT_MAX_FRAME_BYTES})
  --max-queue BYTES    outbound bytes buffered per client; a client that falls further
                       behind is disconnected as too_slow (default ${DEFAULT_MAX_QUEUE_BYTES},
                       at least 2 x max-frame + 4096)
  --db PATH            SQLite history database, or :memory: to keep nothing
                       (default $XDG_STATE_HOME/sockchat/sockchat.db, else
                       ~/.local/state/sockchat/sockchat.db)
  --history N          messages replayed when joining a room (default ${DEFAULT_HISTORY_REPLAY})
  --retention N        messages kept per room; older ones are pruned
                       (default ${DEFAULT_RETENTION_PER_ROOM})
  --fsync              fsync every commit: acknowledged messages survive power loss,
                       not just a crash (default off: WAL with synchronous=NORMAL)
  --tls-cert FILE      serve TLS with this PEM certificate chain (with --tls-key)
  --tls-key FILE       the PEM private key for --tls-cert
  --password-file FILE require this password in every login (or set $SOCKCHAT_PASSWORD);
                       never given as a flag value, which ps would show
  --oper-file FILE     the operator secret for /oper (or set $SOCKCHAT_OPER_SECRET);
                       without one there are no operators
  --max-conns-per-ip N connections one address (IPv6: one /64) may hold open
                       (default ${DEFAULT_MAX_CONNS_PER_IP})
  --handshake-timeout SECONDS
                       close connections that have not logged in by then
                       (default ${DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000})
  --idle-timeout SECONDS
                       ping NDJSON clients silent for half of this, drop them after
                       all of it (default ${DEFAULT_IDLE_TIMEOUT_MS / 1000})
  --rate N             messages per second each connection may sustain, with bursts of
                       ${FLOOD_MESSAGE_BURST} (or 4 x N); faster ones get rate_limited, and a sustained
                       flood is disconnected; 0 turns flood control off (default ${FLOOD_MESSAGES_PER_SECOND})
  --rate-bytes BYTES   bytes per second each connection may sustain, with bursts of
                       max(${FLOOD_BYTE_BURST}, --max-frame) (default ${FLOOD_BYTES_PER_SECOND})
  --metrics-port PORT  serve Prometheus metrics on http://HOST:PORT/metrics (default off)
  --metrics-host HOST  address for --metrics-port (default 127.0.0.1)
  --log-level LEVEL    debug, info, warn or error (default info)
  --log-format FORMAT  text or json (default text)
  -h, --help           show this help
`;

/** `sockchat join --help`. */
export const JOIN_HELP = `Usage: sockchat join [HOST[:PORT]] [options]

Join a chat server (default ${DEFAULT_JOIN_HOST}:${DEFAULT_PORT}). In a terminal, type messages and
press Enter; end a line with \\ to continue the message on the next line. /quit, Ctrl-D or
Ctrl-C leaves. With stdin piped, every line is sent as a message and the client exits once
the server has acknowledged them all.

Options:
  -n, --name NICK      nickname (default: $SOCKCHAT_NICK, else $USER, else $LOGNAME)
  -h, --help           show this help

Exit codes: 0 left normally; 1 could not connect, connection lost, nickname refused or
server full; 2 bad command line.
`;
