/**
 * The cluster seam: what the core tells other sockchat nodes, and what it hears from them,
 * when several servers share one chat (`serve --redis`). The core does no I/O here either: the
 * {@linkcode ClusterBus} is implemented outside it (`cluster/` over Redis, and an in-memory one
 * for tests), and remote events come in through `Hub.applyRemote` and `Hub.committed`.
 *
 * The design in one paragraph (docs/CLUSTER.md has the whole of it): every node keeps its own
 * users (local) and a mirror of every other node's users (remote: a {@linkcode User} whose
 * `node` is not this node and whose sink drops everything). One shared, totally ordered log
 * (a Redis Stream) carries committed room messages and every change other nodes must see:
 * presence, nicks, topics, room modes, moderation records. A node applies its own changes at
 * once and publishes them; it applies other nodes' changes as the log brings them, and ignores
 * its own. Room messages are delivered to local members only from the log, in id order, so
 * every observer on every node sees ids rise and gets each message once.
 *
 * @module
 */

import type { Awaitable } from "./awaitable.ts";
import type { LeaveReason, ServerFrame } from "../protocol/frames.ts";
import type { RoomModes } from "./room_modes.ts";
import type { AccountRecord, Ban, Mute, StoredMessage } from "./ports.ts";
import type { ClaimRecord } from "./room_claims.ts";

/** A room message as the log carries it: stored, plus where its author's lines were joined. */
export interface LiveMessage extends StoredMessage {
  /** Join offsets (`MessageFrame.breaks`): relayed live, never stored in room history. */
  breaks?: number[];
}

/** A batch committed by some node, as the log brings it back to every node (itself included). */
export interface CommittedBatch {
  /** The node whose relay committed it. */
  node: string;
  /** That node's batch token (see {@linkcode LiveBatch.token}): how it finds the authors to ack. */
  token: number;
  /** The messages with their shared ids and ts, in id order. */
  messages: LiveMessage[];
  /**
   * Each message's frame as one codec encodes it (the Redis log carries the NDJSON frames its
   * author's node's script built), so no node encodes them again; a message without one
   * (undefined) is encoded as usual. Frames name the room as the message does.
   */
  encoded?: { slot: number; frames: (Uint8Array | undefined)[] };
}

/** What the relay hands a shared-id store with a batch, for the log. */
export interface LiveBatch {
  /** Unique per node while it runs: the committing node matches the log's copy to its authors. */
  token: number;
  /** Join offsets per message (same order as the messages), undefined where none. */
  breaks: (number[] | undefined)[];
}

/** A user as other nodes mirror them. */
export interface UserCard {
  /** The nick as shown. */
  nick: string;
  /** The client's address as the owning node saw it (for operators' /whois and address bans). */
  address: string;
  /** The ident (`user` part of the IRC mask). */
  ident: string;
  /** True when the nick is a registered account the user proved. */
  verified: boolean;
  /** True for a server operator. */
  operator: boolean;
  /** The away message, null when present. */
  away: string | null;
  /** When they logged in, ms since the epoch. */
  since: number;
  /** When they last spoke or acted, ms since the epoch. */
  lastActive: number;
  /** The rooms they are in, as displayed. */
  rooms: string[];
}

/** A moderation or account record that changed (the Redis tables publish these). */
export type RecordChange =
  | { table: "bans"; op: "save"; record: Ban }
  | { table: "bans"; op: "delete"; kind: Ban["kind"]; target: string }
  | { table: "mutes"; op: "save"; record: Mute }
  | { table: "mutes"; op: "delete"; kind: Mute["kind"]; target: string }
  | { table: "accounts"; op: "save"; record: AccountRecord }
  | { table: "accounts"; op: "delete"; key: string }
  | { table: "claims"; op: "save"; record: ClaimRecord }
  | { table: "claims"; op: "delete"; key: string };

/** The state of a room other nodes copy after any change to it (modes, operators, voices). */
export interface RoomState {
  /** +t +m +i +k +l and the room's ban list. */
  modes: RoomModes;
  /** Folded nicks of the room's operators. */
  ops: string[];
  /** Folded nicks of the voiced. */
  voices: string[];
  /** When the room was created, ms since the epoch. */
  created: number;
}

/**
 * One change other nodes must see, published by the node that made it. Nicks are as shown;
 * receivers fold them. Every event is idempotent to apply: applying one twice, or one about a
 * user or room the receiver does not know, changes nothing and throws nothing.
 */
