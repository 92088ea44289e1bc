import assert from "node:assert/strict";
import { type Client, kiwi as kiwiClient, quitKiwi } from "./helpers/irc_framework.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

// The issue's gap-free catch-up: an IRC user who reconnects and asks `CHATHISTORY AFTER <last
// msgid>`, page after page, receives exactly what it missed, in order, once.

/** Messages said while the IRC user is away: more than one page of 100, so paging is needed. */
const MISSED = 250;
/** The page size the client asks for (ISUPPORT CHATHISTORY). */
const PAGE = 100;

/** One line of a history batch, as irc-framework hands it over. */
interface BatchCommand {
  command: string;
  params: string[];
  tags: Record<string, string>;
}

/** irc-framework, with chathistory, in `room`; resolves once joined. */
async function kiwi(server: ChatServer, room: string): Promise<Client> {
  // It asks for batch, server-time and message-tags itself when they are offered.
  const client = await kiwiClient(server, "kiwi", {
    caps: ["draft/chathistory"],
    gecos: "Kiwi user",
  });
  const joined = new Promise((resolve) => client.once("join", resolve));
  client.join(room);
  await within(joined, "join");
  return client;
}

/** Quits and waits for the socket to close. */
function quit(client: Client): Promise<void> {
  return quitKiwi(client, "bye");
}

/** One `CHATHISTORY` request's batch: its PRIVMSG lines as [msgid, text]. */
async function page(client: Client, line: string): Promise<[number, string][]> {
  const ended = new Promise<{ commands: BatchCommand[] }>((resolve) =>
    client.once("batch end chathistory", resolve)
  );
  client.raw(line);
  const batch = await within(ended, `a chathistory batch for ${line}`);
  return batch.commands
    .filter((c) => c.command === "PRIVMSG")
    .map((c) => [Number(c.tags.msgid), c.params[1]]);
}

Deno.test("gap-free: an irc-framework client reconnecting with CHATHISTORY AFTER <last msgid> gets exactly what it missed, in order, once", async () => {
  // No flood control: the NDJSON user says 250 lines at once.
  const server = testServer({
    irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" },
    flood: null,
  });
  const nora = await JsonClient.login(server, "nora");
  let client: Client | null = null;
  try {
    await nora.send({ type: "cmd", line: "/join #room", room: "#lobby" });
    await nora.expect("joined");

    client = await kiwi(server, "#room");
    const heard = new Promise<{ message: string; tags: Record<string, string> }>((resolve) =>
      client?.once("message", resolve)
    );
    await nora.send({ type: "msg", room: "#room", text: "before the gap" });
    const seen = await within(heard, "the last message before the gap");
    assert.equal(seen.message, "before the gap");
    const lastSeen = Number(seen.tags.msgid);
    assert.ok(lastSeen > 0, `a msgid: ${JSON.stringify(seen.tags)}`);
    await nora.expect("ack");
    await quit(client);
    client = null;

    // What kiwi misses: each acknowledged, so committed, with its id.
    const missed: [number, string][] = [];
    for (let i = 0; i < MISSED; i++) {
      await nora.send({ type: "msg", room: "#room", text: `missed ${i}`, ref: `r${i}` });
    }
    for (let i = 0; i < MISSED; i++) {
      const ack = await nora.expect("ack");
      assert.equal(ack.ref, `r${i}`);
      missed.push([ack.id, `missed ${i}`]);
    }

    client = await kiwi(server, "#room");
    const caught: [number, string][] = [];
    let after = lastSeen;
    let pages = 0;
    while (true) {
      const got = await page(client, `CHATHISTORY AFTER #room msgid=${after} ${PAGE}`);
      pages++;
      caught.push(...got);
      if (got.length < PAGE) break;
      after = got[got.length - 1][0];
    }
    assert.equal(pages, Math.floor(MISSED / PAGE) + 1);
    assert.deepEqual(caught, missed);
  } finally {
    if (client !== null) await quit(client);
    nora.close();
    await server.shutdown();
  }
});
