/**
 * Everything `sockchat join` keeps about its server is capped here, so that a hostile or broken
 * server cannot grow the client's memory without bound. Each cap is generous next to what an
 * honest sockchat server sends (see `config/limits.ts`), so it never cuts a real session short.
 *
 * @module
 */

import { MAX_ROOMS_LISTED, MAX_ROOMS_PER_USER } from "../config/limits.ts";

/**
 * Largest frame the client accepts from a server, in bytes. An unfinished frame past it ends the
 * connection at once: a line that never ends is never held whole. The server's own largest
 * `--max-frame` is 16 MiB, but no frame it sends is near that: a `/rooms` answer lists at most
 * 200 rooms and message text is capped by the sender's frame.
 */
export const CLIENT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * Rooms the client remembers being in: twice what a server lets one user join, so an honest
 * server never reaches it. A `joined` past it, or a `welcome` listing more, breaks the protocol
 * and is ignored. Without it, a server pushing `joined` frames for fresh rooms grows the client
 * by every room it invents.
 */
export const MAX_JOINED_ROOMS = 2 * MAX_ROOMS_PER_USER;

/**
 * Members remembered per room (for nick completion and the reconnect summary); the rest of a
 * bigger room is not remembered. Twice the server's default `--max-users`; `/who` still shows
 * everyone, since its answer is printed, not kept.
 */
export const MAX_MEMBERS_PER_ROOM = 2000;

/** Nicks remembered from messages (beyond current room members), for completion. */
export const MAX_REMEMBERED_SPEAKERS = 500;

/** Rooms remembered from the latest `/rooms` answer, for completion: what a server lists. */
export const MAX_LISTED_ROOMS: number = MAX_ROOMS_LISTED;

/**
 * Messages and commands remembered while the server has not answered them (to show our own
 * messages once acknowledged, and to say what may be lost when a connection drops). A server
 * that never answers makes the client forget the oldest, not grow.
 */
export const MAX_UNANSWERED = 1000;

/**
 * Bytes the client may have waiting to be written to the server. A server that stops reading
 * would otherwise make the client hold everything typed or piped in since. Input waits once
 * half of this waits (a slow server slows a pipe down); once all of it waits, the next frame
 * drops the connection as lost (and, with reconnection on, makes it again).
 */
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

/**
 * Longest message the client reads from its input, in UTF-16 code units: one piped line, or
 * the lines of a message continued with `\`. A longer one is dropped whole with a warning rather
 * than held without bound or sent cut short. It is sixteen times a server's default
 * `--max-frame` (64 KiB), which refuses anything longer anyway.
 */
export const MAX_INPUT_CHARS = 1024 * 1024;

/**
 * Server addresses one `sockchat join` may be given (`join a:7342,b:7342`): the nodes of one
 * chat, tried in turn. A cluster has a handful of front doors; a list longer than this is a
 * mistake (or a paste gone wrong), and every address costs one connection attempt per round.
 */
export const MAX_JOIN_ADDRESSES = 16;

/**
 * How long one connection attempt may take before the next address is tried. Without it, an
 * address whose host is gone (no refusal, packets dropped) would hold `join` for the system's
 * own TCP timeout, minutes, while another node is up.
 */
export const CONNECT_TIMEOUT_MS = 10_000;
