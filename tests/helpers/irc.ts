/**
 * A raw IRC line client for exact wire assertions: connects to a server's `--irc-port`, writes
 * lines, and waits (bounded) for a line matching a pattern.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatServer } from "../../server.ts";
import { LineSocket, WAIT_MS, within } from "./wire.ts";

/** A hand-driven IRC client on a real socket. */
export class RawIrcClient extends LineSocket {
  /** Every line read so far, in order (for failure messages). */
  readonly seen: string[] = [];

  /** Connects to the server's plain IRC port. */
  static async open(server: ChatServer): Promise<RawIrcClient> {
    const port = server.addresses.irc?.port;
    if (port === undefined) throw new Error("the server has no IRC port");
    return new RawIrcClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Sends lines, each ended with CRLF. */
  async send(...lines: string[]): Promise<void> {
    await this.write(lines.map((line) => line + "\r\n").join(""));
  }

  /** Reads lines until one matches `pattern`; returns it. Fails at EOF or after `ms`. */
  async expect(pattern: RegExp, ms = WAIT_MS): Promise<string> {
    return await within(
      (async () => {
        while (true) {
          const line = await this.readLine(String(pattern), ms);
          if (line === null) {
            throw new Error(`EOF before ${pattern}; seen:\n${this.seen.join("\n")}`);
          }
          this.seen.push(line);
          if (pattern.test(line)) return line;
        }
      })(),
      `${pattern} (seen: ${this.seen.slice(-5).join(" | ")})`,
      ms,
    );
  }

  /** Registers as `nick` (NICK + USER, no CAP) and waits for the end of the welcome (221). */
  async register(nick: string): Promise<void> {
    await this.send(`NICK ${nick}`, `USER ${nick} 0 * :${nick} tester`);
    await this.expect(/ 221 /);
  }

  /** Connects and registers. */
  static async login(server: ChatServer, nick: string): Promise<RawIrcClient> {
    const client = await RawIrcClient.open(server);
    await client.register(nick);
    return client;
  }
}

/**
 * Connects, asks for `caps` after `CAP LS 302` (failing unless they are ACKed), registers as
 * `nick`, and waits for the end of the welcome (221).
 */
export async function capped(
  server: ChatServer,
  nick: string,
  caps: string,
): Promise<RawIrcClient> {
  const irc = await RawIrcClient.open(server);
  await irc.send("CAP LS 302", `CAP REQ :${caps}`, `NICK ${nick}`, `USER ${nick} 0 * :${nick}`);
  assert.match(await irc.expect(/ CAP \S+ (?:ACK|NAK) /), / ACK /, `${caps} offered`);
  await irc.send("CAP END");
  await irc.expect(/ 221 /);
  return irc;
}

/**
 * Registers `nick` with `caps` enabled by a bare `CAP REQ` (empty: no CAP at all), and waits
 * for the end of the welcome (221).
 */
export async function ircWith(
  server: ChatServer,
  nick: string,
  caps: string,
): Promise<RawIrcClient> {
  const irc = await RawIrcClient.open(server);
  if (caps !== "") {
    await irc.send(`CAP REQ :${caps}`);
    await irc.expect(/ CAP \S+ ACK /);
  }
  await irc.send(`NICK ${nick}`, `USER ${nick} 0 * :${nick} tester`);
  if (caps !== "") await irc.send("CAP END");
  await irc.expect(/ 221 /);
  return irc;
}
