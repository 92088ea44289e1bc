/**
 * A hub over one store that keeps accounts, room claims and bans too, driven by command lines:
 * what the room-claim tests need to register accounts and rooms and reopen them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Hub, type User } from "../../core/hub.ts";
import type { KeyProof } from "../../core/identity.ts";
import { BanList, type BanStore, type MuteStore } from "../../core/moderation.ts";
import { runCommand } from "../../core/commands/chat.ts";
import type { AccountStore, HistoryStore } from "../../core/ports.ts";
import type { ClaimStore } from "../../core/room_claims.ts";
import { PROTOCOL_VERSION, type ServerFrame } from "../../protocol/frames.ts";
import { ManualClock, only, RecordingSink } from "./core.ts";

/** A key proof for `name`: the core compares fingerprints only. */
function key(name: string): KeyProof {
  return { source: "ssh", fingerprint: `SHA256:${name.padEnd(43, "A")}` };
}

/** A store that holds history, accounts, claims and bans (memory or SQLite). */
export type ClaimsStore = HistoryStore & AccountStore & ClaimStore & {
  moderation: BanStore & MuteStore;
};

/** A hub over `store` (accounts and claims in it too), with helpers to drive it. */
export class Chat {
  readonly clock = new ManualClock();
  readonly hub: Hub;
  #hosts = 0;

  /** `room` is where a member's commands run unless one is named. */
  constructor(readonly store: ClaimsStore, readonly room: string) {
    this.hub = new Hub({
      maxUsers: 100,
      maxFrame: 65536,
      serverName: "sockchat-test",
      store,
      replayBudgetBytes: 1 << 18,
      now: this.clock.now,
      bans: new BanList(store.moderation, { mutes: store.moderation }),
      operSecret: { matches: (s) => s === "opensesame" },
      accounts: store,
      claims: store,
    });
  }

  /** Logs `nick` in with its own key (proven: verified once registered). */
  async login(nick: string): Promise<Member> {
    const sink = new RecordingSink();
    const result = await this.hub.login(sink, {
      version: PROTOCOL_VERSION,
      nick,
      key: key(nick),
      address: `192.0.2.${++this.#hosts}`,
    });
    if (!result.ok) throw new Error(`login of ${nick} refused: ${result.error.message}`);
    sink.take();
    return new Member(this.hub, result.user, sink, this.room);
  }

  /** Logs `nick` in, registered to its key. */
  async verified(nick: string): Promise<Member> {
    const member = await this.login(nick);
    if (!member.user.verified) await member.run("/register");
    assert.ok(member.user.verified, `${nick} is verified`);
    return member;
  }
}

/** A logged-in user. */
export class Member {
  constructor(
    readonly hub: Hub,
    readonly user: User,
    readonly sink: RecordingSink,
    readonly room: string,
  ) {}

  /** Runs a command line (in `room`) and returns the frames it brought. */
  async run(line: string, room = this.room): Promise<ServerFrame[]> {
    this.sink.take();
    await runCommand(this.hub, this.user, line, room, "r1");
    await this.hub.flush();
    return this.sink.take();
  }

  /** The error codes among `frames`. */
  static codes(frames: ServerFrame[]): string[] {
    return only(frames, "error").map((e) => e.code);
  }
}
