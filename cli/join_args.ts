/**
 * Parses `sockchat join` arguments: the server address(es) and the nickname.
 *
 * @module
 */

import { DEFAULT_JOIN_HOST, DEFAULT_PORT } from "../config/limits.ts";
import { TIMESTAMP_STYLES, type TimestampStyle } from "../client/timestamp.ts";
import { isThemeName, themeChoices, type ThemeName } from "../client/colors.ts";
import { MAX_JOIN_ADDRESSES } from "../client/limits.ts";
import { parseIntFlag } from "./parse_number.ts";
import { parseFlags } from "./parse_strict.ts";
import { UsageError } from "./usage.ts";

const HINT = "sockchat join --help";

/** Environment variables a default nick is taken from, first match wins. */
export const NICK_ENV_VARS = ["SOCKCHAT_NICK", "USER", "LOGNAME"] as const;

/** Everything `join` was asked to do. */
export interface JoinArgs {
  /** `-h` or `--help`: print the help and connect to nothing. */
  help: boolean;
  /** The server's host name or address (the first of {@linkcode JoinArgs.servers}). */
  host: string;
  /** The server's port (the first of {@linkcode JoinArgs.servers}). */
  port: number;
  /**
   * Every address given (`HOST:PORT,HOST:PORT`): the nodes of one chat, tried in turn, at most
   * {@linkcode MAX_JOIN_ADDRESSES}. One entry for a single server.
   */
  servers: ServerAddress[];
  /** The nick to log in as. */
  nick: string;
  /** Print each server frame as one JSON line instead of rendering it. */
  json: boolean;
  /** Colours allowed: false with --no-color or a non-empty $NO_COLOR. */
  color: boolean;
  /** Ring the bell on mentions and direct messages. */
  bell: boolean;
  /** Undefined: short on a terminal, none otherwise. */
  timestamps?: TimestampStyle;
  /** The colour theme; undefined: guessed from $COLORFGBG, else dark. */
  theme?: ThemeName;
  /** Undefined: reconnect when interactive. */
  reconnect?: boolean;
  /** File holding the server password; without it, $SOCKCHAT_PASSWORD is used if set. */
  passwordFile?: string;
  /** Connect with TLS, verifying the server's certificate. */
  tls: boolean;
  /** PEM file of the CA to trust instead of the system's roots (implies `tls`). */
  ca?: string;
  /** `--no-key`: offer no key in the hello (log in by nick, or account password, only). */
  noKey: boolean;
  /** `--key FILE`: the key file to use (made there on first use) instead of the default. */
  keyFile?: string;
  /**
   * File holding the account password of a registered nick; without it,
   * $SOCKCHAT_ACCOUNT_PASSWORD is used if set (a terminal asks when the server wants one).
   */
  accountPasswordFile?: string;
}

/** One server address as `join` dials it. */
export interface ServerAddress {
  /** Host name or IP address (an IPv6 one without brackets). */
  host: string;
  /** TCP port. */
  port: number;
}

const DEFAULTS: Omit<JoinArgs, "nick"> = {
  help: false,
  host: DEFAULT_JOIN_HOST,
  port: DEFAULT_PORT,
  servers: [{ host: DEFAULT_JOIN_HOST, port: DEFAULT_PORT }],
  json: false,
  color: true,
  bell: true,
  tls: false,
  noKey: false,
};

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
    port: port === undefined
      ? DEFAULT_PORT
      : parseIntFlag(`the port in ${target}`, port, 1, 65535, HINT),
  };
}

/**
 * Splits `join`'s address argument: one `HOST[:PORT]`, or several separated by commas (the
 * nodes of one chat), at most {@linkcode MAX_JOIN_ADDRESSES}. Throws {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * parseTargets("a.example:7342,b.example:7342");
 * // [{ host: "a.example", port: 7342 }, { host: "b.example", port: 7342 }]
 * ```
 */
export function parseTargets(text: string): ServerAddress[] {
  if (!text.includes(",")) return [parseTarget(text)];
  const items = text.split(",").map((item) => item.trim());
  if (items.some((item) => item === "")) {
    throw new UsageError(
      `the addresses in ${JSON.stringify(text)} need one HOST[:PORT] between each pair of ` +
        "commas, such as a.example.org:7342,b.example.org:7342.",
      HINT,
    );
  }
  if (items.length > MAX_JOIN_ADDRESSES) {
    throw new UsageError(
      `join takes at most ${MAX_JOIN_ADDRESSES} addresses (the nodes of one chat), not ` +
        `${items.length}.`,
      HINT,
    );
  }
  return items.map(parseTarget);
}

/** Parses `join`'s arguments (after the subcommand); throws {@linkcode UsageError}. */
export function parseJoinArgs(
  args: string[],
  env: (name: string) => string | undefined,
): JoinArgs {
  const { values, positionals } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    name: { type: "string", short: "n", wants: "a nickname" },
    json: { type: "boolean" },
    "no-color": { type: "boolean" },
    "no-bell": { type: "boolean" },
    timestamps: { type: "string", wants: "short, long or none" },
    theme: { type: "string", wants: `a theme: ${themeChoices()}` },
    reconnect: { type: "boolean" },
    "no-reconnect": { type: "boolean" },
    "password-file": { type: "string", wants: "a file holding the password" },
    tls: { type: "boolean" },
    ca: { type: "string", wants: "a PEM file of CA certificates" },
    "no-key": { type: "boolean" },
    key: { type: "string", wants: "the file of your sockchat key" },
    "account-password-file": { type: "string", wants: "a file holding the account password" },
  }, HINT);
  if (values.help) return { ...DEFAULTS, help: true, nick: "" };
  const timestamps = values.timestamps;
  if (timestamps !== undefined && !TIMESTAMP_STYLES.includes(timestamps as TimestampStyle)) {
    throw new UsageError(
      `--timestamps must be short, long or none, not ${JSON.stringify(timestamps)}.`,
      HINT,
    );
  }
  const theme = values.theme;
  if (theme !== undefined && !isThemeName(theme)) {
    throw new UsageError(
      `--theme must be ${themeChoices()}, not ${JSON.stringify(theme)}.`,
      HINT,
    );
  }
  if (values.reconnect && values["no-reconnect"]) {
    throw new UsageError("--reconnect and --no-reconnect contradict each other.", HINT);
  }
  if (values["no-key"] && values.key !== undefined) {
    throw new UsageError("--key and --no-key contradict each other.", HINT);
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `join takes one HOST[:PORT] (or several separated by commas, no spaces), but got ` +
        `${positionals.length} arguments.`,
      HINT,
    );
  }
  const servers = parseTargets(positionals[0] ?? "");
  const { host, port } = servers[0];
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
  return {
    ...DEFAULTS,
    host,
    port,
    servers,
    nick,
    json: values.json === true,
    color: values["no-color"] !== true && !env("NO_COLOR"),
    bell: values["no-bell"] !== true,
    timestamps: timestamps as TimestampStyle | undefined,
    theme,
    reconnect: values.reconnect ? true : values["no-reconnect"] ? false : undefined,
    passwordFile: values["password-file"],
    tls: values.tls === true || values.ca !== undefined,
    ca: values.ca,
    noKey: values["no-key"] === true,
    keyFile: values.key,
    accountPasswordFile: values["account-password-file"],
  };
}
