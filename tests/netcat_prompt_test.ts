/**
 * What a person on `nc host port` is asked, over a raw socket to a real server: a silent
 * connection (the late greeting, sent while the port still waits to tell NDJSON from plain text)
 * gets the same question as one that types at once, and a late NDJSON client still reads its
 * welcome on a line of its own.
 */

import assert from "node:assert/strict";
import { JsonClient, LineSocket, testServer } from "./helpers/wire.ts";
import { PLAIN_GREETING_DELAY_MS } from "../config/limits.ts";

/** Time past the sniff deadline a busy machine may take to deliver the prompt. */
const MARGIN_MS = 2000;
const GREETING = "* Welcome to sockchat. Type a nickname and press Enter.\r\n";
const PASSWORD_GREETING = "* Welcome to sockchat. This server has a password: type it and " +
  "press Enter (your nickname is asked next).\r\n";

const secret = (value: string) => ({ matches: (c: string | undefined) => c === value });

Deno.test("netcat: a connection that types nothing is greeted and then asked 'Nickname: '", async () => {
  const server = testServer();
  const nc = await LineSocket.connect(server);
  // Sends nothing, as a person reading the screen does: the question must come unprompted.
  const asked = await nc.readUntilText("Nickname: ", PLAIN_GREETING_DELAY_MS + MARGIN_MS);
  assert.equal(asked, GREETING + "Nickname: ");
  await nc.write("bob\n");
  assert.equal(await nc.readLine(), "* Welcome to sockchat, bob!");
  nc.close();
  await server.shutdown();
});

Deno.test("netcat: a silent connection to a server with a password is asked for it", async () => {
  const server = testServer({ password: secret("open sesame") });
  const nc = await LineSocket.connect(server);
  const asked = await nc.readUntilText("Server password: ", PLAIN_GREETING_DELAY_MS + MARGIN_MS);
  assert.equal(asked, PASSWORD_GREETING + "Server password: ");
  await nc.write("open sesame\n");
  assert.equal(await nc.readUntilText("Nickname: "), "Nickname: ");
  await nc.write("bob\n");
  assert.equal(await nc.readLine(), "* Welcome to sockchat, bob!");
  nc.close();
  await server.shutdown();
});

Deno.test("netcat: typing at once still gets the greeting and one prompt", async () => {
  const server = testServer();
  const nc = await LineSocket.connect(server);
  await nc.write("bob\n");
  const shown = await nc.readUntilText("/quit leaves.\r\n");
  assert.ok(shown.startsWith(GREETING + "Nickname: * Welcome to sockchat, bob!\r\n"), shown);
  assert.equal(shown.split("Nickname: ").length, 2, "asked once");
  nc.close();
  await server.shutdown();
});

Deno.test("a late NDJSON client: the open prompt line is ended before its welcome", async () => {
  const server = testServer();
  const client = new JsonClient(
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
  await client.readUntilText("Nickname: ", PLAIN_GREETING_DELAY_MS + MARGIN_MS);
  await client.send({ type: "hello", v: 1, nick: "slowbot" });
  // The rest of the prompt's line is empty: the welcome is not glued to "Nickname: ".
  assert.equal(await client.readLine(), "");
  const welcome = await client.readLine();
  assert.ok(welcome?.startsWith('{"type":"welcome"'), welcome ?? "EOF");
  client.close();
  await server.shutdown();
});
