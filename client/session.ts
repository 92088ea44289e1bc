/**
 * One chat session as the user sees it, across reconnections: it hands what the user enters to
 * the current connection (or keeps it while there is none), and turns the frames that arrive
 * into room state, output and the status line. It decides nothing about reconnecting; it only
 * reports how each connection ended.
 *
 * @module
 */

import { type AckFrame, LOBBY, type ServerFrame, type WelcomeFrame } from "../protocol/frames.ts";
import { type ChatClient, ClientError, describeError, type Sent } from "./chat_client.ts";
import { isThemeName, type Palette, type Role, THEME_NAMES, themeChoices } from "./colors.ts";
import { type Input, parseInput, usesCurrentRoom } from "./input.ts";
import { jsonLine } from "./json_line.ts";
import { MAX_UNSENT_BYTES } from "./limits.ts";
import type { Ending } from "./reconnect.ts";
import { atMost } from "./timing.ts";
import { cleanLine, type Rendered, type Renderer } from "./render.ts";
import type { RoomState } from "./room_state.ts";
import type { ClientUi, ConnectionState } from "./ui.ts";
import { counted } from "../core/text.ts";
import { FLOOD_MESSAGE_BURST } from "../config/security_limits.ts";

/** Commands the client handles itself, never sent to the server (for Tab completion). */
export const LOCAL_COMMAND_NAMES: readonly string[] = ["/theme"];

/** `/theme` or `/theme NAME` (any case), with what follows it. */
const THEME_COMMAND = /^\/theme(?:\s+([\s\S]*))?$/i;

/**
 * Frames of a server's smallest burst (`FLOOD_MESSAGE_BURST`; `--rate` only raises it) left
 * unused by the kept input: the `hello` that opens the connection, and a `pong` or two that may
 * go out while the kept lines do.
 */
const OFFLINE_QUEUE_HEADROOM = 5;

/**
 * Messages and commands entered while disconnected, kept to send once connected again; past it
 * each is refused as it is typed. The kept lines go out together the moment the connection is
 * back, so they must fit the server's flood burst: past it the server refuses each one as
 * `rate_limited` (after the client said it would send it), and a longer run disconnects the
 * client. A server whose welcome gives its flood limits has them paced out (see `pacer.ts`);
 * refusing at typing time keeps the promise on any server, one from before those limits too:
 * the burst is never below this one, while the sustained `--rate` is not known until the welcome.
 */
export const MAX_OFFLINE_QUEUE = FLOOD_MESSAGE_BURST - OFFLINE_QUEUE_HEADROOM;

/** Characters of a kept message quoted in a script's "not connected" line. */
const KEPT_QUOTE_CHARS = 60;

/** `text` on one line, cut to {@linkcode KEPT_QUOTE_CHARS}. */
function cut(text: string): string {
  const line = cleanLine(text.replaceAll("\n", " "));
  const chars = [...line];
  return chars.length <= KEPT_QUOTE_CHARS
    ? line
    : chars.slice(0, KEPT_QUOTE_CHARS - 1).join("") + "…";
}

/** What a message, or a command for the current room, gets in no room instead of being sent. */
export const NOT_IN_A_ROOM =
  "You are in no room, so that was not sent: /join #lobby (or any room; /rooms lists them).";

/** On the way out, how long to wait for the server to answer what was sent, then to close. */
export const QUIT_GRACE_MS = 10_000;

/**
 * How long input waits for a command's answer before going on (the server answers every
 * command at once; this only bounds a server that does not).
 */
export const COMMAND_ANSWER_MS = 10_000;

/** How a connection ended, with a sentence for the user. */
export interface ConnectionEnd {
  /** Whether the link was lost, the server sent a fatal error, or it said goodbye. */
  ending: Ending;
  /** One sentence for the user. */
  message: string;
}

/** What became of one frame: handled, the end of the connection, or ignored as broken. */
type Handled =
  | { kind: "handled" }
  | { kind: "end"; end: ConnectionEnd }
  | { kind: "ignored"; problem: string };

const HANDLED: Handled = { kind: "handled" };

/** What the session needs. */
export interface SessionOptions {
  /** Where lines go and where input comes from. */
  ui: ClientUi;
  /** Rooms, members and resume marks, kept from the frames. */
  state: RoomState;
  /** Turns frames into lines. */
  renderer: Renderer;
  /** Print every frame as one JSON line instead of rendering it. */
  json: boolean;
  /** Show the user's own messages once acknowledged (a terminal; a pipe's reader sent them). */
  showOwn: boolean;
  /** `host:port`, for messages (a connection's own, once attached: `join a,b` has several). */
  target: string;
  /** The colours, whose theme `/theme` switches; without it `/theme` says there is none. */
  palette?: Palette;
  /**
   * Turn `:shortcode:` emoji into emoji in what the user sends (a terminal; a bot's text is
   * relayed as it is). @default false
   */
  shortcodes?: boolean;
}

