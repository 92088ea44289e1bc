/**
 * Issue 12, defect 7: a refused login is logged with its real reason, and no line calls it a
 * protocol error.
 */

import assert from "node:assert/strict";
import { command, eventually, hello, JsonClient, testServer } from "./helpers/wire.ts";
import { createLogger } from "../log/logger.ts";
import type { ServerOptions } from "../server.ts";

const secret = (value: string) => ({ matches: (c: string | undefined) => c === value });

type LogLine = Record<string, unknown>;

/** A test server whose log lines are kept, parsed. */
function loggedServer(options: ServerOptions) {
  const lines: LogLine[] = [];
  const server = testServer({
    ...options,
    logger: createLogger({ format: "json", write: (line) => lines.push(JSON.parse(line)) }),
  });
  return { server, lines };
}

/** The disconnect lines of connections that never logged in. */
function anonymousDisconnects(lines: readonly LogLine[]): unknown[] {
  return lines.filter((l) => l.event === "disconnect" && l.nick === undefined).map((l) => l.reason);
}

/** Sends a hello that will be refused, and waits for the refusal and the server's close. */
async function refused(port: number, frame: Record<string, unknown>, code: string): Promise<void> {
  const client = await hello(port, frame);
  assert.equal((await client.expect("error")).code, code);
  await client.expectEof();
  client.close();
}

Deno.test("a refused login's disconnect is logged with its real reason: bad_password, server_full", async () => {
  const { server, lines } = loggedServer({ password: secret("open sesame"), maxUsers: 1 });
  const port = server.addr.port;
  await refused(port, { nick: "intruder", password: "guess" }, "bad_password");
  const first = await hello(port, { nick: "first", password: "open sesame" });
  await first.expect("welcome");
  await refused(port, { nick: "second", password: "open sesame" }, "server_full");
  await eventually(() => anonymousDisconnects(lines).length === 2, "two disconnect lines");
  assert.deepEqual(anonymousDisconnects(lines), ["bad_password", "server_full"]);
  first.close();
  await server.shutdown();
});

Deno.test("a banned user's refused login is logged as banned, not as a protocol error", async () => {
  const { server, lines } = loggedServer({ operSecret: secret("sekrit") });
  const port = server.addr.port;
  const op = await JsonClient.login(server, "op");
  await command(op, "/oper sekrit");
  const spammer = await JsonClient.login(server, "spammer");
  await command(op, "/ban spammer");
  await spammer.expectEof();
  spammer.close();
  await refused(port, { nick: "spammer" }, "banned");
  await eventually(() => anonymousDisconnects(lines).length === 1, "a disconnect line");
  assert.deepEqual(anonymousDisconnects(lines), ["banned"]);
  op.close();
  await server.shutdown();
});
