/**
 * Test harness for the chat core without sockets: a {@linkcode Hub} over the in-memory store, a
 * manual clock, and a {@linkcode RecordingSink} per user that keeps every frame the hub
 * delivers. Nothing here starts a timer: time passes only when a test calls `advance`, and held
 * work (presence) is told only when it calls `tick`.
 *
 * @example
 * ```ts
 * const chat = new CoreHarness();
 * const alice = chat.login("alice");
 * const bob = chat.login("bob");
 * alice.say("hi");
 * chat.flush();
 * assert.deepEqual(types(bob.take()), ["msg"]);
 * ```
 *
 * @module
 */

import type { Awaitable } from "../../core/awaitable.ts";
import {
  Hub,
  type LoginRequest,
  type LoginResult,
  type ReadBudget,
  type User,
} from "../../core/hub.ts";
import type { PeerSink, Verifier } from "../../core/ports.ts";
import { BanList } from "../../core/moderation.ts";
import { type CommandOutcome, runCommand } from "../../core/commands/chat.ts";
import {
  type ErrorFrame,
  type LeaveReason,
  LOBBY,
  PROTOCOL_VERSION,
  type ServerFrame,
} from "../../protocol/frames.ts";
import { type Deliverable, Outgoing, OutgoingBatch } from "../../protocol/outgoing.ts";
import { MemoryHistory } from "../../store/memory/history.ts";

/** A frame of one type. */
export type Frame<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

/** Where the manual clock starts: a fixed, ordinary time. */
export const START_MS = 1_700_000_000_000;

/** The frames a deliverable holds: the very frame objects the hub built. */
export function decode(out: Deliverable): ServerFrame[] {
  if (out instanceof Outgoing) return [out.frame];
  if (out instanceof OutgoingBatch) return [...out.frames];
  throw new Error("a deliverable that is neither one frame nor a batch");
}

/**
 * The value of something the in-memory store answers at once; a promise here means the core
 * waited where it should not have.
 */
export function settled<T>(value: Awaitable<T>): T {
  if (value instanceof Promise) throw new Error("the in-memory store answered later");
  return value;
}

/** A sink that records every delivery, as a transport's queue would receive it. */
export class RecordingSink implements PeerSink {
  /** Every deliverable, in order, as the hub handed it over (same object, not a copy). */
  readonly deliveries: Deliverable[] = [];
  /** Why the hub closed this connection, or null. */
  closedWith: LeaveReason | null = null;
  /** What the transport would report as still queued (history replay leaves room for it). */
  queuedBytes = 0;
  #taken = 0;

  /** {@inheritDoc PeerSink.deliver} */
  deliver(out: Deliverable): void {
    this.deliveries.push(out);
  }

  /** {@inheritDoc PeerSink.close} */
  close(reason: LeaveReason): void {
    this.closedWith ??= reason;
  }

  /** Every frame delivered so far. */
  frames(): ServerFrame[] {
    return this.deliveries.flatMap(decode);
  }

  /** The frames delivered since the last `take`. */
  take(): ServerFrame[] {
    const fresh = this.deliveries.slice(this.#taken).flatMap(decode);
    this.#taken = this.deliveries.length;
    return fresh;
  }
}

/** A clock that moves only when told. */
export class ManualClock {
  #now: number;

  /** A clock showing `start`. */
  constructor(start = START_MS) {
    this.#now = start;
  }

  /** The time, in milliseconds since the epoch (pass as `now`). */
  readonly now = (): number => this.#now;

  /** Moves the clock on by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A per-address history read budget whose allowance a test sets, recording every charge. */
export class FakeReadBudget implements ReadBudget {
  /** Bytes each address may read; an address not listed may read `fallback`. */
  readonly allowance = new Map<string, number>();
  /** Bytes an address not in `allowance` may read. */
  fallback = Infinity;
  /** Every charge, in order. */
  readonly charges: { address: string; bytes: number }[] = [];

  /** {@inheritDoc ReadBudget.available} */
  available(address: string): number {
    return this.allowance.get(address) ?? this.fallback;
  }

  /** {@inheritDoc ReadBudget.charge} */
  charge(address: string, bytes: number): void {
    this.charges.push({ address, bytes });
    this.allowance.set(address, this.available(address) - bytes);
  }
}

/** A secret that matches only `text`. */
export function secret(text: string): Verifier {
  return { matches: (candidate) => candidate === text };
}

/** The types of `frames`, in order: most specs read best as this list. */
export function types(frames: readonly ServerFrame[]): string[] {
  return frames.map((f) => f.type === "error" ? `error:${f.code}` : f.type);
}

/** The frames of one type. */
export function only<T extends ServerFrame["type"]>(
  frames: readonly ServerFrame[],
  type: T,
): Frame<T>[] {
  return frames.filter((f): f is Frame<T> => f.type === type);
}

/** The one frame of `type` in `frames`; throws unless there is exactly one. */
export function one<T extends ServerFrame["type"]>(
  frames: readonly ServerFrame[],
  type: T,
): Frame<T> {
  const found = only(frames, type);
  if (found.length !== 1) {
    throw new Error(`expected one ${type} frame, got ${found.length}: ${JSON.stringify(frames)}`);
  }
  return found[0];
}

/** A logged-in user as a test drives it: what a transport would do on their behalf. */
export class Peer {
  readonly #hub: Hub;
  /** The hub's user. */
  readonly user: User;
  /** Their recorded frames. */
  readonly sink: RecordingSink;
  /** The room commands default to, as a client's current room. */
  room = LOBBY;

