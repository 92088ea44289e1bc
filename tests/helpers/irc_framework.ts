/**
 * irc-framework (the library KiwiIRC and many bots use) as a test client: connects to a
 * server's `--irc-port`, registers, and quits waiting for the socket to close, so that no test
 * leaks its connection.
 *
 * @module
 */

// @ts-types="./irc_framework.d.ts"
import { Client } from "irc-framework";
import type { ChatServer } from "../../server.ts";
import { within } from "./wire.ts";

export { Client };

/** How a test's irc-framework client registers. */
export interface KiwiOptions {
  /** Caps to ask for besides those irc-framework asks for itself when offered. */
  readonly caps?: string[];
  /** The realname (gecos); the nick unless given. */
  readonly gecos?: string;
  /** Further connect options (`enable_echomessage`, `ping_interval`...), given last. */
  readonly extra?: Record<string, unknown>;
}

/**
 * Connects `client` to `server`'s IRC port as `nick` and resolves once it is registered. Pings
 * and reconnects are off (unless `extra` turns them on): a test ends when it says so.
 */
export async function registerKiwi(
  client: Client,
  server: ChatServer,
  nick: string,
  options: KiwiOptions = {},
): Promise<void> {
  if (options.caps !== undefined) client.requestCap(options.caps);
  const registered = new Promise((resolve) => client.once("registered", resolve));
  client.connect({
    host: "127.0.0.1",
    port: server.addresses.irc?.port,
    nick,
    username: nick,
    gecos: options.gecos ?? nick,
    auto_reconnect: false,
    ping_interval: 0,
    ...options.extra,
  });
  await within(registered, `${nick} registered`);
}

/** A new irc-framework client registered on `server` as `nick` (see `registerKiwi`). */
export async function kiwi(
  server: ChatServer,
  nick: string,
  options: KiwiOptions = {},
): Promise<Client> {
  const client = new Client();
  await registerKiwi(client, server, nick, options);
  return client;
}

/** Sends QUIT (with `message`, if given) and waits for the socket to close. */
export async function quitKiwi(client: Client, message?: string): Promise<void> {
  const closed = new Promise((resolve) => client.once("close", resolve));
  client.quit(message);
  await within(closed, "close");
}
