/**
 * The session opener of a front end that speaks only NDJSON (the WebSocket endpoint, and the
 * in-process link of the client the server hosts for an SSH user): no sniffing, since the first
 * message is a frame like every other, and the peer is pinged when silent, as NDJSON clients are.
 *
 * @module
 */

import { NDJSON } from "../protocol/ndjson/encode.ts";
import { NdjsonSession } from "../protocol/ndjson/session.ts";
import type { SessionPort } from "../protocol/session.ts";
import type { SessionOpener } from "./peer.ts";
import type { SocketReader } from "./socket_reader.ts";

/**
 * Opens an NDJSON session at once.
 *
 * @example
 * ```ts
 * import { Peer, type PeerOptions } from "./peer.ts";
 * import type { Link } from "./link.ts";
 *
 * declare const link: Link;
 * declare const options: PeerOptions;
 * await new Peer(link, options, ndjsonOpener).run();
 * ```
 */
export const ndjsonOpener: SessionOpener = (
  _reader: SocketReader,
  port: SessionPort,
): ReturnType<SessionOpener> =>
  Promise.resolve({
    first: null,
    opened: { codec: NDJSON, session: new NdjsonSession(port), pings: true },
  });
