/**
 * The `serve` flags a benchmark server needs: room for thousands of users from one address, a
 * throwaway history database, and no flood control (a load generator is a flood by design).
 * The server's options are still growing, so the flags are chosen by asking `serve --help`
 * which ones exist; a limit the bench cannot lift is reported rather than silently measured.
 *
 * @module
 */

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Users and connections per address allowed: more than the largest idle scenario. */
const MAX_CONNECTIONS = 20_000;

/** What `serve --help` offers, and the flags the bench will pass because of it. */
export interface ServeFlags {
  /** Flags to add to every benchmark server, except the database, which is per run. */
  args: string[];
  /** True if `--db` exists: each run then gets a fresh database file. */
  hasDb: boolean;
  /** True if `--metrics-port` exists. */
  hasMetrics: boolean;
  /** Flood or rate flags in `--help` that the bench does not know how to turn off. */
  unhandled: string[];
}

/** Flags that switch flood control off, as `serve` names them. */
const FLOOD_OFF: Record<string, string[]> = { "--rate": ["--rate", "0"] };

/** Asks `main.ts serve --help` which flags exist and picks the bench's. */
export async function detectServeFlags(): Promise<ServeFlags> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      MAIN,
      "serve",
      "--help",
    ],
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).output();
  return chooseFlags(new TextDecoder().decode(out.stdout));
}

/** Picks the bench's flags from the text of `serve --help`. */
export function chooseFlags(help: string): ServeFlags {
  const offered = new Set(help.match(/--[a-z][a-z0-9-]*/g) ?? []);
  const args: string[] = [];
  if (offered.has("--max-users")) args.push("--max-users", String(MAX_CONNECTIONS));
  if (offered.has("--max-conns-per-ip")) args.push("--max-conns-per-ip", String(MAX_CONNECTIONS));
  // Every bench client comes from loopback: one address opening thousands of connections.
  if (offered.has("--max-logins-per-minute")) args.push("--max-logins-per-minute", "0");
  const floodOff = Object.keys(FLOOD_OFF).find((flag) => offered.has(flag));
  if (floodOff !== undefined) args.push(...FLOOD_OFF[floodOff]);
  const unhandled = floodOff !== undefined
    ? []
    : [...offered].filter((flag) => /flood|rate/.test(flag));
  return {
    args,
    hasDb: offered.has("--db"),
    hasMetrics: offered.has("--metrics-port"),
    unhandled,
  };
}