/** The session: state, output and input routing. */
export class Session {
  readonly #o: SessionOptions;
  #client: ChatClient | null = null;
  #connection: ConnectionState = { kind: "connected" };
  readonly #outbox: string[] = [];
  /**
   * What was kept while disconnected and is not yet answered, oldest first: shown (dimmed, in a
   * terminal) until the server acknowledges it. `ref` is null until it has been sent.
   */
  readonly #pending: { text: string; ref: string | null }[] = [];
  /** Whether the user has been told, since the connection was lost, that input is kept. */
  #toldKept = false;
  #draining = false;
  /** Messages and commands refused, by the server (an error with their ref) or here. */
  #refused = 0;
  /** Whether the user has been told that the server sends frames that break the protocol. */
  #warned = false;

  /** Holds `options` for the whole run; each connection is attached in turn. */
  constructor(options: SessionOptions) {
    this.#o = options;
  }

  /**
   * How many messages and commands were refused: by the server (a non-fatal error frame
   * carrying their ref) or before sending (in no room, or with the offline queue full). A bot
   * learns of it from `join`'s exit code.
   */
  get refused(): number {
    return this.#refused;
  }

  /** Entered messages waiting for a connection. */
  get queued(): number {
    return this.#outbox.length;
  }

  /** Starts using `client` (just logged in): shows the welcome and sends what was kept. */
  attach(client: ChatClient, reconnected: boolean): void {
    this.#client = client;
    this.#toldKept = false;
    this.#welcome(client.welcome, reconnected);
    this.setConnection({ kind: "connected" });
    void this.#drain();
  }

  /** Stops using the current connection; tells the user what it may not have delivered. */
  detach(): void {
    const client = this.#client;
    if (client === null) return;
    this.#client = null;
    for (const sent of client.unanswered()) {
      if (sent.kind === "say") this.notice(`! Maybe not delivered: ${sent.text}`, "error");
    }
    // Kept input that went out on this connection is unanswered now: said above, not pending.
    this.#settlePending((p) => p.ref !== null);
  }

  /** What the user gave with `/quit`, to tell the rooms (undefined: nothing). */
  quitReason: string | undefined;

  /** Updates the connection state shown to the user. */
  setConnection(state: ConnectionState): void {
    this.#connection = state;
    this.#syncStatus();
  }

