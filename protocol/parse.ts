/**
 * Turns one frame's bytes into a typed {@linkcode ClientFrame}, or into the error frame that
 * explains what was wrong with it. Never throws.
 *
 * @module
 */

import { MAX_REF_LENGTH } from "../config/limits.ts";
import { type ClientFrame, type ErrorFrame, errorFrame, LOBBY } from "./frames.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The outcome of parsing one frame. */
export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; error: ErrorFrame };

/** Decodes a frame's bytes as strict UTF-8; null if they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

function bad(message: string): ParseResult {
  return { ok: false, error: errorFrame("bad_frame", message) };
}

/** Parses and validates one NDJSON frame from a client. */
export function parseClientFrame(bytes: Uint8Array): ParseResult {
  const text = decodeUtf8(bytes);
  if (text === null) {
    return { ok: false, error: errorFrame("bad_utf8", "That frame is not valid UTF-8.") };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: errorFrame("bad_json", "That frame is not valid JSON.") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return bad('A frame must be a JSON object with a "type" field.');
  }
  const obj = value as Record<string, unknown>;
  const ref = obj.ref;
  if (ref !== undefined && (typeof ref !== "string" || ref.length > MAX_REF_LENGTH)) {
    return bad(`"ref" must be a string of at most ${MAX_REF_LENGTH} characters.`);
  }
  switch (obj.type) {
    case "hello": {
      if (typeof obj.v !== "number" || !Number.isInteger(obj.v)) {
        return bad('A hello needs "v", the protocol version, as an integer.');
      }
      if (typeof obj.nick !== "string") return bad('A hello needs "nick" as a string.');
      return { ok: true, frame: { type: "hello", v: obj.v, nick: obj.nick } };
    }
    case "msg": {
      if (typeof obj.text !== "string") return bad('A msg needs "text" as a string.');
      const room = obj.room ?? LOBBY;
      if (typeof room !== "string") return bad('"room" must be a string.');
      const frame: ClientFrame = { type: "msg", room, text: obj.text };
      if (typeof ref === "string") frame.ref = ref;
      return { ok: true, frame };
    }
    case "quit":
      return { ok: true, frame: { type: "quit" } };
    case undefined:
      return bad('A frame needs a "type" field.');
    default:
      return {
        ok: false,
        error: errorFrame(
          "unknown_type",
          `Unknown frame type ${JSON.stringify(String(obj.type)).slice(0, 40)}.`,
        ),
      };
  }
}
