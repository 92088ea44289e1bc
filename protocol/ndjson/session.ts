/**
 * The NDJSON wire format: each frame is a JSON object; the first must be a hello.
 *
 * @module
 */

import { type Awaitable, then } from "../../core/awaitable.ts";
import { assertNever, errorFrame } from "../frames.ts";
import { parseClientFrame } from "./decode.ts";
import type { ProtocolSession, SessionPort } from "../session.ts";

/** Adapts NDJSON frames from one connection to hub calls. */
export class NdjsonSession implements ProtocolSession {
  readonly #conn: SessionPort;

  /** Drives `conn`; the peer feeds it the frames. */
  constructor(conn: SessionPort) {
    this.#conn = conn;
  }

  /** NDJSON clients speak first; nothing to send. */
  start(): void {}

  /** Nothing to do at the end of a read: every frame stands alone. */
  endOfBatch(): void {}

  /** Handles one frame. */
  frame(bytes: Uint8Array): Awaitable<void> {
    if (bytes.length === 0) return; // blank lines are harmless keep-alives
    if (!this.#conn.admit(bytes.length)) return;
    const parsed = parseClientFrame(bytes);
    if (!parsed.ok) {
      this.#conn.protocolError(parsed.error);
      return;
    }
    const frame = parsed.frame;
    const user = this.#conn.user;
    switch (frame.type) {
      case "hello": {
        if (user !== null) {
          this.#conn.send(
            errorFrame("already_joined", `You are already logged in as ${user.nick}.`),
          );
          return;
        }
        return then(
          this.#conn.login({
            version: frame.v,
            nick: frame.nick,
            resume: frame.resume,
            password: frame.password,
          }),
          () => {},
        );
      }
      case "msg":
      case "cmd":
        if (user === null) {
          this.#conn.send(
            errorFrame("not_joined", "Send a hello before anything else.", { ref: frame.ref }),
          );
        } else if (frame.type === "msg") {
          this.#conn.say(frame.room, frame.text, frame.ref);
        } else {
          return then(this.#conn.command(frame.line, frame.room, frame.ref), () => {});
        }
        return;
      case "pong":
        return; // a sign of life, and every frame read already counts as one
      case "quit":
        this.#conn.quit();
        return;
      case "prove":
        // No challenge is outstanding (the key handshake replaces this; see the identity work).
        this.#conn.protocolError(errorFrame("bad_frame", "There is no challenge to answer."));
        return;
      default:
        assertNever(frame);
    }
  }
}
