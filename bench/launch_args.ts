/**
 * How to start sockchat's own CLI under the current Deno, shared by the benchmarks and by the
 * tests that run it as a subprocess, so both grant the same permissions and start `serve` the
 * same way.
 *
 * @module
 */

import type { LogLevel } from "../log/logger.ts";

export type { LogLevel };

/** Path of sockchat's entry point, `main.ts`. */
export const MAIN_PATH: string = new URL("../main.ts", import.meta.url).pathname;

/** The `deno run` permissions the CLI needs: no `--allow-run`, it starts no processes. */
export const CLI_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
];

/**
 * `serve` arguments for a server on 127.0.0.1, on a port the system picks (it prints which),
 * logging at `logLevel` and above; `extra` follows and may add any other flag.
 *
 * @example
 * ```ts
 * loopbackServeArgs("error", ["--max-users", "20000"]);
 * // ["serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "error", "--max-users", "20000"]
 * ```
 */
export function loopbackServeArgs(logLevel: LogLevel, extra: readonly string[] = []): string[] {
  return ["serve", "--host", "127.0.0.1", "--port", "0", "--log-level", logLevel, ...extra];
}
