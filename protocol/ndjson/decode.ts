/**
 * Turns one frame's bytes into a typed {@linkcode ClientFrame}, or into the error frame that
 * explains what was wrong with it. Never throws.
 *
 * @module
 */

import { MAX_REF_LENGTH, MAX_ROOMS_PER_USER } from "../../config/limits.ts";
import { MAX_PUBLIC_KEY_TEXT, MAX_SIGNATURE_TEXT } from "../../config/security_limits.ts";
import { type ClientFrame, type ErrorFrame, errorFrame, LOBBY } from "../frames.ts";

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
      const hello: ClientFrame = { type: "hello", v: obj.v, nick: obj.nick };
      if (obj.resume !== undefined) {
        const resume = parseResume(obj.resume);
        if (resume === null) {
          return bad(
            `"resume" must map at most ${MAX_RESUME_ROOMS} room names to message ids (integers).`,
          );
        }
        hello.resume = resume;
      }
      if (obj.password !== undefined) {
        if (typeof obj.password !== "string") return bad('"password" must be a string.');
        hello.password = obj.password;
      }
      if (obj.accountPassword !== undefined) {
        if (typeof obj.accountPassword !== "string") {
          return bad('"accountPassword" must be a string.');
        }
        hello.accountPassword = obj.accountPassword;
      }
      if (obj.key !== undefined) {
        if (typeof obj.key !== "string" || obj.key.length > MAX_PUBLIC_KEY_TEXT) {
          return bad(
            `"key" must be an OpenSSH public key line ("ssh-ed25519 AAAA..."), at most ${MAX_PUBLIC_KEY_TEXT} characters.`,
          );
        }
        hello.key = obj.key;
      }
      return { ok: true, frame: hello };
    }
    case "msg": {
      if (typeof obj.text !== "string") return bad('A msg needs "text" as a string.');
      const room = obj.room ?? LOBBY;
      if (typeof room !== "string") return bad('"room" must be a string.');
      const frame: ClientFrame = { type: "msg", room, text: obj.text };
      if (typeof ref === "string") frame.ref = ref;
      return { ok: true, frame };
    }
    case "cmd": {
      if (typeof obj.line !== "string" || !obj.line.startsWith("/")) {
        return bad('A cmd needs "line", a string starting with /.');
      }
      const room = obj.room ?? LOBBY;
      if (typeof room !== "string") return bad('"room" must be a string.');
      const frame: ClientFrame = { type: "cmd", line: obj.line, room };
      if (typeof ref === "string") frame.ref = ref;
      return { ok: true, frame };
    }
    case "pong":
      if (typeof obj.token !== "string") return bad('A pong needs the "token" of the ping.');
      return { ok: true, frame: { type: "pong", token: obj.token } };
    case "quit":
      return { ok: true, frame: { type: "quit" } };
    case "prove":
      if (typeof obj.sig !== "string" || obj.sig.length > MAX_SIGNATURE_TEXT) {
        return bad(
          `A prove needs "sig", the base64 signature of the challenge (at most ${MAX_SIGNATURE_TEXT} characters).`,
        );
      }
      return { ok: true, frame: { type: "prove", sig: obj.sig } };
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

/** Most rooms a hello's `resume` may name. */
const MAX_RESUME_ROOMS = MAX_ROOMS_PER_USER;

function parseResume(value: unknown): Record<string, number> | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  if (entries.length > MAX_RESUME_ROOMS) return null;
  const out: Record<string, number> = {};
  for (const [room, id] of entries) {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) return null;
    out[room] = id;
  }
  return out;
}
