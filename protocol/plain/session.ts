/**
 * The plain-text wire format for netcat and telnet users: the first line is the server password
 * (when the server has one), the next a nickname, every later line a message, and a line ending
 * in `\` continues on the next.
 *
 * @module
 */

import { type Awaitable, then } from "../../core/awaitable.ts";
import { errorFrame, LOBBY, PROTOCOL_VERSION } from "../frames.ts";
import { decodeUtf8 } from "../ndjson/decode.ts";
import type { ProtocolSession, SessionPort } from "../session.ts";

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

/** `/quit`, with or without a reason: the session says goodbye before the peer closes. */
const QUIT = /^\/quit(?:\s|$)/i;
/** What a person who quits reads last, before EOF. */
const GOODBYE = "* Goodbye!";

/** Adapts plain lines from one connection to hub calls. */
export class PlainSession implements ProtocolSession {
  readonly #conn: SessionPort;
  readonly #greeted: boolean;
  /** Lines of a message continued with a trailing backslash. */
  #pending: string[] = [];
  #pendingBytes = 0;
  /** The last line ended in `\`: the message goes on in the next read. */
  #continued = false;
  /** The server password, once typed (asked for first when the server has one). */
  #password: string | undefined;
  /** Where this user's lines go: the room they joined last. */
  #room: string = LOBBY;
  /** A person on netcat: closed as soon as the goodbye is flushed (`transport/peer.ts`). */
  readonly closesAtOnce = true;

  /** `greeted`: the greeting was already sent while sniffing, so it is not sent again. */
  constructor(conn: SessionPort, greeted: boolean) {
    this.#conn = conn;
    this.#greeted = greeted;
  }

  /** Asks for a nickname, unless the greeting already did. */
  start(): void {
    // A late greeting already asked, on a line of its own (so that a slow NDJSON client can
    // skip it); otherwise ask now, with the prompt on the same line as the answer.
    if (this.#greeted) return;
    const password = this.#conn.needsPassword;
    this.#conn.sendRaw(plainGreeting(password));
    this.#conn.sendRaw(password ? PASSWORD_PROMPT : NICK_PROMPT);
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
      return this.#login(line.trim());
    }
    if (!this.#continued && line.startsWith("/") && !line.startsWith("//")) {
      this.#sendPending(); // text pasted before the command goes first
      if (!this.#conn.admit(bytes.length)) return;
      // Said first: once the core has run /quit, the connection takes no more output.
      if (QUIT.test(line.trim())) this.#conn.send({ type: "info", text: GOODBYE });
      return then(this.#conn.command(line.trim(), this.#room), (outcome) => {
        if (outcome.room !== undefined) this.#room = outcome.room;
      });
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
    // The current room was left: fall back to any room the user is still in.
    if (!this.#conn.isIn(this.#room)) this.#room = this.#conn.anyRoom() ?? this.#room;
    this.#conn.say(this.#room, text);
  }

  #login(nick: string): Awaitable<void> {
    if (nick === "") {
      this.#conn.sendRaw(NICK_PROMPT);
      return;
    }
    const attempt = { version: PROTOCOL_VERSION, nick, password: this.#password };
    return then(this.#conn.login(attempt), (refusal) => {
      if (refusal !== null && !refusal.fatal) this.#conn.sendRaw(NICK_PROMPT);
    });
  }
}
