/**
 * The plain-text wire format for netcat and telnet users: the first line is the server password
 * (when the server has one), the next a nickname (and, for a nick registered to a password
 * account, its password when asked), every later line a message, and a line ending in `\`
 * continues on the next. Output is rendered for its reader: lines from rooms other than
 * the current one are tagged when the reader is in several, `/timestamps on` stamps them, and a
 * direct message is confirmed to its sender.
 *
 * @module
 */

import { type Awaitable, then } from "../../core/awaitable.ts";
import { sanitizeMessageText } from "../../security/unicode.ts";
import { errorFrame, LOBBY, PROTOCOL_VERSION, type ServerFrame } from "../frames.ts";
import { decodeUtf8 } from "../ndjson/decode.ts";
import { concat, type Deliverable, Outgoing, OutgoingBatch } from "../outgoing.ts";
import type { LoginAttempt, ProtocolSession, SessionPort } from "../session.ts";
import { PLAIN, plainBytes } from "./encode.ts";
import { ANY_READER, type PlainReader, prefixLines, renderPlain } from "./render.ts";

const encoder = new TextEncoder();
const NICK_PROMPT = encoder.encode("Nickname: ");
const PASSWORD_PROMPT = encoder.encode("Server password: ");

/** What a silent new connection is told, in case it is a person on netcat. */
export const PLAIN_GREETING: Uint8Array = encoder.encode(
  "* Welcome to sockchat. Type a nickname and press Enter.\r\n",
);

/**
 * The greeting when the server has a password: that is asked for first, and the greeting says
 * so, so that nobody types their nickname as the password.
 */
export const PLAIN_PASSWORD_GREETING: Uint8Array = encoder.encode(
  "* Welcome to sockchat. This server has a password: type it and press Enter " +
    "(your nickname is asked next).\r\n",
);

/**
 * The greeting for a server with or without a password.
 *
 * @example
 * ```ts
 * plainGreeting(false) === PLAIN_GREETING; // true
 * ```
 */
export function plainGreeting(needsPassword: boolean): Uint8Array {
  return needsPassword ? PLAIN_PASSWORD_GREETING : PLAIN_GREETING;
}

/**
 * The question the greeting leads to: the server password when there is one, else a nickname.
 * It follows the greeting on a line of its own, left open for the answer.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(plainPrompt(false)); // "Nickname: "
 * ```
 */
export function plainPrompt(needsPassword: boolean): Uint8Array {
  return needsPassword ? PASSWORD_PROMPT : NICK_PROMPT;
}

/** `/timestamps`, `/timestamps on`, `/timestamps off`: a setting of the plain session itself. */
const TIMESTAMPS = /^\/timestamps(?:\s+(\S*))?\s*$/i;
/** `/quit`, with or without a reason: the session says goodbye before the peer closes. */
const QUIT = /^\/quit(?:\s|$)/i;
/** What a person who quits reads last, before EOF. */
const GOODBYE = "* Goodbye!";

/**
 * A direct message, `/msg nick text` (or `/reply text`, `/r text`, where the core has them): the
 * text is remembered so that its ack, which names the recipient, can show the sender what went
 * where.
 */
const DIRECT = /^\/(?:msg\s+\S+|reply|r)\s+(\S.*)$/is;

/** A direct message sent and not yet acknowledged: what its sender is shown once it is. */
interface PendingDirect {
  readonly ref: string;
  readonly text: string;
}

/** `Password for NICK: `: the account password of a registered nick, asked after its refusal. */
function accountPrompt(nick: string): Uint8Array {
  return encoder.encode(`Password for ${nick}: `);
}

/** Adapts plain lines from one connection to hub calls. */
export class PlainSession implements ProtocolSession, PlainReader {
  readonly #conn: SessionPort;
  readonly #greeted: boolean;
  /** Lines of a message continued with a trailing backslash. */
  #pending: string[] = [];
  #pendingBytes = 0;
  /** The last line ended in `\`: the message goes on in the next read. */
  #continued = false;
  /** The server password, once typed (asked for first when the server has one). */
  #password: string | undefined;
  /**
   * The registered nick whose account password the next line is: set when a login was refused
   * with `nick_registered` and `need: "password"`.
   */
  #accountNick: string | null = null;
  /** Where this user's lines go: the room they joined last. */
  #room: string = LOBBY;
  /** A person on netcat: closed as soon as the goodbye is flushed (`transport/peer.ts`). */
  readonly closesAtOnce = true;
  /** `/timestamps on`: every line starts with the time of its event. */
  #timestamps = false;
  /** The `/msg` being run, if any (commands run one at a time: the peer waits for each). */
  #direct: PendingDirect | null = null;
  #directs = 0;

