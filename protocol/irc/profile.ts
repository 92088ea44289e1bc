/**
 * Shared IRC encodings (contract §5): a broadcast frame is encoded once per cap profile and the
 * same bytes go to every reader with that profile, as every other front end encodes once per
 * codec (`outgoing.ts`). A profile is the set of a reader's enabled caps that can change a
 * broadcast line; each profile in use gets a {@linkcode FrameCodec} with its own cache slot, so
 * an {@linkcode Outgoing} keeps one encoding per profile next to the NDJSON and plain ones.
 *
 * Only frames whose lines provably depend on nothing but the profile and the chat at the time of
 * the broadcast are shared (see {@linkcode shareable}): a room message from someone else, and
 * JOIN, PART, KICK, QUIT, NICK, TOPIC and MODE lines about someone else. Everything that depends
 * on the reader (numerics, echo-message, labels, replays, its own lines, frame types added later)
 * is still rendered by its session. A QUIT is still shown once per reader: the reader's renderer
 * keeps that bookkeeping ({@linkcode SharingReader.sees}), the bytes are shared.
 *
 * @module
 */

import { IRC_MAX_PROFILES } from "../../config/irc_limits.ts";
import { codecSlot, type FrameCodec, NOTHING } from "../codec.ts";
import type { ServerFrame } from "../frames.ts";
import { type Deliverable, Outgoing, OutgoingBatch } from "../outgoing.ts";
import type { ChatView } from "../session.ts";
import { IRC_CAPS, type IrcCap } from "./caps.ts";
import { IrcRenderer, type IrcServerInfo } from "./render.ts";

const encoder = new TextEncoder();

/**
 * Caps that change only lines a session renders for its own reader, never a line of a frame
 * {@linkcode shareable} lets through: they are left out of the profile, so readers who differ
 * only in them still share. Every other cap, including any cap added later, is part of the
 * profile: a cap not known to be harmless splits the sharing rather than risk a wrong line.
 */
const READER_ONLY: ReadonlySet<IrcCap> = new Set<IrcCap>([
  "cap-notify", // CAP NEW/DEL
  "echo-message", // the reader's own messages (acks: never shared)
  "sasl", // registration
  "multi-prefix", // 353/352 replies
  "userhost-in-names", // 353 replies
  "labeled-response", // lines for the reader's own commands (frames with a ref: never shared)
  "standard-replies", // FAIL/WARN/NOTE answers
  "draft/chathistory", // replays (history frames: never shared)
  "invite-notify", // INVITE lines (invite frames: never shared)
]);

/** The bit of each profile cap in a profile key. */
const PROFILE_BITS: ReadonlyMap<IrcCap, number> = new Map(
  IRC_CAPS.filter((cap) => !READER_ONLY.has(cap)).map((cap, i) => [cap, 1 << i]),
);

/**
 * The profile of a reader with `caps` enabled, as a number: one bit per cap that can change a
 * shared line. Readers with the same key get the same bytes.
 *
 * @example
 * ```ts
 * profileKey(new Set(["server-time", "echo-message"])) ===
 *   profileKey(new Set(["server-time"])); // true: echo-message changes no shared line
 * ```
 */
export function profileKey(caps: ReadonlySet<IrcCap>): number {
  let key = 0;
  for (const cap of caps) key |= PROFILE_BITS.get(cap) ?? 0;
  return key;
}

/**
 * True if `frame`'s lines for a reader whose nick is `reader` depend only on the reader's
 * profile, so one encoding serves every reader with that profile. Conservative: a frame type not
 * named here (including any added later) is rendered per reader, and so is any frame about the
 * reader itself, answering its own command (a `ref`) or replayed from history.
 */
export function shareable(frame: ServerFrame, reader: string): boolean {
  switch (frame.type) {
    case "msg":
      return frame.history !== true && frame.from !== reader;
    case "join":
      return frame.nick !== reader;
    case "leave":
      // The kicker's KICK line answers their labeled KICK (labels.ts): rendered for them.
      return frame.nick !== reader && (frame.reason !== "kicked_room" || frame.by !== reader);
    case "topic":
      // `by` empty: the topic as asked for, a numeric naming the reader.
      return frame.by !== "" && frame.by !== reader && frame.ref === undefined;
    case "nick":
      return frame.old !== reader && frame.new !== reader && frame.ref === undefined;
    case "mode":
      return frame.by !== reader && frame.ref === undefined;
    default:
      return false;
  }
}

