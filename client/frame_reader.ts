/**
 * Reads server frames from a connection: splits the bytes into lines without ever holding more
 * than {@linkcode CLIENT_MAX_FRAME_BYTES} of one, decodes them as strict UTF-8 and JSON, and
 * checks each against the protocol. Whatever the connection throws becomes a one-line
 * {@linkcode ClientError}, so no network failure reaches the user as a stack trace.
 *
 * @module
 */

import { FrameDecoder } from "../protocol/frame_decoder.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { decodeUtf8 } from "../protocol/ndjson/decode.ts";
import { ClientError, lostConnection } from "./client_error.ts";
import { CLIENT_MAX_FRAME_BYTES } from "./limits.ts";
import { parseServerFrame } from "./server_frame.ts";
import { looksLikeTlsRecord, TLS_PORT_HINT } from "./tls_probe.ts";

/** Bytes asked for per read. */
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * One line from the server: a frame that follows the protocol, one that does not, or a line
 * that is not a JSON frame at all (a plain greeting, which servers may send before the login).
 */
export type Incoming =
  | { kind: "frame"; frame: ServerFrame }
  | { kind: "invalid"; problem: string }
  | { kind: "plain" };

/** What {@linkcode readServerFrames} reads from: a socket, plain or TLS. */
export interface ByteSource {
  /** Reads into `buffer`; resolves to the byte count, or null at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Options for {@linkcode readServerFrames}. */
export interface ReadOptions {
  /** `host:port`, for messages. */
  target: string;
  /** Largest frame accepted. @default CLIENT_MAX_FRAME_BYTES */
  maxFrame?: number;
}

/** Classifies one line. */
export function classifyLine(bytes: Uint8Array): Incoming {
  const line = decodeUtf8(bytes);
  if (line === null) return { kind: "invalid", problem: "a frame that is not valid UTF-8" };
  if (!line.startsWith("{")) return { kind: "plain" };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: "invalid", problem: "a frame that is not valid JSON" };
  }
  const checked = parseServerFrame(value);
  return checked.ok
    ? { kind: "frame", frame: checked.frame }
    : { kind: "invalid", problem: checked.problem };
}

/**
 * Lines from `conn` until it ends. Throws only {@linkcode ClientError}: for a read that fails
 * (reset, broken pipe, TLS trouble...), a frame over the cap, an end in the middle of a frame,
 * or a first answer that is a TLS record (a plain client on a TLS port).
 * Blank lines are skipped.
 *
 * @example
 * ```ts
 * const conn = await Deno.connect({ hostname: "localhost", port: 7342 });
 * for await (const incoming of readServerFrames(conn, { target: "localhost:7342" })) {
 *   if (incoming.kind === "frame") console.log(incoming.frame.type);
 * }
 * ```
 */
export async function* readServerFrames(
  conn: ByteSource,
  options: ReadOptions,
): AsyncGenerator<Incoming> {
  const maxFrame = options.maxFrame ?? CLIENT_MAX_FRAME_BYTES;
  const decoder = new FrameDecoder({ maxFrame });
  const buffer = new Uint8Array(READ_CHUNK_BYTES);
  let first = true;
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch (error) {
      throw lostConnection(options.target, error);
    }
    if (n === null) {
      if (decoder.buffered === 0) return;
      throw new ClientError(
        `lost the connection to ${options.target}: it ended in the middle of a frame`,
      );
    }
    // A TLS server answers a plain hello with an alert record: no frame will ever come.
    if (first && n > 0 && looksLikeTlsRecord(buffer.subarray(0, n))) {
      throw new ClientError(`${options.target} answered in TLS, not NDJSON. ${TLS_PORT_HINT}`);
    }
    if (n > 0) first = false;
    for (const decoded of decoder.push(buffer.subarray(0, n))) {
      if (decoded.kind === "too_large") {
        throw new ClientError(
          `${options.target} sent a frame longer than ${maxFrame} bytes; closed the connection`,
        );
      }
      if (decoded.bytes.length > 0) yield classifyLine(decoded.bytes);
    }
  }
}
