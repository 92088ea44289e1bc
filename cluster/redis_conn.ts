/**
 * One connection to Redis (node-redis, `npm:redis`), as the cluster engine uses it: raw
 * commands with plain replies (RESP2), Lua scripts by SHA with a fallback to their text, a
 * command timeout, and no offline queue, so a command while Redis is down fails at once with a
 * {@linkcode StoreError} people can read ("Redis at HOST:PORT is unreachable") instead of
 * waiting to be sent late. The client reconnects by itself for ever, at most
 * {@linkcode REDIS_RECONNECT_MAX_MS} apart; its `error` events are always listened to (a
 * client without a listener would crash the process) and reported once per outage.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { ClientClosedError, ClientOfflineError, createClient, ErrorReply } from "redis";
import { StoreError } from "../store/store_error.ts";
import {
  REDIS_COMMAND_TIMEOUT_MS,
  REDIS_CONNECT_TIMEOUT_MS,
  REDIS_RECONNECT_MAX_MS,
  REDIS_RECONNECT_MIN_MS,
} from "../config/cluster_limits.ts";

/** A Redis reply as RESP2 gives it: strings, integers, nil and arrays of them. */
export type Reply = string | number | null | Reply[];

/** One argument of a command. */
export type Arg = string | number;

/** Options for {@linkcode RedisConn.open}. */
export interface RedisConnOptions {
  /** Shown in `CLIENT LIST` (the node id and the connection's role). @default none */
  name?: string;
  /** How long a command may take (ms). @default REDIS_COMMAND_TIMEOUT_MS */
  commandTimeoutMs?: number;
  /**
   * Told when the connection is lost (once per outage, with the readable cause) and when it
   * is back (`null`). @default nothing
   */
  onState?: (problem: string | null) => void;
}

/**
 * A command whose outcome is unknown: it was written to Redis but no reply came (timed out, or
 * the connection broke meanwhile), so Redis may have run it. `kind` lets callers that cannot
 * import this module (core/) tell it from a definite failure.
 */
export class AmbiguousStoreError extends StoreError {
  /** Always `"ambiguous"`. */
  readonly kind = "ambiguous";

  /** An error whose `message` is the cause as a clause. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AmbiguousStoreError";
  }
}

/** Our own deadline ran out (node-redis drops its timeout once a command is written). */
class NoReply extends Error {}

/** A Lua script, sent by SHA1 (and by text the first time a Redis has not seen it). */
export class Script {
  /** The script's text. */
  readonly lua: string;
  /** Its SHA1, as EVALSHA takes it. */
  readonly sha: string;

  /** A script of `lua`. */
  constructor(lua: string) {
    this.lua = lua;
    this.sha = createHash("sha1").update(lua).digest("hex");
  }
}

/** The client as created below (its exact generic type, without spelling it). */
function newClient(
  url: string,
  options: RedisConnOptions,
  connected: () => boolean,
  backoff: (ms: number) => number,
) {
  return createClient({
    url,
    RESP: 2,
    name: options.name,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
      // Before the first connection a failure is the operator's to see (a wrong URL); after
      // it, Redis is only away for a while: try again for ever, backing off to at most 1 s.
      reconnectStrategy: (retries: number, cause: Error) =>
        connected()
          ? backoff(
            Math.min(REDIS_RECONNECT_MIN_MS * 2 ** Math.min(retries, 10), REDIS_RECONNECT_MAX_MS),
          )
          : cause,
    },
  });
}

type Client = ReturnType<typeof newClient>;