/** What sharing needs of one reader (its session). */
export interface SharingReader {
  /** The caps the reader has enabled now. */
  readonly caps: ReadonlySet<IrcCap>;
  /** The chat the reader is logged in to. */
  readonly chat: ChatView;
  /** The reader's nick, or `*` before it has one. */
  readonly nick: string;
  /**
   * The reader's own bookkeeping for a frame whose bytes are shared (a QUIT is shown once, a
   * JOIN forgets it). False: this reader sees nothing of it.
   */
  sees(frame: ServerFrame): boolean;
}

/** Options for {@linkcode IrcProfiles}. */
export interface IrcProfilesOptions {
  /** Most profiles with a shared codec; past it, readers are rendered one by one. @default IRC_MAX_PROFILES */
  max?: number;
}

/**
 * Cache slots for profile codecs, handed out in order and reused by every table in the process:
 * the first profile of each table takes the first slot, and so on. An {@linkcode Outgoing}
 * belongs to one server's hub and reaches only that server's readers, so two servers in one
 * process (tests) never meet in one frame's cache; reusing slots keeps every frame's cache as
 * short as the busiest table needs, however many servers a process starts.
 */
const slots: number[] = [];

/**
 * The shared IRC codecs of one server (one per IRC front end, its plain and TLS ports together):
 * profile key → codec, made when a reader with that profile first needs it, at most `max`.
 *
 * @example
 * ```ts
 * import type { IrcServerInfo } from "./render.ts";
 * declare const info: IrcServerInfo;
 * const profiles = new IrcProfiles(info);
 * profiles.encodes; // 0: nothing encoded yet
 * ```
 */
export class IrcProfiles {
  readonly #info: IrcServerInfo;
  readonly #max: number;
  readonly #codecs = new Map<number, FrameCodec>();
  /** The chat every codec renders against: the first reader's. */
  #chat: ChatView | null = null;
  /** Shared encodings made so far, every profile counted (for tests and the bench). */
  encodes = 0;

  /** No codec yet: each is made for the first reader of its profile. */
  constructor(info: IrcServerInfo, options: IrcProfilesOptions = {}) {
    this.#info = info;
    this.#max = options.max ?? IRC_MAX_PROFILES;
  }

  /** Profiles with a shared codec so far. */
  get size(): number {
    return this.#codecs.size;
  }

  /**
   * The shared bytes of `out` for `reader`, or null when the session must render it itself: a
   * frame that is not {@linkcode shareable}, a profile past the cap, or another chat.
   */
  bytes(out: Deliverable, reader: SharingReader): Uint8Array | null {
    if (out instanceof Outgoing) {
      const frame = out.frame;
      if (!shareable(frame, reader.nick)) return null;
      const codec = this.#codec(reader);
      if (codec === null) return null;
      return reader.sees(frame) ? out.encode(codec) : NOTHING;
    }
    if (!(out instanceof OutgoingBatch)) return null;
    // A committed batch of room messages: shared whole only when every one of them is.
    const frames = out.frames;
    for (const frame of frames) {
      if (frame.type !== "msg" || !shareable(frame, reader.nick)) return null;
    }
    const codec = this.#codec(reader);
    return codec === null ? null : out.encode(codec);
  }

  /** The codec for `reader`'s profile, made on first use; null past the cap. */
  #codec(reader: SharingReader): FrameCodec | null {
    this.#chat ??= reader.chat;
    if (reader.chat !== this.#chat) return null;
    const key = profileKey(reader.caps);
    const known = this.#codecs.get(key);
    if (known !== undefined) return known;
    if (this.#codecs.size >= this.#max) return null;
    const index = this.#codecs.size;
    const slot = slots[index] ??= codecSlot();
    const codec = this.#profileCodec(key, slot);
    this.#codecs.set(key, codec);
    return codec;
  }

  /** A codec rendering for a reader with exactly the profile caps of `key`. */
  #profileCodec(key: number, slot: number): FrameCodec {
    const caps: ReadonlySet<IrcCap> = new Set(
      [...PROFILE_BITS].filter(([, bit]) => (key & bit) !== 0).map(([cap]) => cap),
    );
    const info = this.#info;
    const chat = this.#chat;
    if (chat === null) throw new Error("a profile codec needs the chat");
    return {
      name: `irc/${key}`,
      slot,
      encode: (frame: ServerFrame): Uint8Array => {
        this.encodes++;
        // A renderer of its own per encoding: its QUIT bookkeeping must not carry over from one
        // frame to the next (each reader keeps its own, see SharingReader.sees).
        const text = new IrcRenderer({
          info,
          chat,
          client: "*",
          asked: "*",
          sasl: false,
          caps,
          cloak: "",
          pending: () => null,
        }).render(frame);
        return text === "" ? NOTHING : encoder.encode(text);
      },
    };
  }
}