  constructor(hub: Hub, user: User, sink: RecordingSink) {
    this.#hub = hub;
    this.user = user;
    this.sink = sink;
  }

  /** Says `text` in `room` (default: the current room); it goes out at the next flush. */
  say(text: string, room = this.room, ref?: string): void {
    this.#hub.say(this.user, room, text, ref);
  }

  /** Runs a slash command line, as the transport does; follows a room change. */
  run(line: string, ref?: string): CommandOutcome {
    const outcome = settled(runCommand(this.#hub, this.user, line, this.room, ref));
    if (outcome.room !== undefined) this.room = outcome.room;
    return outcome;
  }

  /** The frames delivered since the last `take`. */
  take(): ServerFrame[] {
    return this.sink.take();
  }

  /** Leaves the server, as a closed connection does. */
  quit(reason: LeaveReason = "quit"): void {
    this.#hub.logout(this.user, reason);
  }
}

/** Settings for a {@linkcode CoreHarness}; everything has a small default. */
export interface CoreOptions {
  /** @default 100 */
  maxUsers?: number;
  /** @default 1 << 18 */
  replayBudgetBytes?: number;
  /** @default 50 (the server's default) */
  historyReplay?: number;
  /** Messages the store keeps per room. @default Infinity */
  retention?: number;
  /** The server password, if any. */
  password?: string;
  /** The /oper secret, if any. @default "opensesame" */
  operSecret?: string | null;
  /** A read budget per address. @default unlimited */
  historyReads?: ReadBudget;
  /** A store to start from (to test a restart). @default a new MemoryHistory */
  store?: MemoryHistory;
}

/** The /oper secret a harness uses unless told otherwise. */
export const OPER_SECRET = "opensesame";

/** A hub over an in-memory store and a manual clock, with helpers to log people in. */
export class CoreHarness {
  /** The clock the hub reads. */
  readonly clock = new ManualClock();
  /** The store. */
  readonly store: MemoryHistory;
  /** The hub under test. */
  readonly hub: Hub;
  /** Every audit event, in order. */
  readonly audit: { event: string; fields: Record<string, string | number> }[] = [];
  #hosts = 0;

  constructor(options: CoreOptions = {}) {
    this.store = options.store ?? new MemoryHistory({ retention: options.retention });
    const operSecret = options.operSecret === undefined ? OPER_SECRET : options.operSecret;
    this.hub = new Hub({
      maxUsers: options.maxUsers ?? 100,
      maxFrame: 65536,
      serverName: "sockchat-test",
      store: this.store,
      replayBudgetBytes: options.replayBudgetBytes ?? 1 << 18,
      now: this.clock.now,
      bans: new BanList(this.store.moderation, { mutes: this.store.moderation }),
      password: options.password === undefined ? null : secret(options.password),
      operSecret: operSecret === null ? null : secret(operSecret),
      audit: (event, fields) => this.audit.push({ event, fields }),
      // Only what was given: the hub spreads its options over its defaults, so an explicit
      // undefined would replace a default (see the ignored test in core_hub_test.ts).
      ...(options.historyReplay === undefined ? {} : { historyReplay: options.historyReplay }),
      ...(options.historyReads === undefined ? {} : { historyReads: options.historyReads }),
    });
  }

  /** Tries a login; the result, and the sink it would use. */
  tryLogin(
    nick: string,
    request: Partial<LoginRequest> = {},
  ): { result: LoginResult; sink: RecordingSink } {
    const sink = new RecordingSink();
    const result = settled(this.hub.login(sink, { version: PROTOCOL_VERSION, nick, ...request }));
    return { result, sink };
  }

  /** The error a login is refused with; throws if it is let in. */
  refusal(nick: string, request: Partial<LoginRequest> = {}): ErrorFrame {
    const { result } = this.tryLogin(nick, request);
    if (result.ok) throw new Error(`login of ${nick} was let in`);
    return result.error;
  }

  /**
   * Logs `nick` in (throws if refused) and forgets the welcome unless `keepWelcome`. Each login
   * comes from an address of its own (192.0.2.N) unless `request.address` says otherwise.
   */
  login(nick: string, request: Partial<LoginRequest> = {}, keepWelcome = false): Peer {
    const address = `192.0.2.${++this.#hosts}`;
    const { result, sink } = this.tryLogin(nick, { address, ...request });
    if (!result.ok) throw new Error(`login of ${nick} refused: ${result.error.message}`);
    const peer = new Peer(this.hub, result.user, sink);
    if (!keepWelcome) peer.take();
    return peer;
  }

  /** Logs `nick` in and makes them an operator. */
  operator(nick: string, request: Partial<LoginRequest> = {}): Peer {
    const peer = this.login(nick, request);
    peer.run(`/oper ${OPER_SECRET}`);
    peer.take();
    return peer;
  }

  /** Commits queued messages now, as the end of the current task would. */
  flush(): void {
    this.hub.flush();
  }

  /** Moves the clock on by `ms` (nothing else happens until something reads it). */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Runs the hub's once-a-second work (held presence), as the server's sweep does. */
  tick(): void {
    this.hub.tick();
  }

  /** Forgets every peer's frames so far (after a setup phase). */
  clear(...peers: Peer[]): void {
    for (const peer of peers) peer.take();
  }
}
