/**
 * The body of a chat session, shared by `sockchat join` and the chat the server hosts for SSH
 * users: from a logged-in client to the exit code. It builds the state, renderer, front end and
 * session, pumps frames while the user types, and leaves cleanly (everything sent answered, then
 * a goodbye). Logging in and reconnecting stay with the caller: only `join` reconnects.
 *
 * @module
 */

import type { ChatClient } from "./chat_client.ts";
import { defaultTheme, Palette, type ThemeName } from "./colors.ts";
import { COMMAND_NAMES, complete } from "./completion.ts";
import { PipedUi, type PipedUiOptions } from "./piped_ui.ts";
import { shouldReconnect } from "./reconnect.ts";
import { Renderer } from "./render.ts";
import { RoomState } from "./room_state.ts";
import {
  COMMAND_ANSWER_MS,
  type ConnectionEnd,
  LOCAL_COMMAND_NAMES,
  QUIT_GRACE_MS,
  Session,
} from "./session.ts";
import type { TerminalPort } from "./terminal_port.ts";
import { TerminalUi } from "./terminal_ui.ts";
import { atMost, whenAborted } from "./timing.ts";
import type { ClientUi } from "./ui.ts";

/**
 * Exit codes of a chat. `refused`: the session ended normally, but without a person at a
 * terminal (piped, `--json`) and with something it sent refused (an unknown command, a message
 * while muted...), so a bot's caller learns of it.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, refused: 3 } as const;

/** How a chat talks to its user. */
export interface ChatLook {
  /**
   * A person at a terminal (`terminal` given): line editing, prompt, colours, bell, own
   * messages echoed once acknowledged. Otherwise lines in and out (`piped`).
   */
  terminal?: TerminalPort;
  /** Longest line kept while it is edited in the terminal. @default MAX_INPUT_CHARS */
  maxLineChars?: number;
  /** Where a chat without a terminal reads and writes. @default stdin, stdout and stderr */
  piped?: PipedUiOptions;
  /** Colour the output. */
  color: boolean;
  /** The colour theme. @default defaultTheme(env) */
  theme?: ThemeName;
  /** Reads the user's environment ($COLORFGBG for the default theme). */
  env: (name: string) => string | undefined;
  /** How message times are shown. */
  timestamps: "short" | "long" | "none";
  /** Ring the bell for events addressed to the user. */
  bell: boolean;
  /** Print every frame as one JSON line instead. */
  json: boolean;
  /** The server, as messages name it. */
  target: string;
}

/** The parts of a running chat. */
export interface ChatParts {
  /** Rooms, members and resume marks. */
  state: RoomState;
  /** The front end. */
  ui: ClientUi;
  /** Input routing and output. */
  session: Session;
  /** True with a terminal. */
  interactive: boolean;
}

/** Builds the state, renderer, front end and session for a user who logged in as `nick`. */
export function chatParts(nick: string, look: ChatLook): ChatParts {
  const terminal = look.terminal;
  const interactive = terminal !== undefined;
  const state = new RoomState(nick);
  const palette = new Palette(look.color, look.theme ?? defaultTheme(look.env));
  const renderer = new Renderer(state, {
    palette,
    timestamps: look.timestamps,
    keys: interactive,
    // A terminal's lines are wrapped at its width; a pipe's reader gets them whole.
    columns: terminal === undefined ? undefined : () => terminal.columns(),
  });
  const ui: ClientUi = terminal !== undefined
    ? new TerminalUi({ room: state.room, nick: state.nick, connection: { kind: "connected" } }, {
      palette,
      bell: look.bell,
      terminal,
      maxLineChars: look.maxLineChars,
      complete: (before) =>
        complete(before, {
          commands: [...COMMAND_NAMES, ...LOCAL_COMMAND_NAMES],
          nicks: state.present(),
          speakers: state.recentSpeakers(),
          rooms: state.roomNames(),
        }),
    })
    : new PipedUi(look.piped);
  const session = new Session({
    ui,
    state,
    renderer,
    json: look.json,
    showOwn: interactive,
    target: look.target,
    palette,
    shortcodes: interactive,
  });
  return { state, ui, session, interactive };
}

/** Options for {@linkcode runChat}. */
export interface RunChatOptions {
  /** The logged-in client the chat starts with. */
  client: ChatClient;
  /** The chat's parts, from {@linkcode chatParts}. */
  parts: ChatParts;
  /**
   * After a connection ended in a way worth reconnecting after: the next client, a sentence
   * when retrying is pointless, or null when the user left meanwhile (`left` aborts then).
   * Undefined: the chat ends with the connection.
   */
  reconnect?: (end: ConnectionEnd, left: AbortSignal) => Promise<ChatClient | string | null>;
  /** Ends the chat at once (the connection closed, nothing more said) once aborted. */
  signal?: AbortSignal;
}

/** Runs the chat until the user leaves or the connection ends; resolves to the exit code. */
export async function runChat(
  { client, parts, reconnect, signal }: RunChatOptions,
): Promise<number> {
  const { ui, session, interactive } = parts;
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
  const stopped = signal === undefined ? new Promise<never>(() => {}) : whenAborted(signal);

  let failure: string | null = null;
  let shown = false;
  session.attach(client, false);
  while (true) {
    const pumping = session.pump(client);
    const end = await Promise.race([
      pumping,
      userLeft.then(() => "left" as const),
      stopped.then(() => "stopped" as const),
    ]);
    if (end === "stopped") {
      client.close();
      await pumping;
      break;
    }
    if (end === "left") {
      await atMost(Promise.race([client.whenSettled(), pumping, stopped]), QUIT_GRACE_MS);
      if (!signal?.aborted) await client.quit(session.quitReason);
      await atMost(Promise.race([pumping, stopped]), QUIT_GRACE_MS);
      client.close();
      break;
    }
    client.close();
    session.detach();
    if (reconnect === undefined || !shouldReconnect(end.ending)) {
      failure = end.message;
      // A goodbye or fatal error is on the screen already: a terminal need not see it twice.
      shown = end.ending.kind !== "lost" && interactive;
      break;
    }
    const next = await reconnect(end, left.signal);
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
  if (signal?.aborted) return EXIT.failure;
  return !interactive && session.refused > 0 ? EXIT.refused : EXIT.ok;
}
