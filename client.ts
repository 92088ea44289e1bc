/**
 * `sockchat join`: connects, logs in, then sends what the user types (or what is piped in) and
 * prints what arrives, until the user leaves or the connection ends. In a terminal, a
 * connection lost unexpectedly is re-established with backoff, resuming every room where the
 * user left off. Given several addresses (the nodes of one chat), it tries them in turn.
 *
 * @module
 */

import { loadCaCerts } from "./transport/tcp/tls.ts";
import {
  ChatClient,
  ClientError,
  type ClientIdentity,
  type ConnectOptions,
} from "./client/chat_client.ts";
import { serverTarget } from "./client/identity_key.ts";
import { serverLabel, ServerRing, triesNextServer } from "./client/server_ring.ts";
import { type JoinIdentity, joinIdentity } from "./client/join_identity.ts";
import { loadJoinPassword } from "./client/password.ts";
import { backoffDelay, shouldRetryLogin } from "./client/reconnect.ts";
import { clean } from "./client/render.ts";
import type { RoomState } from "./client/room_state.ts";
import { chatParts, EXIT, runChat } from "./client/run_chat.ts";
import type { ConnectionEnd, Session } from "./client/session.ts";
import { localTerminal } from "./client/terminal_port.ts";
import { pause, whenAborted } from "./client/timing.ts";
import type { JoinArgs } from "./cli/join_args.ts";

export { EXIT } from "./client/run_chat.ts";

/** How `join` talks to its user, decided from the flags and what stdin and stdout are. */
export interface JoinMode {
  /** A person at a terminal: line editing, prompt, colours, bell, reconnection. */
  interactive: boolean;
  /** Colour the output (a terminal, and NO_COLOR unset). */
  color: boolean;
  /** How message times are shown. */
  timestamps: "short" | "long" | "none";
  /** Reconnect after the connection drops. */
  reconnect: boolean;
}

/** Decides the mode: interactive only when stdin and stdout are both terminals and not --json. */
export function joinMode(args: JoinArgs, stdinTty: boolean, stdoutTty: boolean): JoinMode {
  const interactive = !args.json && stdinTty && stdoutTty;
  return {
    interactive,
    color: args.color && stdoutTty && !args.json,
    timestamps: args.timestamps ?? (stdoutTty ? "short" : "none"),
    reconnect: args.reconnect ?? interactive,
  };
}

/** Runs a session; resolves to the process exit code. */
export async function runJoin(args: JoinArgs): Promise<number> {
  const mode = joinMode(args, Deno.stdin.isTerminal(), Deno.stdout.isTerminal());
  const target = args.servers.map(serverLabel).join(",");
  const ring = new ServerRing(args.servers);
  // One chat, one identity: every node is offered the key of the first address.
  const keyServer = serverTarget(args.host, args.port);
  let client: ChatClient;
  let password: string | undefined;
  let secure: { caCerts?: string[] } | undefined;
  let who: JoinIdentity;
  try {
    password = await loadJoinPassword(args.passwordFile, (name) => Deno.env.get(name));
    secure = args.tls
      ? { caCerts: args.ca === undefined ? undefined : await loadCa(args.ca) }
      : undefined;
    who = await joinIdentity(args, (name) => Deno.env.get(name), mode.interactive);
    client = await connectAny(
      ring,
      { ...args, password, secure, keyServer, ...who },
      (message) => console.error(`sockchat: ${clean(message)}`),
    );
  } catch (error) {
    if (error instanceof ClientError) {
      // The message may quote the server (a refusal's wording): neutralise it like any other.
      console.error(`sockchat: ${clean(error.message)}`);
      return EXIT.failure;
    }
    throw error;
  }
  const env = (name: string) => Deno.env.get(name);
  const parts = chatParts(client.welcome.nick, {
    terminal: mode.interactive ? localTerminal() : undefined,
    color: mode.color,
    theme: args.theme,
    env,
    timestamps: mode.timestamps,
    bell: args.bell,
    json: args.json,
    target,
  });
  const { state, session } = parts;
  return await runChat({
    client,
    parts,
    reconnect: mode.reconnect
      ? (end, left) =>
        reconnect(
          {
            // The key, and an account password once asked: never asked again while chatting.
            args: { ...args, password, secure, keyServer, identity: who.identity },
            ring,
            state,
            session,
            interactive: mode.interactive,
          },
          end,
          left,
        )
      : undefined,
  });
}

/**
 * Tries to log in again with backoff, resuming every room from the last message seen there.
 * Resolves to the new client, to a sentence when retrying is pointless, or to null when the
 * user left meanwhile.
 */
async function reconnect(
  { args, ring, state, session, interactive }: {
    args: JoinArgs & {
      password?: string;
      secure?: { caCerts?: string[] };
      identity?: ClientIdentity;
      keyServer: string;
    };
    ring: ServerRing;
    state: RoomState;
    session: Session;
    interactive: boolean;
  },
  end: ConnectionEnd,
  left: AbortSignal,
): Promise<ChatClient | string | null> {
  // A goodbye or fatal error has been shown already; a plain drop has not.
  if (end.ending.kind === "lost") session.notice(`! ${end.message}`, "error");
  let lastFailure = "";
  for (let attempt = 1;; attempt++) {
    session.setConnection({ kind: "reconnecting", attempt });
    const wait = backoffDelay(attempt);
    // A terminal's prompt counts the attempts; a script's reader only sees lines.
    if (attempt === 1 || !interactive) {
      session.notice(`Reconnecting (attempt ${attempt})...`, "warn");
    }
    if (!(await pause(wait, left))) return null;
    // As whoever we were last (after any /nick), back in every room we were in; from the
    // address after the one that dropped (a node that died is tried last).
    const trying = connectAny(
      ring,
      { ...args, nick: state.nick, resume: state.resume() },
      (message) => session.notice(`! ${message}`, "error"),
    );
    try {
      const client = await Promise.race([trying, whenAborted(left).then(() => null)]);
      if (client === null) {
        trying.then((c) => c.close(), () => {});
        return null;
      }
      return client;
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      if (!shouldRetryLogin(error.code)) return error.message;
      // Say why once; the prompt counts the attempts.
      if (error.message !== lastFailure) session.notice(`! ${error.message}`, "error");
      lastFailure = error.message;
    }
  }
}

/**
 * Connects to the addresses of `ring` in turn, from its next one, until one logs in: at most
 * one round. A failure that another node would not repeat (nothing answered, or the node
 * refused for a reason of its own) is told with `skipped` and the next address is tried; the
 * last failure, or any other refusal, is thrown.
 */
async function connectAny(
  ring: ServerRing,
  options: Omit<ConnectOptions, "host" | "port">,
  skipped: (message: string) => void,
): Promise<ChatClient> {
  for (let tried = 1;; tried++) {
    const server = ring.take();
    try {
      return await ChatClient.connect({ ...options, host: server.host, port: server.port });
    } catch (error) {
      if (!(error instanceof ClientError) || tried >= ring.size || !triesNextServer(error.code)) {
        throw error;
      }
      skipped(`${error.message}; trying the next address`);
    }
  }
}

/** Reads the `--ca` file, turning problems into one-line client errors. */
async function loadCa(file: string): Promise<string[]> {
  try {
    return await loadCaCerts(file);
  } catch (error) {
    throw new ClientError((error as Error).message.replace(/\.$/, ""));
  }
}
