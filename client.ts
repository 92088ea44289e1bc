/**
 * `sockchat join`: connects, logs in, then sends what the user types (or what is piped in) and
 * prints what arrives, until the user leaves or the connection ends. In a terminal, a
 * connection lost unexpectedly is re-established with backoff, resuming every room where the
 * user left off.
 *
 * @module
 */

import { loadCaCerts } from "./transport/tcp/tls.ts";
import { ChatClient, ClientError } from "./client/chat_client.ts";
import { defaultTheme, Palette } from "./client/colors.ts";
import { COMMAND_NAMES, complete } from "./client/completion.ts";
import { loadJoinPassword } from "./client/password.ts";
import { PipedUi } from "./client/piped_ui.ts";
import { backoffDelay, shouldReconnect, shouldRetryLogin } from "./client/reconnect.ts";
import { clean, Renderer } from "./client/render.ts";
import { RoomState } from "./client/room_state.ts";
import {
  COMMAND_ANSWER_MS,
  type ConnectionEnd,
  LOCAL_COMMAND_NAMES,
  QUIT_GRACE_MS,
  Session,
} from "./client/session.ts";
import { terminalColumns, TerminalUi } from "./client/terminal_ui.ts";
import { atMost, pause, whenAborted } from "./client/timing.ts";
import type { ClientUi } from "./client/ui.ts";
import type { JoinArgs } from "./cli/join_args.ts";

/**
 * Exit codes of `sockchat join`. `refused`: the session ended normally, but without a person
 * at a terminal (piped, `--json`) and with something it sent refused (an unknown command, a
 * message while muted...), so a bot's caller learns of it.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, refused: 3 } as const;

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
  const target = `${args.host}:${args.port}`;
  let client: ChatClient;
  let password: string | undefined;
  let secure: { caCerts?: string[] } | undefined;
  try {
    password = await loadJoinPassword(args.passwordFile, (name) => Deno.env.get(name));
    secure = args.tls
      ? { caCerts: args.ca === undefined ? undefined : await loadCa(args.ca) }
      : undefined;
    client = await ChatClient.connect({ ...args, password, secure });
  } catch (error) {
    if (error instanceof ClientError) {
      // The message may quote the server (a refusal's wording): neutralise it like any other.
      console.error(`sockchat: ${clean(error.message)}`);
      return EXIT.failure;
    }
    throw error;
  }
  const state = new RoomState(client.welcome.nick);
  const palette = new Palette(mode.color, args.theme ?? defaultTheme((name) => Deno.env.get(name)));
  const renderer = new Renderer(state, {
    palette,
    timestamps: mode.timestamps,
    keys: mode.interactive,
    // A terminal's lines are wrapped at its width; a pipe's reader gets them whole.
    columns: mode.interactive ? terminalColumns : undefined,
  });
  const ui: ClientUi = mode.interactive
    ? new TerminalUi({ room: state.room, nick: state.nick, connection: { kind: "connected" } }, {
      palette,
      bell: args.bell,
      complete: (before) =>
        complete(before, {
          commands: [...COMMAND_NAMES, ...LOCAL_COMMAND_NAMES],
          nicks: state.present(),
          speakers: state.recentSpeakers(),
          rooms: state.roomNames(),
        }),
    })
    : new PipedUi();
  const session = new Session({
    ui,
    state,
    renderer,
    json: args.json,
    showOwn: mode.interactive,
    target,
    palette,
    shortcodes: mode.interactive,
  });

  // The user leaves with /quit, EOF, Ctrl-D or Ctrl-C; that aborts whatever is under way.
  const left = new AbortController();
  const userLeft = (async () => {
    for await (const text of ui.inputs()) {
      const submitted = session.submit(text);
      if (submitted === "quit") break;
      if (submitted !== "ok") await atMost(submitted, COMMAND_ANSWER_MS);
    }
    left.abort();
  })();

  let failure: string | null = null;
  let shown = false;
  session.attach(client, false);
  while (true) {
    const pumping = session.pump(client);
    const end = await Promise.race([pumping, userLeft.then(() => null)]);
    if (end === null) {
      await atMost(Promise.race([client.whenSettled(), pumping]), QUIT_GRACE_MS);
      await client.quit(session.quitReason);
      await atMost(pumping, QUIT_GRACE_MS);
      client.close();
      break;
    }
    client.close();
    session.detach();
    if (!mode.reconnect || !shouldReconnect(end.ending)) {
      failure = end.message;
      // A goodbye or fatal error is on the screen already: a terminal need not see it twice.
      shown = end.ending.kind !== "lost" && mode.interactive;
      break;
    }
    const next = await reconnect(
      { args: { ...args, password, secure }, state, session, interactive: mode.interactive },
      end,
      left.signal,
    );
    if (typeof next === "string") failure = next;
    if (next === null || typeof next === "string") break;
    client = next;
    session.attach(client, true);
  }
  if (failure !== null) session.setConnection({ kind: "offline" });
  ui.close();
  if (failure !== null) {
    if (!shown) ui.fail(`sockchat: ${failure}`);
    return EXIT.failure;
  }
  return !mode.interactive && session.refused > 0 ? EXIT.refused : EXIT.ok;
}

/**
 * Tries to log in again with backoff, resuming every room from the last message seen there.
 * Resolves to the new client, to a sentence when retrying is pointless, or to null when the
 * user left meanwhile.
 */
async function reconnect(
  { args, state, session, interactive }: {
    args: JoinArgs & { password?: string; secure?: { caCerts?: string[] } };
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
    // As whoever we were last (after any /nick), back in every room we were in.
    const trying = ChatClient.connect({ ...args, nick: state.nick, resume: state.resume() });
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

/** Reads the `--ca` file, turning problems into one-line client errors. */
async function loadCa(file: string): Promise<string[]> {
  try {
    return await loadCaCerts(file);
  } catch (error) {
    throw new ClientError((error as Error).message.replace(/\.$/, ""));
  }
}
