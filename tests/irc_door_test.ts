import assert from "node:assert/strict";
import type { ServerOptions } from "../server.ts";
import { secret } from "./helpers/core.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";

// The IRC port's door is the native port's (one Door, one listener type): each check a TCP
// client meets at the door, an IRC client meets too, and is told in IRC (`ERROR`), then closed.

function ircServer(options: ServerOptions = {}) {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" }, ...options });
}

Deno.test("IRC door: --max-logins-per-minute refuses the next IRC connection from the address with ERROR", async () => {
  const server = ircServer({ maxLoginsPerMinute: 2 });
  const clients: RawIrcClient[] = [];
  try {
    for (let i = 0; i < 2; i++) clients.push(await RawIrcClient.open(server));
    const third = await RawIrcClient.open(server);
    clients.push(third);
    assert.match(await third.expect(/^ERROR /), /Too many connections from your address/);
    await third.expectEof();
  } finally {
    for (const c of clients) c.close();
    await server.shutdown();
  }
});

Deno.test("IRC door: an address banned by an operator is refused on the IRC port with ERROR", async () => {
  const server = ircServer({ operSecret: secret("sekrit") });
  const op = await JsonClient.login(server, "op");
  try {
    await command(op, "/oper sekrit");
    await command(op, "/ban 127.0.0.1 10m");
    const irc = await RawIrcClient.open(server);
    try {
      assert.match(await irc.expect(/^ERROR /), /banned/i);
      await irc.expectEof();
    } finally {
      irc.close();
    }
  } finally {
    op.close();
    await server.shutdown();
  }
});

Deno.test("IRC door: a connection that never registers (silent, or held open by CAP LS) is closed at --handshake-timeout", async () => {
  const server = ircServer({ handshakeTimeoutMs: 300 });
  const silent = await RawIrcClient.open(server);
  const capping = await RawIrcClient.open(server);
  try {
    await capping.send("CAP LS 302");
    await capping.expect(/ CAP \* LS /);
    for (const c of [silent, capping]) {
      assert.match(await c.expect(/^ERROR /), /No login within/);
      await c.expectEof();
    }
  } finally {
    silent.close();
    capping.close();
    await server.shutdown();
  }
});

Deno.test("IRC door: input with no line end past --max-frame closes the connection at once, with ERROR", async () => {
  const server = ircServer({ maxFrame: 4096 });
  const irc = await RawIrcClient.open(server);
  try {
    await irc.write("x".repeat(10_000));
    assert.match(await irc.expect(/^ERROR /), /longer than 4096 bytes/);
    await irc.expectEof();
  } finally {
    irc.close();
    await server.shutdown();
  }
});
