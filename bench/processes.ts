/**
 * Starting the two processes of a measurement: the server under test, pinned to one core, and
 * the load generator, pinned to another. Both run under `bash -c 'ulimit -n ...; exec ...'` so
 * that thousands of sockets fit, and `exec` keeps the PID the one whose `/proc` we read.
 *
 * @module
 */

import { CLI_PERMISSIONS, loopbackServeArgs, MAIN_PATH } from "./launch_args.ts";
import type { LoadResult, LoadSpec, Target } from "./loadgen/spec.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const LOADGEN = `${ROOT}bench/loadgen.ts`;
const FLOOR = `${ROOT}bench/floor_relay.ts`;
const FLOOR_WS = `${ROOT}bench/floor_ws_relay.ts`;
/** Open files wanted; falls back to the hard limit when that is lower. */
const WANT_OPEN_FILES = 65536;
const LISTEN_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const decoder = new TextDecoder();
/** The chat port's line (`listening on HOST:PORT`), as `main.ts` and the floor relay print it. */
const LISTENING = /^listening on .*:(\d+)\n/m;
/** The web port's line (`web listening on http://HOST:PORT/`). */
const WEB_LISTENING = /^web listening on https?:\/\/.*:(\d+)\/\n/m;
/** The IRC port's line (`irc listening on HOST:PORT`). */
const IRC_LISTENING = /^irc listening on .*:(\d+)\n/m;

/** Cores to pin to, or null where `taskset` is missing or there is only one core. */
export interface Pinning {
  /** Core for the server. */
  server: number;
  /** Core for the load generator, apart from the server's. */
  loadgen: number;
}

/** Finds out whether the server and load generator can each have a core of their own. */
export async function detectPinning(): Promise<Pinning | null> {
  if (navigator.hardwareConcurrency < 2) return null;
  try {
    const { success } = await new Deno.Command("taskset", {
      args: ["-c", "0", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? { server: 0, loadgen: 1 } : null;
  } catch {
    return null;
  }
}

/**
 * A command run as `bash -c 'ulimit -n ...; exec taskset -c CPU ARGV...'` (without taskset when
 * `cpu` is null), with its output piped.
 */
export function pinnedCommand(
  argv: string[],
  cpu: number | null,
  env: Record<string, string> = {},
): Deno.Command {
  const script = `ulimit -n ${WANT_OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  const pinned = cpu === null ? argv : ["taskset", "-c", String(cpu), ...argv];
  return new Deno.Command("bash", {
    args: ["-c", script, "bench", ...pinned],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  });
}

/** Options for {@linkcode startServer}. */
export interface ServerLaunch {
  /** The server to run: sockchat itself, or the do-nothing relay that shows the floor. */
  program: "sockchat" | "floor";
  /** Extra `serve` flags, such as `--max-users 20000` (sockchat only). */
  serveArgs: string[];
  /** Extra flags for `deno run`, such as `--cpu-prof`. */
  denoArgs: string[];
  /** Core to pin the server to with `taskset`; null: unpinned. */
  cpu: number | null;
  /**
   * True when `serveArgs` turn the web front end on (sockchat), or for the WebSocket floor relay:
   * the web port's line is awaited too. @default false
   */
  web?: boolean;
  /** True when `serveArgs` turn the IRC port on: its line is awaited too. @default false */
  irc?: boolean;
}

/** A running `sockchat serve` subprocess. */
export interface ServerProcess {
  /** Process id, for `/proc` readings. */
  pid: number;
  /** The chat port it printed in its `listening on` line. */
  port: number;
  /** The web port it printed in its `web listening on` line, when the launch asked for one. */
  webPort?: number;
  /** The IRC port it printed in its `irc listening on` line, when the launch asked for one. */
  ircPort?: number;
  /** Asks it to shut down (SIGTERM), kills it if it will not; resolves to its stderr. */
  stop(): Promise<string>;
}

/**
 * Starts `main.ts serve` (or the floor relay) on 127.0.0.1 port 0 and waits for its
 * `listening on` line.
 */
export async function startServer(launch: ServerLaunch): Promise<ServerProcess> {
  const program = launch.program === "floor"
    ? [launch.web === true ? FLOOR_WS : FLOOR]
    : [MAIN_PATH, ...loopbackServeArgs("error", launch.serveArgs)];
  const child = pinnedCommand(
    [Deno.execPath(), "run", ...CLI_PERMISSIONS, ...launch.denoArgs, ...program],
    launch.cpu,
  ).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let seen = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("server did not start listening")),
      LISTEN_TIMEOUT_MS,
    );
  });
  try {
    while (
      !LISTENING.test(seen) || (launch.web === true && !WEB_LISTENING.test(seen)) ||
      (launch.irc === true && !IRC_LISTENING.test(seen))
    ) {
      const { value, done } = await Promise.race([reader.read(), late]);
      if (done) throw new Error(`server exited before listening: ${await stderr}`);
      seen += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const drained = (async () => {
    while (!(await reader.read()).done) {
      // discard: the server prints nothing more we need
    }
  })();
  const port = Number(LISTENING.exec(seen)?.[1]);
  const web = WEB_LISTENING.exec(seen)?.[1];
  const irc = IRC_LISTENING.exec(seen)?.[1];
  return {
    pid: child.pid,
    port,
    webPort: web === undefined ? undefined : Number(web),
    ircPort: irc === undefined ? undefined : Number(irc),
    async stop() {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await child.status;
      clearTimeout(killer);
      await drained;
      // The inspector announces itself on stderr; that is not the server talking.
      return (await stderr).split("\n")
        .filter((line) =>
          !/^(Debugger listening on|Visit chrome:\/\/inspect|Debugger session (started|ended))/
            .test(line)
        )
        .join("\n");
    },
  };
}

/** Runs the load generator once; kills it after `timeoutMs`. */
export async function runLoadgen(
  spec: LoadSpec,
  target: Target,
  cpu: number | null,
  timeoutMs: number,
): Promise<LoadResult> {
  const child = pinnedCommand([
    Deno.execPath(),
    "run",
    // Deno lets a program read another process's /proc files only with every permission.
    "--allow-all",
    LOADGEN,
    JSON.stringify(spec),
    JSON.stringify(target),
  ], cpu).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  clearTimeout(killer);
  if (!status.success) {
    throw new Error(`load generator failed (${status.code ?? status.signal}): ${err.trim()}`);
  }
  return JSON.parse(out.trim().split("\n").at(-1) ?? "") as LoadResult;
}

/** A port that was free a moment ago, for a server's inspector, metrics or listener. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
