/**
 * Parses `sockchat join` arguments: the target address and the nickname.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_JOIN_HOST, DEFAULT_PORT } from "../config/limits.ts";
import { parseIntFlag } from "./parse_number.ts";
import { parseStrict } from "./parse_strict.ts";
import { UsageError } from "./usage.ts";

const HINT = "sockchat join --help";

/** Environment variables a default nick is taken from, first match wins. */
export const NICK_ENV_VARS = ["SOCKCHAT_NICK", "USER", "LOGNAME"] as const;

/** Everything `join` was asked to do. */
export interface JoinArgs {
  help: boolean;
  host: string;
  port: number;
  nick: string;
}

/** Splits `HOST`, `HOST:PORT`, `:PORT` or `[v6]:PORT`. */
export function parseTarget(target: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(target);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    host = bracketed[1];
    port = bracketed[2];
  } else if ((target.match(/:/g) ?? []).length > 1) {
    host = target; // a bare IPv6 address
  } else {
    const colon = target.lastIndexOf(":");
    host = colon === -1 ? target : target.slice(0, colon);
    port = colon === -1 ? undefined : target.slice(colon + 1);
  }
  return {
    host: host === "" ? DEFAULT_JOIN_HOST : host,
    port: port === undefined ? DEFAULT_PORT : parseIntFlag("port", port, 1, 65535, HINT),
  };
}

/** Parses `join`'s arguments (after the subcommand); throws {@linkcode UsageError}. */
export function parseJoinArgs(
  args: string[],
  env: (name: string) => string | undefined,
): JoinArgs {
  const { values, positionals } = parseStrict(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        name: { type: "string", short: "n" },
      },
    }), HINT);
  if (values.help) return { help: true, host: DEFAULT_JOIN_HOST, port: DEFAULT_PORT, nick: "" };
  if (positionals.length > 1) {
    throw new UsageError(`join takes one HOST[:PORT], but got ${positionals.length}.`, HINT);
  }
  const { host, port } = parseTarget(positionals[0] ?? "");
  let nick = values.name;
  if (nick === undefined) {
    for (const name of NICK_ENV_VARS) {
      const value = env(name);
      if (value) {
        nick = value;
        break;
      }
    }
  }
  if (nick === undefined || nick === "") {
    throw new UsageError(
      `no nickname: pass --name NICK or set ${NICK_ENV_VARS.join(" or ")}.`,
      HINT,
    );
  }
  return { help: false, host, port, nick };
}
