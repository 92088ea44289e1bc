/**
 * Test helpers for registered nicks: set up an account over the real protocol, as a person
 * would, before the test logs in to it.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatServer } from "../../server.ts";
import { command, JsonClient } from "./wire.ts";

/** Registers `nick` to a password account over NDJSON, then leaves. */
export async function registerPassword(
  server: ChatServer,
  nick: string,
  password: string,
): Promise<void> {
  const client = await JsonClient.login(server, nick);
  const answer = await command(client, `/register ${password}`);
  assert.notEqual(answer.type, "error", JSON.stringify(answer));
  await client.send({ type: "quit" });
  await client.expectEof();
  client.close();
}