export type ClusterEvent =
  /**
   * A user logged in on the publishing node (and is in `user.rooms`); with `sync`, the card is
   * part of that node's snapshot with this token (see `sync_begin`).
   */
  | { t: "hello"; user: UserCard; sync?: string }
  /** A user left the server; their rooms hear it with this reason and message. */
  | { t: "bye"; nick: string; reason: LeaveReason; message: string }
  /** A user entered a room. */
  | { t: "join"; nick: string; room: string }
  /** A user left a room (`part`, or `kicked_room` with `by`). */
  | { t: "part"; nick: string; room: string; reason: LeaveReason; message: string; by?: string }
  /** A user changed nick. */
  | { t: "nick"; from: string; to: string }
  /** A user's flags changed (away, verified, operator, lastActive): the card replaces the old. */
  | { t: "user"; user: UserCard }
  /** A room's topic was set. */
  | { t: "topic"; room: string; topic: string; by: string; ts: number }
  /**
   * A room's modes, operators or voices changed (`by`: who changed them, for the `mode` line).
   * `fresh`: the state is only the default of a room the publisher made itself (its first
   * member op), known from nowhere else: it must not override a state a receiver already has
   * (see core/cluster_moderation.ts).
   */
  | { t: "room"; room: string; state: RoomState; by?: string; fresh?: true }
  /** An invitation: the node holding `nick` lets them in once and tells them. */
  | { t: "invite"; room: string; nick: string; by: string }
  /**
   * A server operator put out a user held by another node (kick, ban, kill): the owning node
   * ends their session with this reason and message.
   */
  | { t: "kill"; nick: string; reason: LeaveReason; message: string; by: string }
  /** A ban, mute, account or room claim changed. */
  | { t: "record"; change: RecordChange }
  /** A node stopped refreshing its lease: its users are gone (`node_lost`). */
  | { t: "node_lost"; node: string }
  /**
   * A node started (published by its hub, before any login there): whatever users other nodes
   * still mirror for it are gone (a restart), and every other node tells it of its own users
   * again (`hello`), since it reads the log only from its start.
   */
  | { t: "node_up"; node: string }
  /**
   * The publishing node starts a snapshot of its users, `token` naming it: each receiver marks
   * every mirror it holds for that node; the snapshot's `hello`s (and any other hello of that
   * node) unmark theirs. A new `sync_begin` from the same node restarts it.
   */
  | { t: "sync_begin"; token: string }
  /**
   * The snapshot `token` is complete, with `count` hellos: each receiver that saw its
   * `sync_begin` and all `count` hellos removes the mirrors of that node still marked (they
   * left while events were lost). Any other `sync_end` changes nothing.
   */
  | { t: "sync_end"; token: string; count: number };

/**
 * The users a node holds, as other nodes mirror them: read lazily while a snapshot is written
 * (a few at a time), so it must tolerate users coming and going between reads.
 */
export type Roster = () => Iterable<UserCard>;

/** A log entry: who published it and what. */
export interface ClusterEnvelope {
  /** The publishing node's id. */
  node: string;
  /** What happened. */
  event: ClusterEvent;
}

/**
 * What the core asks of the cluster. Implemented by `cluster/` (Redis) and by the in-memory
 * bus the tests link hubs with. Nothing here blocks an event for long: publishing is
 * fire-and-forget (in order per node); claims and direct messages take one round trip.
 */
export interface ClusterBus {
  /** This node's id (`--node-id`). */
  readonly node: string;
  /** Appends an event to the shared log, after every event published before it. Never throws. */
  publish(event: ClusterEvent): void;
  /**
   * Claims the folded nick `key` for this node, cluster-wide, under a lease the bus refreshes
   * while the node lives. True when this node holds it now (it already did, or nobody did);
   * false when another live node does. Rejects when the cluster cannot be reached. When the
   * node holding it was found dead by this very claim (declared lost now, or no member any
   * more), `freed` is told that node's id before the answer (true): the log may not have
   * brought its end here yet, and only then may the caller drop what it mirrors of it.
   */
  claimNick(key: string, freed?: (node: string) => void): Awaitable<boolean>;
  /** Gives up the folded nick `key` (a rename or a logout). Never throws. */
  releaseNick(key: string): void;
  /**
   * Hands `frame` to the user whose folded nick is `key`, held by `node`. True when that node
   * took it (it will deliver it if the user is still there); false when it is unreachable.
   * Rejects with a StoreError of kind `ambiguous` when the outcome is unknown (the hand-over
   * was sent but not answered in time): the message may have been delivered.
   */
  direct(node: string, key: string, frame: ServerFrame): Awaitable<boolean>;
  /** Gives the bus the node's roster, which every snapshot reads (the hub does, at start). */
  setRoster(roster: Roster): void;
  /**
   * Writes a snapshot of this node's users (`sync_begin`, a `hello` per card the roster
   * yields, `sync_end`), in order with the node's other events, paced in chunks, until it is
   * all in the log (retried across outages). One already under way starts over.
   */
  sync(): void;
}
