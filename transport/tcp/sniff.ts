/**
 * The TCP front end's session opener: one port serves both NDJSON programs and people on
 * netcat, told apart by the first byte (`{` is NDJSON). A peer that says nothing within
 * {@linkcode PLAIN_GREETING_DELAY_MS} is probably a person waiting to be asked something, so it
 * is greeted in plain text and asked for a nickname (or the password). NDJSON clients skip lines
 * that are not JSON before their welcome: if a late one speaks, the open prompt line is ended
 * first, so that its welcome starts a line of its own.
 *
 * @module
 */

import { PLAIN_GREETING_DELAY_MS } from "../../config/limits.ts";
import { NDJSON } from "../../protocol/ndjson/encode.ts";
import { NdjsonSession } from "../../protocol/ndjson/session.ts";
import { PLAIN } from "../../protocol/plain/encode.ts";
import { plainGreeting, plainPrompt, PlainSession } from "../../protocol/plain/session.ts";
import type { OpenedSession, SessionPort } from "../../protocol/session.ts";
import type { SessionOpener } from "../peer.ts";
import type { SocketReader } from "../socket_reader.ts";

const OPEN_BRACE = 0x7b;
/** Ends the prompt line a late NDJSON client was sent, before its first frame. */
const LINE_END = new TextEncoder().encode("\r\n");

/**
 * Waits for the first bytes (greeting a silent peer on the way) and opens the session they call
 * for; null at EOF before any byte.
 *
 * @example
 * ```ts
 * import { Peer, type PeerOptions } from "../peer.ts";
 *
 * declare const peerOptions: PeerOptions;
 * const link = await Deno.connect({ hostname: "127.0.0.1", port: 7342 });
 * const peer = new Peer(link, peerOptions, sniffSession);
 * ```
 */
export const sniffSession: SessionOpener = async (
  reader: SocketReader,
  port: SessionPort,
): ReturnType<SessionOpener> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const next = reader.read();
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), PLAIN_GREETING_DELAY_MS);
  });
  let early: Uint8Array | null | "late";
  try {
    early = await Promise.race([next, late]);
  } finally {
    clearTimeout(timer);
  }
  const greeted = early === "late";
  if (greeted) {
    // The person reads the greeting, then the question it leads to, as start() would ask it.
    port.sendRaw(plainGreeting(port.needsPassword));
    port.sendRaw(plainPrompt(port.needsPassword));
  }
  const chunk = early === "late" ? await next : early;
  if (chunk === null) return null;
  // The reader reuses its buffer: keep a copy of the bytes that decided the format.
  const first = chunk.slice();
  const json = first[0] === OPEN_BRACE;
  if (greeted && json) port.sendRaw(LINE_END);
  return { first, opened: open(json, port, greeted) };
};

function open(json: boolean, port: SessionPort, greeted: boolean): OpenedSession {
  return json
    ? { codec: NDJSON, session: new NdjsonSession(port), pings: true }
    : { codec: PLAIN, session: new PlainSession(port, greeted), pings: false };
}