  /**
   * Handles one entered message. Returns "quit" when the user asked to leave; for a command,
   * a promise of its answer, which the caller awaits before sending more, so that a line after
   * `/join #x` goes to #x.
   */
  submit(text: string): "quit" | "ok" | Promise<void> {
    const input = parseInput(text, { shortcodes: this.#o.shortcodes });
    if (input.kind === "quit") {
      this.quitReason = input.reason;
      return "quit";
    }
    if (input.kind === "empty") return "ok";
    const theme = input.kind === "command" ? THEME_COMMAND.exec(input.line.trim()) : null;
    if (theme !== null) return this.#theme(theme[1]?.trim() ?? "");
    // While kept messages are still going out, new ones queue behind them to keep the order.
    if (this.#client === null || this.#draining) return this.#keep(text);
    return this.#send(this.#client, input);
  }

  /**
   * Handles frames from `client` until its connection ends; resolves to how it ended. Frames
   * that break the protocol are ignored: the first is reported, the rest only counted, and the
   * count is given when the connection ends.
   */
  async pump(client: ChatClient): Promise<ConnectionEnd> {
    let end: ConnectionEnd | null = null;
    let ignored = 0;
    let reported = false;
    try {
      for await (const incoming of client.frames()) {
        const handled: Handled = incoming.kind === "frame"
          ? this.#handle(incoming.frame, client)
          : {
            kind: "ignored",
            problem: incoming.kind === "invalid"
              ? incoming.problem
              : "a line that is not a JSON frame",
          };
        if (handled.kind === "end") end ??= handled.end;
        if (handled.kind !== "ignored") continue;
        ignored++;
        // Once per session: a broken server would otherwise bury the chat in warnings.
        if (this.#warned) continue;
        this.#warned = reported = true;
        this.notice(
          `! Ignored ${handled.problem} from the server (it breaks the protocol); ` +
            "more such frames will be ignored and only counted.",
          "warn",
        );
      }
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      end ??= { ending: { kind: "lost" }, message: error.message };
    } finally {
      if (ignored > (reported ? 1 : 0)) {
        this.notice(
          `! Ignored ${counted(ignored, "frame")} from the server that broke ` +
            "the protocol.",
          "warn",
        );
      }
    }
    return end ?? { ending: { kind: "lost" }, message: `lost the connection to ${client.target}` };
  }

  /** A line from the client itself: on stdout, or on stderr in JSON mode (stdout is for frames). */
  notice(text: string, role: Role = "dim"): void {
    if (this.#o.json) this.#o.ui.fail(`sockchat: ${text}`);
    else this.#show(this.#o.renderer.notice(text, role));
  }

  /**
   * `/theme` (handled here, never sent): without a name, says the current theme and the
   * choices; with one, switches to it, which the next lines and the prompt are painted in.
   */
  #theme(name: string): "ok" {
    const palette = this.#o.palette;
    const off = palette?.enabled === false
      ? " (colours are off: --no-color, $NO_COLOR or not a terminal)"
      : "";
    if (name === "") {
      this.notice(
        `* Theme: ${palette?.theme ?? "none"}${off}. Choose one with /theme ${
          THEME_NAMES.join("|")
        }.`,
      );
      return "ok";
    }
    const wanted = name.toLowerCase();
    if (!isThemeName(wanted)) {
      this.#refused++;
      this.notice(`! There is no theme "${name}": choose ${themeChoices()}.`, "warn");
      return "ok";
    }
    if (palette !== undefined) palette.theme = wanted;
    this.notice(`* Theme: ${wanted}${off}.`);
    return "ok";
  }

  /** Sends `input`; `onSent` gets its ref when it went to the server. */
  #send(
    client: ChatClient,
    input: Input,
    onSent: (ref: string) => void = () => {},
  ): "ok" | Promise<void> {
    const room = this.#o.state.room;
    if (input.kind === "say") {
      // Said locally: the server would only answer that we are not in whatever room we named.
      if (room === null) {
        this.#refused++;
        this.notice(NOT_IN_A_ROOM, "warn");
        return "ok";
      }
      const ref = client.send(input.text, room);
      onSent(ref);
      // Input waits for its turn under the server's flood limits: a pipe is read only as fast
      // as its lines go out, so nothing piles up here.
      if (client.waiting(ref)) return this.#held(client, input.text, ref);
      // Input waits while the server is slow to read, long before the client gives up on it.
      return client.unsentBytes > MAX_UNSENT_BYTES / 2 ? client.flushed() : "ok";
    }
    if (input.kind === "command") {
      if (room === null && usesCurrentRoom(input.line)) {
        this.#refused++;
        this.notice(NOT_IN_A_ROOM, "warn");
        return "ok";
      }
      // In no room, the protocol's default room: commands that need one say how to join it.
      const ref = client.command(input.line, room ?? LOBBY);
      onSent(ref);
      if (client.waiting(ref)) void this.#held(client, input.line, ref);
      return client.answered(ref);
    }
    return "ok";
  }

  /**
   * A line waiting its turn under the server's flood limits: shown as pending (dimmed, in a
   * terminal) until the server answers it, as kept lines are. Resolves once it has gone out.
   */
  #held(client: ChatClient, text: string, ref: string): Promise<void> {
    // Kept lines going out on reconnection have their pending entry already.
    if (!this.#pending.some((p) => p.ref === ref)) {
      this.#pending.push({ text, ref });
      this.#syncPending();
    }
    return client.released(ref);
  }

  #keep(text: string): "ok" {
    if (this.#outbox.length >= MAX_OFFLINE_QUEUE) {
      this.#refused++;
      this.notice(
        `! Not connected, and ${MAX_OFFLINE_QUEUE} messages already wait: that one was not ` +
          "kept (more at once would be refused by the server's flood control).",
        "error",
      );
      return "ok";
    }
    this.#outbox.push(text);
    if (this.#client !== null) {
      // Only queued behind kept input going out now: it is not waiting for a connection.
    } else if (!this.#o.showOwn) {
      // A script's reader sees no input area: the line itself says what was kept.
      this.notice(`Not connected: kept "${cut(text)}" to send once the connection is back.`);
    } else if (!this.#toldKept) {
      this.#toldKept = true;
      this.notice(
        "Not connected: what you type is kept, shown dimmed, and sent once the connection is back.",
      );
    }
    this.#pending.push({ text, ref: null });
    this.#syncPending();
    return "ok";
  }

  /** Forgets the pending entries that `done` picks, and shows the rest. */
  #settlePending(done: (pending: { text: string; ref: string | null }) => boolean): void {
    const before = this.#pending.length;
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      if (done(this.#pending[i])) this.#pending.splice(i, 1);
    }
    if (this.#pending.length !== before) this.#syncPending();
  }

  #syncPending(): void {
    if (this.#o.showOwn && !this.#o.json) this.#o.ui.setPending(this.#pending.map((p) => p.text));
  }

  /** Sends what was kept while disconnected, in order, each command after its answer. */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      let text: string | undefined;
      while (this.#client !== null && (text = this.#outbox.shift()) !== undefined) {
        // The outbox is the pending entries not yet sent, in the same order.
        const entry = this.#pending.find((p) => p.ref === null);
        let sentRef: string | null = null;
        const sent = this.#send(
          this.#client,
          parseInput(text, { shortcodes: this.#o.shortcodes }),
          (ref) => (sentRef = ref),
        );
        if (entry !== undefined) {
          // Not sent after all (refused here): nothing will answer it.
          if (sentRef === null) this.#settlePending((p) => p === entry);
          else entry.ref = sentRef;
        }
        if (sent !== "ok") await atMost(sent, COMMAND_ANSWER_MS);
      }
    } finally {
      this.#draining = false;
    }
  }

  #welcome(frame: WelcomeFrame, reconnected: boolean): void {
    this.#o.state.apply(frame);
    if (this.#o.json) return this.#o.ui.print(jsonLine(frame));
    if (!reconnected) return this.#show(this.#o.renderer.frame(frame));
    const rooms = this.#o.state.rooms.map((r) => r.name).join(", ") || "no room";
    const target = this.#client?.target ?? this.#o.target;
    this.notice(`Reconnected to ${target} as ${frame.nick}, in ${rooms}.`);
  }

  /** Applies, shows and answers one frame; says whether it ends the connection or was ignored. */
  #handle(frame: ServerFrame, client: ChatClient): Handled {
    // The welcome answers the hello; another one would reset what we know mid-session.
    if (frame.type === "welcome") return { kind: "ignored", problem: `a second "welcome" frame` };
    const refused = this.#o.state.apply(frame);
    if (refused !== null) return { kind: "ignored", problem: refused };
    // Whatever answers kept input (an ack, an error, a command's reply) ends its wait.
    const ref = "ref" in frame ? frame.ref : undefined;
    if (ref !== undefined && this.#pending.length > 0) this.#settlePending((p) => p.ref === ref);
    if (this.#o.json) this.#o.ui.print(jsonLine(frame));
    switch (frame.type) {
      case "ping":
        client.pong(frame.token);
        return HANDLED;
      case "ack": {
        const sent = client.sent(frame.ref);
        if (sent !== undefined && this.#o.showOwn && !this.#o.json) this.#own(frame, sent);
        return HANDLED;
      }
      case "error":
        // Only a refusal of something we sent counts against the session: it carries the ref
        // (a flood refusal too, once the client has sent it again MAX_RATE_RETRIES times), or it
        // is a flood refusal naming none from a server that gives no limits to pace by, which
        // drops what we sent past its rate without saying what (the first of a run is told; a
        // bot's exit code says it). Paced, everything we send carries a ref: a refusal naming
        // none dropped a pong.
        if (
          client.sent(frame.ref) !== undefined ||
          (frame.code === "rate_limited" && frame.ref === undefined && !client.paces)
        ) this.#refused++;
        this.#render(frame);
        return frame.fatal
          ? {
            kind: "end",
            end: { ending: { kind: "error", code: frame.code }, message: describeError(frame) },
          }
          : HANDLED;
      case "bye":
        this.#render(frame);
        return {
          kind: "end",
          end: { ending: { kind: "bye", reason: frame.reason }, message: frame.message },
        };
      default:
        this.#render(frame);
        return HANDLED;
    }
  }

  #render(frame: ServerFrame): void {
    if (!this.#o.json) this.#show(this.#o.renderer.frame(frame));
    this.#syncStatus();
  }

  /** Shows our own message, action or direct message once the server has accepted it. */
  #own(ack: AckFrame, sent: Sent): void {
    const r = this.#o.renderer;
    if (sent.kind === "say") {
      return this.#show(r.own({ room: ack.room, text: sent.text, ts: ack.ts }));
    }
    const [, name = "", args = ""] = /^\/(\S*)\s*([\s\S]*)$/.exec(sent.text) ?? [];
    if (ack.to !== undefined) {
      // `/msg NICK text` names its recipient first; `/reply text` and `/r text` do not.
      const named = !["reply", "r"].includes(name.toLowerCase());
      const text = named ? /^\S+\s+([\s\S]*)$/.exec(args)?.[1] ?? args : args;
      return this.#show(r.own({ room: ack.room, text, ts: ack.ts, to: ack.to }));
    }
    if (name.toLowerCase() === "me") {
      this.#show(r.own({ room: ack.room, text: args, ts: ack.ts, action: true }));
    }
  }

  #show(rendered: Rendered | null): void {
    if (rendered !== null) this.#o.ui.print(rendered.text, { bell: rendered.bell });
  }

  #syncStatus(): void {
    const { room, nick } = this.#o.state;
    this.#o.ui.setStatus({ room, nick, connection: this.#connection });
  }
}
