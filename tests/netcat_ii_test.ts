/**
 * Issue 12, the netcat items: what a person on `nc host port` reads, over a raw socket to a real
 * server.
 */

import assert from "node:assert/strict";
import { command, eventually, JsonClient, LineSocket, testServer } from "./helpers/wire.ts";
import { LINGER_MS } from "../config/limits.ts";
import type { ChatServer } from "../server.ts";

const secret = (value: string) => ({ matches: (c: string | undefined) => c === value });

/** A netcat user logged in as `nick`, past the welcome's last line. */
async function plainLogin(server: ChatServer, nick: string): Promise<LineSocket> {
  const nc = await LineSocket.connect(server);
  await nc.write(`${nick}\n`);
  await nc.readUntilText("/quit leaves.\r\n");
  return nc;
}

/** Reads plain lines until one matches; returns it. */
async function plainUntil(nc: LineSocket, pattern: RegExp): Promise<string> {
  while (true) {
    const line = await nc.readLine(String(pattern));
    if (line === null) throw new Error(`EOF before ${pattern}`);
    if (pattern.test(line)) return line;
  }
}

/** Reads every line up to EOF, sending nothing. */
async function linesToEof(nc: LineSocket): Promise<string[]> {
  const lines: string[] = [];
  while (true) {
    const line = await nc.readLine("EOF");
    if (line === null) return lines;
    lines.push(line);
  }
}

/**
 * Resolves once the server has let go of every connection. A server that half-closed and waits
 * for the client's EOF keeps it for LINGER_MS; one that closed both directions lets go at once.
 */
async function serverLetsGo(server: ChatServer, what: string): Promise<void> {
  await eventually(() => server.connections.size === 0, what, LINGER_MS / 2);
}

Deno.test("netcat /topic asks what the topic is; setting it names the setter", async () => {
  const server = testServer();
  const nc = await plainLogin(server, "carol");
  await nc.write("/join #rust\n");
  await plainUntil(nc, /#rust/);
  await nc.write("/topic\n");
  assert.equal(await nc.readLine(), "* #rust has no topic.");
  await nc.write("/topic borrow checking\n");
  assert.equal(await nc.readLine(), "* carol set the topic of #rust: borrow checking");
  await nc.write("/topic\n");
  assert.equal(await nc.readLine(), "* Topic of #rust: borrow checking");
  nc.close();
  await server.shutdown();
});

Deno.test("netcat /quit: the goodbye, then EOF, and the server lets go without the client's EOF", async () => {
  const server = testServer();
  const nc = await plainLogin(server, "carol");
  await nc.write("/quit off to lunch\n");
  assert.deepEqual(await linesToEof(nc), ["* Goodbye!"]);
  await serverLetsGo(server, "the server to close a quit netcat connection");
  nc.close();
  await server.shutdown();
});

Deno.test("netcat kicked: the reason, then EOF, and the server lets go without the client's EOF", async () => {
  const server = testServer({ operSecret: secret("sekrit") });
  const op = await JsonClient.login(server, "op");
  assert.equal((await command(op, "/oper sekrit")).type, "info");
  const nc = await plainLogin(server, "troll");
  await op.expect("join");
  await command(op, "/kick troll enough");
  const lines = await linesToEof(nc);
  assert.match(lines.at(-1) ?? "", /^! bye: .*kicked/i, JSON.stringify(lines));
  op.close();
  await serverLetsGo(server, "the server to close a kicked netcat connection");
  nc.close();
  await server.shutdown();
});

Deno.test("netcat on a server with a password: the greeting asks for the password first", async () => {
  const server = testServer({ password: secret("open sesame") });
  // Silent at first, as a person reading is: the late greeting must ask the right question.
  const late = await LineSocket.connect(server);
  const greeting = await late.readLine("the greeting");
  assert.match(greeting ?? "", /password/i);
  assert.doesNotMatch(greeting ?? "", /type a nickname/i);
  await late.write("open sesame\n");
  await late.readUntilText("Nickname: ");
  await late.write("carol\n");
  assert.equal(await late.readLine(), "* Welcome to sockchat, carol!");
  // Quick to type: the prompt itself says what it wants.
  const quick = await LineSocket.connect(server);
  await quick.write("x");
  const asked = await quick.readUntilText("Server password: ");
  assert.match(asked, /password/i);
  assert.doesNotMatch(asked, /type a nickname/i);
  for (const c of [late, quick]) c.close();
  await server.shutdown();
});
