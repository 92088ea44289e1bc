/**
 * Test helpers for real IRC clients (irssi, WeeChat) in tmux against `sockchat serve --irc-port 0`:
 * one fixture starts the server, a private tmux server and a throwaway home directory, logs in
 * NDJSON users to talk with, and stops all of it afterwards.
 *
 * @module
 */

import { type ServeProcess, spawnServe } from "./cli.ts";
import { requireTmux, Tmux } from "./tmux.ts";
import { hello, type JsonClient } from "./wire.ts";

/**
 * How long a test waits for what a client sends: irssi and WeeChat pace their own lines (irssi
 * 2.2 s apart past a burst of 5, WeeChat 2 s apart), so a line can wait behind a join's queries.
 */
export const CLIENT_WAIT_MS = 15_000;

/** How long the server may take to print its IRC listening line after the native one. */
const IRC_LISTEN_WAIT_MS = 10_000;

/** How long a client may take to exit after `/quit`. */
const CLIENT_EXIT_WAIT_MS = 10_000;

/** How long a dead pane's exit status may take to show before it is taken as unknown. */
const STATUS_GRACE_MS = 1_000;

/** How long a killed client may keep writing into its home before removing it fails. */
const HOME_REMOVE_WAIT_MS = 5_000;

/** Throws a clear error when `program` (from the Debian package `pkg`) is not installed. */
export async function requireProgram(program: string, pkg = program): Promise<void> {
  await requireTmux();
  const found = await new Deno.Command("sh", {
    args: ["-c", `command -v ${program}`],
    stdout: "null",
  }).output();
  if (!found.success) {
    throw new Error(`${program} is needed for this test: apt-get install -y ${pkg}`);
  }
}

/** What an IRC client test gets from {@linkcode ircChat}. */
export interface IrcChat {
  /** The `sockchat serve` subprocess. */
  server: ServeProcess;
  /** The plain IRC port (`irc listening on 127.0.0.1:PORT`). */
  ircPort: number;
  /** The private tmux server the client runs in. */
  tmux: Tmux;
  /** A fresh directory for the client's home and config, removed afterwards. */
  home: string;
  /** Logs in an NDJSON user on the native port (closed afterwards). */
  login(nick: string): Promise<JsonClient>;
}

/**
 * Runs `body` with `sockchat serve --irc-port 0 --server-name irc.test` (plus `serveArgs`), a
 * tmux server named after `name`, and a home directory; all of it is stopped and removed after,
 * whatever happens.
 */
export async function ircChat(
  name: string,
  serveArgs: string[],
  body: (chat: IrcChat) => Promise<void>,
): Promise<void> {
  const server = await spawnServe(["--irc-port", "0", "--server-name", "irc.test", ...serveArgs]);
  const tmux = new Tmux(`sockchat-${name}-test`);
  const clients: JsonClient[] = [];
  let home: string | null = null;
  try {
    const ircPort = await ircPortOf(server);
    home = await Deno.makeTempDir({ prefix: `sockchat-${name}-home-` });
    const login = async (nick: string) => {
      const client = await hello(server.port, { nick });
      clients.push(client);
      await client.expect("welcome");
      return client;
    };
    await body({ server, ircPort, tmux, home, login });
  } finally {
    await tmux.kill();
    for (const client of clients) client.close();
    await server.stop();
    if (home !== null) await removeHome(home);
  }
}

/**
 * Waits (bounded) for the program in the pane (opened with `keepOnExit`) to exit; returns its
 * exit status, or null when tmux did not learn it (tmux 3.3 may mark a pane dead, its pty
 * closed, without ever showing the status); throws if a signal ended it.
 */
export async function exitStatus(tmux: Tmux): Promise<number | null> {
  const deadline = Date.now() + CLIENT_EXIT_WAIT_MS;
  const format = "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}";
  let deadSince: number | null = null;
  while (Date.now() < deadline) {
    const out = await tmux.run("display-message", "-p", "-t", "chat", format);
    const [dead, status, signal] = out.trim().split(":");
    if (dead === "1" && status !== "") return Number(status);
    if (dead === "1" && signal !== "") throw new Error(`the client was killed by signal ${signal}`);
    if (dead === "1") {
      deadSince ??= Date.now();
      if (Date.now() - deadSince > STATUS_GRACE_MS) return null;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the client did not exit; the screen was:\n${(await tmux.screen()).join("\n")}`);
}

/**
 * Removes the client's home. A client killed with its tmux server may still be writing its
 * config there for a moment, so a directory that fills up again is retried, for a bounded time.
 */
async function removeHome(home: string): Promise<void> {
  const deadline = Date.now() + HOME_REMOVE_WAIT_MS;
  while (true) {
    try {
      await Deno.remove(home, { recursive: true });
      return;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The port of the server's `irc listening on HOST:PORT` line, polled for a bounded time. */
async function ircPortOf(server: ServeProcess): Promise<number> {
  const deadline = Date.now() + IRC_LISTEN_WAIT_MS;
  while (Date.now() < deadline) {
    const match = /irc listening on 127\.0\.0\.1:(\d+)\n/.exec(server.stdout());
    if (match) return Number(match[1]);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`serve printed no 'irc listening on' line:\n${server.stdout()}`);
}
