/**
 * Help texts and the usage error every CLI mistake becomes.
 *
 * @module
 */

import { IRC_SERVER_NAME_MAX_BYTES } from "../config/irc_limits.ts";
import {
  DEFAULT_JOIN_HOST,
  DEFAULT_PORT,
  MIN_MAX_AGE_MS,
  MOTD_MAX_BYTES,
  QUEUE_BURST_FACTOR,
  SLOW_WRITE_GRACE_MS,
} from "../config/limits.ts";
import {
  DEFAULT_METRICS_HOST,
  FLOOD_BYTE_BURST,
  FLOOD_BYTES_PER_SECOND,
  FLOOD_MESSAGE_BURST,
  FLOOD_MESSAGES_PER_SECOND,
  HISTORY_READ_BURST_SECONDS,
  MIN_HISTORY_READ_BYTES_PER_SECOND,
  TLS_HANDSHAKE_TIMEOUT_MS,
} from "../config/security_limits.ts";
import { VERSION } from "../version.ts";
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS } from "../client/reconnect.ts";
import { MAX_OFFLINE_QUEUE, QUIT_GRACE_MS } from "../client/session.ts";
import {
  CLIENT_MAX_FRAME_BYTES,
  CONNECT_TIMEOUT_MS,
  MAX_INPUT_CHARS,
  MAX_JOIN_ADDRESSES,
  MAX_JOINED_ROOMS,
  MAX_MEMBERS_PER_ROOM,
  MAX_UNANSWERED,
  MAX_UNSENT_BYTES,
} from "../client/limits.ts";
import { NODE_ID_MAX_LENGTH, REDIS_URL_ENV, SERVER_DEFAULTS } from "../config/server_config.ts";
import { NODE_GONE_CONFIRM_MS, NODE_LEASE_MS } from "../config/cluster_limits.ts";
import {
  MAX_PROXY_SOURCES,
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_BYTES,
} from "../transport/proxy_protocol.ts";

/** A mistake on the command line: printed as one line plus a hint, exit code 2. */
export class UsageError extends Error {
  /** The help command to suggest, such as `sockchat serve --help`. */
  readonly hint: string;

  /** `hint` is the help command to suggest after the message. */
  constructor(message: string, hint = "sockchat --help") {
    super(message);
    this.name = "UsageError";
    this.hint = hint;
  }
}

/** `sockchat key --help`. */
export const KEY_HELP = `Usage: sockchat key [HOST[:PORT][,HOST[:PORT]...]] [--key FILE]

Print the key join uses with the server at HOST:PORT (default ${DEFAULT_JOIN_HOST}:${DEFAULT_PORT}):
its public half as one authorized_keys line, then its SHA256 fingerprint (as ssh-keygen -lf
prints it). join gives every server address its own key, derived from your key file, so no
server can log in elsewhere as you: give the address exactly as you give it to join (a name
and its IP address are different addresses). The key file is made on first use, like join
does. That server's operator can put the line in serve --oper-keys; /register there binds
your nick to the key. Given several addresses (the nodes of one chat, as join takes them),
it prints the key of the first, the one join offers to every node.

Options:
  --key FILE   the key file (default $XDG_CONFIG_HOME/sockchat/key, else
               ~/.config/sockchat/key; mode 600, a file others can read is refused)
  -h, --help   show this help
`;

/** `sockchat --help`. */
export const MAIN_HELP = `sockchat ${VERSION} - a chat server and client in one binary

Usage:
  sockchat serve [options]               run a chat server
  sockchat join [HOST[:PORT],...] [opts]  join a chat server from this terminal
  sockchat key [HOST[:PORT]]             print your key for a server and its fingerprint
  sockchat --help                        show this help
  sockchat --version                     print the version

Run 'sockchat serve --help' or 'sockchat join --help' for their options.
Anyone can also join with netcat: nc HOST ${DEFAULT_PORT}
`;

/** The shortest `--max-age`, in hours. */
const MIN_AGE = MIN_MAX_AGE_MS / 3_600_000;