/** `HOST:PORT` of a Redis URL, for messages (never the password). */
export function redisWhere(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || "localhost"}:${parsed.port || "6379"}`;
  } catch {
    return "an invalid URL";
  }
}

/** A connection to Redis; see the module documentation. */
export class RedisConn {
  /** `HOST:PORT` of the server, for messages. */
  readonly where: string;
  readonly #url: string;
  readonly #options: RedisConnOptions;
  /** Replaced by a new one when a command times out (the old socket may be half-open). */
  #client: Client;
  readonly #timeout: number;
  /** Channels subscribed to, renewed on a replacement client. */
  readonly #subscriptions = new Map<string, (message: string) => void>();
  #connected = false;
  #closed = false;
  /** The cause of the outage in progress (reported once), or null while connected. */
  #problem: string | null = null;
  readonly #readyListeners = new Set<() => void>();
  /** When the last reconnect wait node-redis started ends (ms since the epoch). */
  #quietAt = 0;

  private constructor(url: string, options: RedisConnOptions) {
    this.#url = url;
    this.#options = options;
    this.where = redisWhere(url);
    this.#timeout = options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
    this.#client = this.#newClient();
  }

  /** A client wired to this connection's listeners (events of a replaced one are ignored). */
  #newClient(): Client {
    const client = newClient(this.#url, this.#options, () => this.#connected, (ms) => {
      // node-redis sleeps before each reconnect on a timer it cannot cancel: close() waits it out.
      this.#quietAt = Math.max(this.#quietAt, Date.now() + ms);
      return ms;
    });
    // Without a listener an `error` event would be thrown by the emitter and end the process.
    client.on("error", (error: Error) => {
      if (client === this.#client) this.#lost(error);
    });
    client.on("ready", () => {
      if (client !== this.#client) return;
      this.#connected = true;
      if (this.#problem !== null) {
        this.#problem = null;
        this.#options.onState?.(null);
      }
      for (const listener of this.#readyListeners) listener();
    });
    return client;
  }

  /**
   * Connects to `url` (`redis://[user:password@]HOST:PORT[/DB]`, `rediss://` for TLS).
   * Rejects with a StoreError naming the server when it cannot be reached or refuses the
   * login; once connected, the connection comes back by itself after any loss.
   */
  static async open(url: string, options: RedisConnOptions = {}): Promise<RedisConn> {
    const conn = new RedisConn(url, options);
    try {
      await conn.#client.connect();
    } catch (error) {
      conn.#closed = true;
      conn.#client.destroy();
      throw conn.#failure(error);
    }
    return conn;
  }

  /** Another connection to the same server (for a blocking read or a subscription). */
  duplicate(name: string): Promise<RedisConn> {
    return RedisConn.open(this.#url, { ...this.#options, name, onState: undefined });
  }

  /** True while connected and ready for commands. */
  get ready(): boolean {
    return this.#client.isReady;
  }

  /** Calls `listener` each time the connection is (re-)established; returns how to stop. */
  onReady(listener: () => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  /**
   * Sends one command. Rejects with a StoreError: "Redis at HOST:PORT is unreachable" when it
   * is down, Redis's own words when it refuses the command, and an {@linkcode
   * AmbiguousStoreError} when it was sent but no reply came within `timeoutMs` (the connection
   * is then torn down and made again: a half-open socket would otherwise hold every later
   * command) or the connection broke while it was in flight.
   */
  command(args: readonly Arg[], timeoutMs = this.#timeout): Promise<Reply> {
    return this.#send(args.map(String), timeoutMs);
  }

  /** Runs `script` with `keys` and `args` (EVALSHA, then EVAL once if Redis lacks it). */
  async run(
    script: Script,
    keys: readonly string[],
    args: readonly Arg[],
    timeoutMs = this.#timeout,
  ): Promise<Reply> {
    const rest = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.#send(["EVALSHA", script.sha, ...rest], timeoutMs);
    } catch (error) {
      if (
        !(error instanceof StoreError && error.cause instanceof ErrorReply &&
          error.cause.message.startsWith("NOSCRIPT"))
      ) throw error;
    }
    return await this.#send(["EVAL", script.lua, ...rest], timeoutMs);
  }

  /** One command under our own deadline (see {@linkcode RedisConn.command}). */
  async #send(args: string[], timeoutMs: number): Promise<Reply> {
    const client = this.#client;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NoReply()), timeoutMs);
    });
    const sent = (async () => await client.sendCommand(args) as Reply)();
    try {
      return await Promise.race([sent, deadline]);
    } catch (error) {
      if (error instanceof NoReply) {
        // The late reply (or the teardown's rejection) is nobody's now.
        sent.catch(() => {});
        this.#replace(client, `no reply within ${timeoutMs} ms`);
        throw new AmbiguousStoreError(
          `Redis at ${this.where} did not answer within ${timeoutMs} ms`,
          { cause: error },
        );
      }
      if (client !== this.#client && !this.#closed && refusalOf(error) === null) {
        // Torn down meanwhile because another command on it got no reply in time.
        throw new AmbiguousStoreError(`Redis at ${this.where} did not answer in time`, {
          cause: error,
        });
      }
      throw this.#failure(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Drops `stale` (a command on it got no reply in time: the socket may be half-open, and a
   * RESP pipeline cannot skip one reply) and connects a new client, which reconnects for ever
   * like the first. Commands in flight on the old one reject.
   */
  #replace(stale: Client, why: string): void {
    if (this.#closed || stale !== this.#client) return;
    this.#lost(new Error(why));
    const fresh = this.#client = this.#newClient();
    stale.destroy();
    void (async () => {
      try {
        await fresh.connect();
        for (const [channel, listener] of this.#subscriptions) {
          await fresh.SUBSCRIBE(channel, (message: string) => listener(message));
        }
      } catch {
        // Closed meanwhile, or the next timeout replaces it again.
      }
    })();
  }

  /**
   * Subscribes to a pub/sub channel (this connection then takes no other commands). The
   * subscription is renewed by the client after a reconnect.
   */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    this.#subscriptions.set(channel, listener);
    try {
      await this.#client.SUBSCRIBE(channel, (message: string) => listener(message));
    } catch (error) {
      throw this.#failure(error);
    }
  }

  /**
   * Closes the connection at once (pending commands reject). Safe to call twice. During an
   * outage node-redis lets its wait before the next reconnect run out (at most
   * {@linkcode REDIS_RECONNECT_MAX_MS}), then stops: the promise resolves once that wait is
   * over, so whoever awaits it leaves no timer running.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#readyListeners.clear();
      this.#client.destroy();
    }
    const left = this.#quietAt - Date.now();
    return left <= 0 ? Promise.resolve() : new Promise((done) => setTimeout(done, left + 20));
  }

  /**
   * The readable error for a failed command: a refusal, a definite failure (never sent: the
   * client was offline or closed), or an ambiguous one (it was in flight when the connection
   * broke: Redis may have run it).
   */
  #failure(error: unknown): StoreError {
    if (error instanceof StoreError) return error;
    const refusal = refusalOf(error);
    if (refusal !== null) {
      return new StoreError(`Redis at ${this.where} refused it (${refusal})`, { cause: error });
    }
    const message = `Redis at ${this.where} is unreachable`;
    if (error instanceof ClientOfflineError || error instanceof ClientClosedError) {
      return new StoreError(message, { cause: error });
    }
    return new AmbiguousStoreError(message, { cause: error });
  }

  #lost(error: Error): void {
    if (this.#closed || this.#problem !== null) return;
    this.#problem = `Redis at ${this.where} is unreachable (${error.message})`;
    this.#options.onState?.(this.#problem);
  }
}

/**
 * Redis's own words when it answered with an error (a wrong password, a full memory, a script
 * error), looked for through the wrappers node-redis puts around a failed connect; null when
 * the failure is the network's.
 */
function refusalOf(error: unknown): string | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    if (e instanceof ErrorReply) return e.message;
    // A refused login comes back from connect() wrapped, with Redis's message kept.
    if (/^(WRONGPASS|NOAUTH|NOPERM|ERR|OOM|READONLY|MISCONF)\b/.test(e.message)) return e.message;
    const wrapped = e as Error & { originalError?: unknown };
    e = wrapped.originalError ?? e.cause;
  }
  return null;
}
