/**
 * Test helper: a private `redis-server` (Debian's package; `.ci/run` installs it) on a free
 * loopback port in a fresh temporary directory, that a test can stop, kill -9 and restart on
 * the same port, with or without its data. Its output is drained (the last lines are kept for
 * error messages), and {@linkcode RedisServer.stop} leaves no process, file or stream behind.
 *
 * @example
 * ```ts
 * import { startRedis } from "./redis.ts";
 *
 * const redis = await startRedis({ appendonly: true });
 * try {
 *   // connect to redis.url; redis.kill9(); await redis.restart({ keepData: true }); ...
 * } finally {
 *   await redis.stop();
 * }
 * ```
 *
 * @module
 */

/** The program started; found on PATH (CI) or at Debian's path. */
const REDIS_SERVER = "redis-server";

/** How long a start may take before the helper gives up (loading an AOF included). */
const START_TIMEOUT_MS = 20_000;

/** Lines of the server's output kept for error messages. */
const KEPT_LINES = 40;

/** Starts on a port another process took in between are retried this many times. */
const START_ATTEMPTS = 5;

/** What the server logs once it accepts connections. */
const READY_LINE = "Ready to accept connections";

/** How a missing redis-server is reported: the tests need the real program. */
const NO_REDIS = "redis-server is needed for this test: apt-get install -y redis-server";

/** Options for {@linkcode startRedis}. */
export interface RedisOptions {
  /**
   * Persist with the append-only file, fsynced on every write (`--appendonly yes
   * --appendfsync always`): what survives a kill -9. False keeps nothing on disk.
   * @default false
   */
  appendonly?: boolean;
  /** Extra `redis-server` arguments (`--maxmemory`, ...). @default none */
  args?: string[];
}

/** A running (or stopped, restartable) test redis-server. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`: the same across restarts. */
  readonly url: string;
  /** The loopback port it listens on. */
  readonly port: number;
  /** The data directory (the AOF is kept here across {@linkcode RedisServer.kill9}). */
  readonly dir: string;
  /** True between a start and a stop, kill or shutdown. */
  readonly running: boolean;
  /** The server's process id, while it runs. */
  readonly pid: number | undefined;
  /** Ends it with SIGTERM (it flushes its AOF), keeping its data for a restart. */
  shutdown(): Promise<void>;
  /** Ends it with SIGKILL (nothing flushed beyond what is fsynced), keeping its files. */
  kill9(): Promise<void>;
  /**
   * Starts it again on the same port (shutting it down first if it runs). `keepData: false`
   * deletes its files first: Redis comes back empty, as without persistence.
   */
  restart(options?: { keepData?: boolean }): Promise<void>;
  /** Ends it for good and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * CPU time the server has used, in clock ticks (user + system, from /proc; Linux only):
   * undefined when unknown or not running.
   */
  cpuTicks(): Promise<number | undefined>;
  /** The last lines it printed (for a failing test's message). */
  output(): string;
  /** Same as {@linkcode RedisServer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a redis-server on a free loopback port in a new temporary directory. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-redis-" });
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = freePort();
    const server = new Server(dir, port, options);
    try {
      await server.start();
      return server;
    } catch (error) {
      lastError = error;
      await server.kill9();
      if (error instanceof Error && error.message.includes(NO_REDIS)) break;
    }
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw lastError;
}

/** A port nothing listens on now (the server binds it next; a race is retried). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

class Server implements RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly #options: RedisOptions;
  #child: Deno.ChildProcess | null = null;
  /** Resolves when the current child's output is drained and its status is in. */
  #exited: Promise<void> = Promise.resolve();
  #lines: string[] = [];
  #stopped = false;

  constructor(dir: string, port: number, options: RedisOptions) {
    this.dir = dir;
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#options = options;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    if (this.#stopped) throw new Error("this redis-server was stopped for good");
    if (this.#child !== null) return;
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--save",
      "",
      "--daemonize",
      "no",
      "--logfile",
      "",
      "--appendonly",
      this.#options.appendonly ? "yes" : "no",
      ...(this.#options.appendonly ? ["--appendfsync", "always"] : []),
      ...(this.#options.args ?? []),
    ];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(REDIS_SERVER, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new Error(NO_REDIS);
      throw error;
    }
    this.#child = child;
    const { promise: ready, resolve: onReady } = Promise.withResolvers<boolean>();
    const drained = Promise.all([
      this.#drain(child.stdout, onReady),
      this.#drain(child.stderr, () => {}),
    ]);
    this.#exited = Promise.all([drained, child.status]).then(() => {
      onReady(false);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), START_TIMEOUT_MS);
    });
    const outcome = await Promise.race([ready, timeout]);
    clearTimeout(timer);
    if (outcome !== true) {
      await this.#end("SIGKILL");
      throw new Error(
        `redis-server on port ${this.port} did not start (${
          outcome === "timeout" ? "timed out" : "it exited"
        }):\n${this.output()}`,
      );
    }
    await this.#ping();
  }

  /** Reads a stream to its end, keeping the last lines and telling `onReady` when it is up. */
  async #drain(stream: ReadableStream<Uint8Array>, onReady: (ready: boolean) => void) {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        this.#lines.push(line);
        if (this.#lines.length > KEPT_LINES) this.#lines.shift();
        if (line.includes(READY_LINE)) onReady(true);
      }
    }
    if (pending !== "") this.#lines.push(pending);
  }

  /** One PING over a raw socket: the server answers commands, not only logs that it will. */
  async #ping(): Promise<void> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(64);
      let answer = "";
      while (!answer.includes("\r\n")) {
        const n = await conn.read(buffer);
        if (n === null) break;
        answer += new TextDecoder().decode(buffer.subarray(0, n));
      }
      // A server started with --requirepass answers NOAUTH: up, all the same.
      if (!answer.startsWith("+PONG") && !answer.startsWith("-NOAUTH")) {
        throw new Error(`redis-server answered PING with ${JSON.stringify(answer)}`);
      }
    } finally {
      conn.close();
    }
  }

  async #end(signal: Deno.Signal): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    try {
      child.kill(signal);
    } catch {
      // it exited already
    }
    await this.#exited;
    this.#child = null;
  }

  shutdown(): Promise<void> {
    return this.#end("SIGTERM");
  }

  kill9(): Promise<void> {
    return this.#end("SIGKILL");
  }

  async restart(options: { keepData?: boolean } = {}): Promise<void> {
    await this.#end("SIGTERM");
    if (options.keepData === false) {
      for await (const entry of Deno.readDir(this.dir)) {
        await Deno.remove(`${this.dir}/${entry.name}`, { recursive: true });
      }
    }
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#end("SIGKILL");
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  async cpuTicks(): Promise<number | undefined> {
    const pid = this.#child?.pid;
    if (pid === undefined || Deno.build.os !== "linux") return undefined;
    let stat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    } catch {
      // Deno reads /proc only with --allow-all; `cat` needs --allow-run, which a test has.
      try {
        const out = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`] }).output();
        if (!out.success) return undefined;
        stat = new TextDecoder().decode(out.stdout);
      } catch {
        return undefined;
      }
    }
    // The fields after the command name (which may hold spaces) start past its closing paren;
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks : undefined;
  }

  output(): string {
    return this.#lines.join("\n");
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