/** `sockchat serve --help`. */
export const SERVE_HELP = `Usage: sockchat serve [options]

Run a chat server. It prints "listening on HOST:PORT" once it is ready (and then
"irc listening on HOST:PORT" with --irc-port, "metrics on http://HOST:PORT/metrics"
with --metrics-port).
SIGINT or SIGTERM says goodbye to every client and exits 0.

Options:
  --host HOST          address to listen on (default ${SERVER_DEFAULTS.host}: every IPv4
                       interface, so others can join; use 127.0.0.1 for this machine only,
                       :: for IPv6)
  --port PORT          TCP port, 0 for any free one (default ${DEFAULT_PORT})
  --max-users N        users connected at once; more get a server_full error
                       (default ${SERVER_DEFAULTS.maxUsers})
  --max-frame BYTES    longest frame (one line) a client may send; longer ones get
                       frame_too_large and the connection closes (default ${SERVER_DEFAULTS.maxFrame})
  --max-queue BYTES    how far a client may fall behind: one whose socket has taken nothing
                       for ${SLOW_WRITE_GRACE_MS} ms with more than this queued is disconnected as
                       too_slow; while its socket drains, a burst may reach ${QUEUE_BURST_FACTOR} x this
                       (default ${SERVER_DEFAULTS.maxQueueBytes}, at least 2 x max-frame + 4096)
  --db PATH            SQLite history database, or :memory: to keep nothing
                       (default $XDG_STATE_HOME/sockchat/sockchat.db, else
                       ~/.local/state/sockchat/sockchat.db)
  --history N          messages replayed when joining a room (default ${SERVER_DEFAULTS.historyReplay})
  --retention N        messages kept per room; older ones are pruned
                       (default ${SERVER_DEFAULTS.retention})
  --max-db-bytes SIZE  bytes the history database (with --redis: the history in Redis)
                       may use, such as 512M or 2G (K, M, G, T: binary units); past it
                       the oldest messages of any room are deleted first; 0: no cap
                       (default ${SERVER_DEFAULTS.maxDbBytes / 1024 ** 3}G)
  --max-age DURATION   delete messages older than this, and forget the topics of rooms
                       empty and unused for that long: ${MIN_AGE}h or more, such as 30d;
                       0 keeps them (default ${SERVER_DEFAULTS.maxAgeMs / 86_400_000}d)
  --fsync              fsync every commit: acknowledged messages survive power loss,
                       not just a crash (default off: WAL with synchronous=NORMAL)
  --tls-cert FILE      serve TLS with this PEM certificate chain (with --tls-key)
  --tls-key FILE       the PEM private key for --tls-cert
  --password-file FILE require this password in every login (or set $SOCKCHAT_PASSWORD);
                       never given as a flag value, which ps would show
  --oper-file FILE     the operator secret for /oper (or set $SOCKCHAT_OPER_SECRET);
                       without one there are no operators
  --motd-file FILE     message of the day (UTF-8 text, at most ${MOTD_MAX_BYTES} bytes), read
                       once at start: shown to each user at login and with /motd
                       (default: none)
  --oper-keys FILE      keys (authorized_keys format, mode 0600) that are operators as
                       soon as they log in: SSH keys, or keys of sockchat join
                       (sockchat key prints yours); the /oper secret still works
  --require-account    only registered nicks may talk; guests may log in to /register
                       or /identify (default off: anyone may talk)
  --guests-read        with --require-account: guests are put in rooms and may read
                       them (default off: a guest is in no room until registered)
  --ssh-port PORT      serve the SSH front end on this port (ssh -p PORT NICK@HOST);
                       0 for any free one (default off)
  --ssh-host HOST      address for the SSH front end (default: --host)
  --ssh-host-key FILE  the SSH host key: an OpenSSH ed25519 private key (ssh-keygen -t
                       ed25519); default: made on first start and kept, mode 0600, at
                       $XDG_STATE_HOME/sockchat/ssh_host_ed25519_key (else under
                       ~/.local/state)
  --web-port PORT      serve the browser page and its WebSocket (/ws) on this port,
                       https and wss with --tls-cert/--tls-key; 0 for any free one
                       (default off)
  --web-host HOST      address for the web front end (default: --host)
  --web-origin LIST    origins whose pages may open /ws, separated by commas, such as
                       https://chat.example.org (default: only the page's own origin)
  --irc-port PORT      serve IRC clients (irssi, WeeChat, HexChat) on this port; 0 for
                       any free one (default off)
  --irc-tls-port PORT  serve IRC over TLS on this port, with --tls-cert/--tls-key
                       (default off)
  --irc-host HOST      address for the IRC ports (default: --host)
  --server-name NAME   the server name IRC clients see, one word of at most
                       ${IRC_SERVER_NAME_MAX_BYTES} bytes (default: this machine's host name)
  --redis URL          cluster mode: share rooms, nicks, history, ids, bans and accounts
                       with every server on the same Redis, redis://HOST:PORT[/DB] or
                       rediss:// for TLS; a password goes in the URL, percent-encoded
                       (% as %25, / as %2F, @ as %40: redis://:PASSWORD@HOST:PORT) or,
                       out of ps's sight, in $${REDIS_URL_ENV}; it is never logged.
                       Redis must be reachable at start. History is then in Redis
                       (--db and --fsync are unused; --max-db-bytes is the history's
                       budget in Redis, --retention and --max-age trim its rooms);
                       see docs/CLUSTER.md (default off: one server on its own)
  --node-id ID         this server's name in the cluster, logged at start: letters,
                       digits, '.', '_' and '-', at most ${NODE_ID_MAX_LENGTH} characters, such as a,
                       2 or eu-1 (default: random, such as n3f9a01c2). When a node's
                       process dies, the others drop its users within the node lease
                       (${NODE_LEASE_MS / 1000} s, NODE_LEASE_MS), or in about ${
  NODE_GONE_CONFIRM_MS / 1000
} s
                       (NODE_GONE_CONFIRM_MS) when a login elsewhere asks for one of its
                       nicks; a lost machine or network link takes the lease
  --proxy-from LIST    addresses or CIDR blocks of load balancers (HAProxy with
                       send-proxy-v2; docs/haproxy.cfg), separated by commas, at most
                       ${MAX_PROXY_SOURCES}: a connection from one of them, on every TCP port (native,
                       IRC, SSH, web, and their TLS ports), must start with a PROXY v1 or
                       v2 header (within --handshake-timeout; v1 at most ${PROXY_V1_MAX_BYTES} bytes,
                       v2 at most ${PROXY_V2_MAX_BYTES}), and bans and per-address limits then apply to
                       the client it names; a missing or broken header closes the
                       connection (logged), a LOCAL one (a health check) is closed;
                       connections from anywhere else are served as before (default off)
  --max-conns-per-ip N connections one address (IPv6: one /64) may hold open
                       (default ${SERVER_DEFAULTS.maxConnsPerIp})
  --max-logins-per-minute N
                       connections one address may open per minute, in bursts of as
                       many; more are refused at the door; 0: no limit
                       (default ${SERVER_DEFAULTS.maxLoginsPerMinute})
  --history-read-rate BYTES
                       bytes of stored history one address may read per second, for
                       /history, joins and resume, in bursts of ${HISTORY_READ_BURST_SECONDS} s worth; past
                       it /history is refused (rate_limited) and replays stop at a gap
                       (default ${SERVER_DEFAULTS.historyReadRate}, at least ${MIN_HISTORY_READ_BYTES_PER_SECOND})
  --handshake-timeout SECONDS
                       close connections that have not logged in by then; with TLS,
                       the TLS handshake must also finish within this or
                       ${TLS_HANDSHAKE_TIMEOUT_MS / 1000} seconds, whichever is less
                       (default ${SERVER_DEFAULTS.handshakeTimeoutMs / 1000})
  --idle-timeout SECONDS
                       ping NDJSON clients silent for half of this, drop them after
                       all of it (default ${SERVER_DEFAULTS.idleTimeoutMs / 1000})
  --rate N             messages per second each connection may sustain, with bursts of
                       max(${FLOOD_MESSAGE_BURST}, 4 x N); faster ones get rate_limited, and a sustained
                       flood is disconnected; 0 turns flood control off (default ${FLOOD_MESSAGES_PER_SECOND})
  --rate-bytes BYTES   bytes per second each connection may sustain, with bursts of
                       max(${FLOOD_BYTE_BURST}, --max-frame, 4 x BYTES)
                       (default ${FLOOD_BYTES_PER_SECOND})
  --metrics-port PORT  serve Prometheus metrics on http://HOST:PORT/metrics (default off)
  --metrics-host HOST  address for --metrics-port (default ${DEFAULT_METRICS_HOST}: this
                       machine only)
  --log-level LEVEL    debug, info, warn or error (default info)
  --log-format FORMAT  text or json (default text)
  -h, --help           show this help
`;

