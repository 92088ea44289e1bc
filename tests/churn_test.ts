import { PRESENCE_WINDOW_MS } from "../config/limits.ts";
/**
 * Connection churn: a thousand connections that come and go in every way a connection can end,
 * many of them abruptly in the middle of the handshake or of a frame, while a few users stay.
 * Afterwards nothing may be left behind: no connection, no user, no ghost in #lobby.
 */

import assert from "node:assert/strict";
import { LOBBY } from "../protocol/frames.ts";
import { mulberry32, type Rng, testSeed } from "./helpers/prng.ts";
import { eventually, JsonClient, testServer, within } from "./helpers/wire.ts";

const CYCLES = 1_000;
const WORKERS = 25;
const STAYERS = 5;

/** Every way a churning connection ends. */
const KINDS = [
  "close_at_once",
  "partial_hello",
  "hello_then_close",
  "login_then_close",
  "login_then_mid_frame",
  "login_then_message_then_close",
  "login_then_quit",
  "plain_nick_then_close",
  "plain_partial_nick",
  "garbage_then_close",
] as const;
type Kind = typeof KINDS[number];

async function cycle(port: number, kind: Kind, nick: string, rng: Rng): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const client = new JsonClient(conn);
  const hello = JSON.stringify({ type: "hello", v: 1, nick }) + "\n";
  try {
    switch (kind) {
      case "close_at_once":
        break;
      case "partial_hello":
        await client.write(hello.slice(0, rng.int(1, hello.length - 2)));
        break;
      case "hello_then_close":
        await client.write(hello);
        break;
      case "login_then_close":
        await client.write(hello);
        await client.expect("welcome");
        break;
      case "login_then_mid_frame":
        await client.write(hello);
        await client.expect("welcome");
        await client.write('{"type":"msg","text":"cut off in the mid');
        break;
      case "login_then_message_then_close":
        await client.write(hello);
        await client.expect("welcome");
        await client.send({ type: "msg", text: `bye from ${nick}` });
        break;
      case "login_then_quit":
        await client.write(hello);
        await client.expect("welcome");
        await client.send({ type: "quit" });
        await client.expectEof();
        break;
      case "plain_nick_then_close":
        await client.write(`${nick}\n`);
        break;
      case "plain_partial_nick":
        await client.write(nick.slice(0, 2));
        break;
      case "garbage_then_close":
        await client.write(rng.bytes(rng.int(1, 200)));
        break;
    }
  } catch (error) {
    // The server may refuse the garbage and close first; nothing else may fail.
    if (!(kind === "garbage_then_close" && error instanceof Deno.errors.ConnectionReset)) {
      throw error;
    }
  }
  // Closing with unread input makes the kernel send a reset rather than a FIN: both happen here.
  client.close();
}

Deno.test("1,000 connect/disconnect cycles leave no connection, user or ghost behind", async () => {
  const seed = testSeed("churn_test");
  const rng = mulberry32(seed);
  const server = testServer({
    flood: null,
    maxConnsPerIp: 10_000,
    maxUsers: 2_000,
    maxLoginsPerMinute: 0,
  });
  const stayers = await Promise.all(
    Array.from({ length: STAYERS }, (_, i) => JsonClient.login(server, `stayer${i}`)),
  );
  try {
    // The first stayer keeps count of who joined and left #lobby while it watched.
    const watcher = stayers[0];
    const balance = new Map<string, number>();
    /** Presence summaries (a storm's held joins and leaves, told as one line). */
    const summaries: string[] = [];
    const synced = Promise.withResolvers<void>();
    const watching = (async () => {
      while (true) {
        const frame = await watcher.next("lobby events", 30_000);
        if (frame === null) return;
        if (frame.type === "join" && frame.nick.startsWith("c")) {
          balance.set(frame.nick, (balance.get(frame.nick) ?? 0) + 1);
        } else if (frame.type === "leave" && frame.nick.startsWith("c")) {
          balance.set(frame.nick, (balance.get(frame.nick) ?? 0) - 1);
        } else if (frame.type === "info" && frame.room === LOBBY) {
          summaries.push(frame.text);
        } else if (frame.type === "ack" && frame.ref === "sync") {
          synced.resolve();
        }
      }
    })();
    // The other stayers just keep reading, so that nobody falls behind.
    const reading = stayers.slice(1).map(async (stayer) => {
      while (await stayer.next("lobby events", 30_000) !== null);
    });

    const counts = new Map<Kind, number>();
    let next = 0;
    const started = performance.now();
    await within(
      Promise.all(Array.from({ length: WORKERS }, async () => {
        const own = rng.fork();
        while (next < CYCLES) {
          const i = next++;
          const kind = own.pick(KINDS);
          counts.set(kind, (counts.get(kind) ?? 0) + 1);
          await cycle(server.addr.port, kind, `c${i}`, own);
        }
      })),
      "the churn",
      30_000,
    );
    console.log(
      `churn_test: ${CYCLES} cycles in ${Math.round(performance.now() - started)} ms: ` +
        [...counts].map(([kind, n]) => `${kind} ${n}`).join(", "),
    );

    await eventually(
      () => server.connections.size === STAYERS,
      `only the stayers' connections to remain (${server.connections.size} open)`,
      10_000,
    );
    assert.equal(server.hub.userCount, STAYERS);
    const lobby = server.hub.room(LOBBY);
    assert.deepEqual(
      [...lobby?.members ?? []].map((u) => u.nick).sort(),
      stayers.map((_, i) => `stayer${i}`),
      "no ghosts in #lobby",
    );
    assert.deepEqual([...server.hub.rooms].map((r) => r.name), [LOBBY]);

    // Held presence is told within its window (and the sweep); then everything the lobby was
    // told is in the watcher's queue before the answer to this.
    await new Promise((resolve) => setTimeout(resolve, PRESENCE_WINDOW_MS + 1500));
    await watcher.send({ type: "msg", text: "all quiet?", ref: "sync" });
    await within(synced.promise, "the watcher's sync");
    // A join told on its own may have its leave told in a summary; a summary names the first
    // few and counts the rest.
    const summarised = (nick: string) =>
      summaries.some((line) =>
        line.includes(` ${nick},`) || line.includes(` ${nick} `) ||
        line.endsWith(` ${nick}`) || / more/.test(line)
      );
    const unbalanced = [...balance].filter(([nick, n]) => n !== 0 && !summarised(nick));
    assert.deepEqual(unbalanced, [], "every join the lobby saw was followed by a leave");
    assert.ok(balance.size > 0, "some churners did log in");

    for (const stayer of stayers) stayer.close();
    await Promise.all([watching, ...reading]).catch(() => {});
    await eventually(() => server.connections.size === 0, "every connection to close");
    assert.equal(server.hub.userCount, 0);
    assert.equal(lobby?.members.size, 0);
  } finally {
    for (const stayer of stayers) stayer.close();
    await server.shutdown();
  }
});