  /** `greeted`: the greeting and its prompt were sent while sniffing, so not again. */
  constructor(conn: SessionPort, greeted: boolean) {
    this.#conn = conn;
    this.#greeted = greeted;
  }

  /** Greets and asks for a nickname (or the password), unless the late greeting already did. */
  start(): void {
    if (this.#greeted) return;
    const password = this.#conn.needsPassword;
    this.#conn.sendRaw(plainGreeting(password));
    this.#conn.sendRaw(plainPrompt(password));
  }

  /**
   * Handles one line. Lines that arrive in the same read are a paste and become one multi-line
   * message (sent at {@linkcode endOfBatch}), as do lines continued with a trailing `\`.
   * A line starting with `/` is a command (sent after any text before it), unless a `\`
   * continues a message into it.
   */
  frame(bytes: Uint8Array): Awaitable<void> {
    const line = decodeUtf8(bytes);
    if (line === null) {
      this.#conn.protocolError(errorFrame("bad_utf8", "That line is not valid UTF-8."));
      return;
    }
    const user = this.#conn.user;
    if (user === null) {
      if (!this.#conn.admit(bytes.length)) return;
      if (this.#conn.needsPassword && this.#password === undefined) {
        this.#password = line;
        this.#conn.sendRaw(NICK_PROMPT);
        return;
      }
      const nick = this.#accountNick;
      if (nick !== null) {
        this.#accountNick = null;
        // An empty answer goes back to the nickname: the user may not own this one after all.
        if (line === "") this.#conn.sendRaw(NICK_PROMPT);
        else return this.#login(nick, line);
        return;
      }
      return this.#login(line.trim());
    }
    if (!this.#continued && line.startsWith("/") && !line.startsWith("//")) {
      this.#sendPending(); // text pasted before the command goes first
      if (!this.#conn.admit(bytes.length)) return;
      return this.#command(line.trim());
    }
    if (this.#pendingBytes + bytes.length + 1 > this.#conn.maxFrame + 1) {
      // A paste longer than one frame goes out as several messages, each within the limit.
      this.#sendPending();
    }
    this.#pendingBytes += bytes.length + 1;
    this.#continued = line.endsWith("\\");
    this.#pending.push(this.#continued ? line.slice(0, -1) : line);
  }

  /** Sends what the read held, unless its last line asked to continue. */
  endOfBatch(): void {
    if (!this.#continued) this.#sendPending();
  }

  #sendPending(): void {
    const user = this.#conn.user;
    if (user === null || this.#pending.length === 0) return;
    const text = this.#pending.join("\n").replace(/^\/\//, "/");
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (text.trim() === "") return; // an empty line is not worth an error to a person
    if (!this.#conn.admit(bytes - 1)) return;
    this.#conn.say(this.#current(), text);
  }

  /**
   * This reader's bytes for `out`. Most frames read the same for every plain reader and share
   * one encoding; a room message whose tag depends on where this reader is, a `joined` (which
   * must not list the reader as company), a direct message's ack and, with timestamps on,
   * everything are rendered for this reader alone.
   */
  render(out: Deliverable): Uint8Array {
    const frames = out instanceof Outgoing
      ? [out.frame]
      : out instanceof OutgoingBatch
      ? out.frames
      : null;
    if (frames === null || !this.#personal(frames)) return out.encode(PLAIN);
    return concat(frames.map((frame) => plainBytes(this.#text(frame))));
  }

  /** {@inheritDoc PlainReader.nick} */
  get nick(): string {
    return this.#conn.user?.nick ?? "";
  }

  /** Tags every room but the current one, once the reader is in more than one. */
  tags(room: string): boolean {
    const user = this.#conn.user;
    return user !== null && user.rooms.size > 1 && room !== this.#current();
  }

  /** True if some frame reads differently for this reader than for {@linkcode ANY_READER}. */
  #personal(frames: readonly ServerFrame[]): boolean {
    if (this.#timestamps) return true;
    for (const frame of frames) {
      switch (frame.type) {
        case "msg":
          if (this.tags(frame.room) !== ANY_READER.tags(frame.room)) return true;
          break;
        case "joined":
          return true;
        case "leave":
          // "You were kicked from #r by X", not the room's "* bob was kicked" about oneself.
          if (frame.nick === this.nick) return true;
          break;
        case "ack":
          if (this.#directAcked(frame) !== null) return true;
          break;
      }
    }
    return false;
  }

  /** The text this reader sees for `frame`, stamped when timestamps are on. */
  #text(frame: ServerFrame): string | null {
    // Joining a room makes it current at once: its history, which follows, is not tagged.
    if (frame.type === "joined") this.#room = frame.room;
    const direct = this.#directAcked(frame);
    const text = direct === null
      ? renderPlain(frame, this)
      : prefixLines(`-> ${direct.to}: `, direct.text);
    if (text === null || !this.#timestamps) return text;
    return stamped(("ts" in frame ? frame.ts : undefined) ?? Date.now(), text);
  }

  /** The `/msg` that `frame` acknowledges, with its recipient, if it is that ack. */
  #directAcked(frame: ServerFrame): { to: string; text: string } | null {
    if (frame.type !== "ack" || frame.to === undefined || this.#direct === null) return null;
    return frame.ref === this.#direct.ref ? { to: frame.to, text: this.#direct.text } : null;
  }

  /** The room lines go to: the current one, or any room the user is still in once it is left. */
  #current(): string {
    if (!this.#conn.isIn(this.#room)) this.#room = this.#conn.anyRoom() ?? this.#room;
    return this.#room;
  }

  /** Runs a slash command: `/timestamps` here, the rest in the core. */
  #command(line: string): Awaitable<void> {
    const timestamps = TIMESTAMPS.exec(line);
    if (timestamps !== null) {
      this.#setTimestamps(timestamps[1]?.toLowerCase() ?? "");
      return;
    }
    // Said first: once the core has run /quit, the connection takes no more output.
    if (QUIT.test(line)) this.#conn.send({ type: "info", text: GOODBYE });
    const direct = DIRECT.exec(line);
    let ref: string | undefined;
    if (direct !== null) {
      ref = `dm${++this.#directs}`;
      // The sender's own words, cleaned as the server cleans them before the recipient sees them.
      this.#direct = { ref, text: sanitizeMessageText(direct[1]) };
    }
    return then(this.#conn.command(line, this.#current(), ref), (outcome) => {
      this.#direct = null;
      if (outcome.room !== undefined) this.#room = outcome.room;
    });
  }

  #setTimestamps(setting: string): void {
    if (setting === "on" || setting === "off") this.#timestamps = setting === "on";
    else if (setting !== "") {
      this.#conn.send(errorFrame("bad_command", "Usage: /timestamps [on|off]"));
      return;
    }
    const state = this.#timestamps ? "on (UTC, HH:MM)" : "off";
    this.#conn.send({ type: "info", text: `* Timestamps are ${state}.` });
  }

  /**
   * Logs in as `nick`. A refusal that is not fatal asks again: for the account password when
   * the nick is a password account (again after a wrong one, until the core's lockout ends
   * it), else for another nickname.
   */
  #login(nick: string, accountPassword?: string): Awaitable<void> {
    if (nick === "") {
      this.#conn.sendRaw(NICK_PROMPT);
      return;
    }
    const attempt: LoginAttempt = { version: PROTOCOL_VERSION, nick, password: this.#password };
    if (accountPassword !== undefined) attempt.accountPassword = accountPassword;
    return then(this.#conn.login(attempt), (refusal) => {
      if (refusal === null || refusal.fatal) return;
      const wantsPassword = (refusal.code === "nick_registered" && refusal.need === "password") ||
        refusal.code === "bad_account_password";
      if (wantsPassword) {
        this.#accountNick = nick;
        this.#conn.sendRaw(accountPrompt(nick));
        return;
      }
      // Taken, invalid, or a key account (nothing typed here can prove a key; the refusal
      // says whose it is): another nickname.
      this.#conn.sendRaw(NICK_PROMPT);
    });
  }
}

/**
 * Rendered text with `[14:05] ` before its first line and as many spaces before the others, so a
 * block keeps its shape: the event's time of day, in UTC (the server does not know the reader's
 * zone).
 */
function stamped(ts: number, text: string): string {
  const stamp = `[${new Date(ts).toISOString().slice(11, 16)}] `;
  return stamp + text.replaceAll("\n", "\n" + " ".repeat(stamp.length));
}