/** `sockchat join --help`. */
export const JOIN_HELP = `Usage: sockchat join [HOST[:PORT][,HOST[:PORT]...]] [options]

Join a chat server (default ${DEFAULT_JOIN_HOST}:${DEFAULT_PORT}).

Several addresses separated by commas (no spaces), at most ${MAX_JOIN_ADDRESSES}, are the nodes of one
chat (servers sharing one Redis, see serve --redis): join tries them in turn, going on to the
next when a connection fails (refused, or no answer within ${
  CONNECT_TIMEOUT_MS / 1000
} s) or a node turns it away
(full, shutting down, too many connections), and after a drop it reconnects starting from the
address after the one it lost, resuming every room without loss or repeats. Every node is
offered the key of the first address (sockchat key FIRST-ADDRESS prints it) and the same
passwords: list only addresses the chat's operator published as its nodes (a stranger's
address in the list could log in to the chat as you).

In a terminal, type a message and press Enter; end a line with \\ to continue the message on
the next line, and a pasted block of lines is sent as one message when you press Enter.
Tab completes nicks, /commands and #rooms; Up and Down recall earlier input. Lines starting
with / are commands for the server (/help lists them); start a message with // to send a
line that begins with /. The prompt shows the current room and, when not connected,
"reconnecting (attempt N)" or "offline". /quit, Ctrl-D or Ctrl-C on an empty line leaves.

With stdin or stdout not a terminal (or with --json), every input line is sent as a message
(or a command; the next line waits for its answer), output has no escape sequences, and at
the end of input the client exits once the server has answered everything sent (waiting at
most ${
  QUIT_GRACE_MS / 1000
} s). Messages entered while reconnecting (up to ${MAX_OFFLINE_QUEUE}) are sent once connected
again.

Options:
  -n, --name NICK          nickname (default: $SOCKCHAT_NICK, else $USER, else $LOGNAME)
  --timestamps STYLE       short (14:07), long (2025-01-31 14:07:09) or none, in local time
                           (default short on a terminal, none when stdout is not one)
  --no-color               no colours (default: colours on a terminal unless $NO_COLOR is
                           set; never when stdout is not a terminal)
  --theme NAME             colours for a dark or light background, or mono (bold, dim and
                           underline only): dark, light or mono; /theme NAME switches
                           while running (default: light if $COLORFGBG says the background
                           is light, else dark)
  --no-bell                do not ring the bell on mentions and direct messages
                           (default: ring it)
  --json                   print each server frame as one JSON line on stdout, exactly as
                           the protocol defines it; input is read line by line
                           (default off)
  --reconnect              reconnect after losing the connection, even when not in a
                           terminal (default: on in a terminal, off otherwise)
  --no-reconnect           exit 1 instead of reconnecting, even in a terminal
  --password-file FILE     send the server password read from FILE (one line)
                           (default: $SOCKCHAT_PASSWORD if set, else no password)
  --tls                    connect with TLS and verify the server's certificate against
                           the system's CAs (default: plain TCP)
  --ca FILE                trust the CA certificate(s) in this PEM file instead of the
                           system's (implies --tls)
  --key FILE               prove who you are with the key in FILE, made there on first use
                           (default $XDG_CONFIG_HOME/sockchat/key, else
                           ~/.config/sockchat/key; a file others can read is refused)
  --no-key                 offer no key: a nick registered to your key is then refused
  --account-password-file FILE
                           the password of the account your nick is registered to (one
                           line) (default: $SOCKCHAT_ACCOUNT_PASSWORD if set; in a terminal
                           you are asked, without echo, when the server wants it)
  -h, --help               show this help

Reconnecting waits ${RECONNECT_BASE_MS / 1000} s, doubling up to ${
  RECONNECT_MAX_MS / 1000
} s (with jitter) between attempts, and resumes
every room from the last message seen there. It does not happen after /quit, nor after a
fatal error or goodbye that would only repeat (kicked, banned, protocol errors). While
reconnecting, a nickname still held by the lost connection and a full server are retried;
any other refusal (banned, wrong password, invalid nickname) ends the client.

The client trusts the server no more than the server trusts it: frames that break the
protocol are ignored (one warning, then a count), and what it keeps is capped: a frame at
${
  CLIENT_MAX_FRAME_BYTES / (1024 * 1024)
} MiB, ${MAX_JOINED_ROOMS} rooms, ${MAX_MEMBERS_PER_ROOM} members per room, ${MAX_UNANSWERED} unanswered requests, ${
  MAX_UNSENT_BYTES / (1024 * 1024)
} MiB
unsent (input waits from half of it), and an input line or message at ${MAX_INPUT_CHARS} characters.

Exit codes: 0 left normally (/quit, Ctrl-D, Ctrl-C or end of input); 1 could not connect,
connection lost (without reconnection), nickname refused, server full, or refused while
reconnecting; 2 bad command line; 3 (piped or --json only) the server or the client refused
something the script sent.
`;
