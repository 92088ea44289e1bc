/**
 * Findings of the irctest conformance run (scripts/irctest.sh), each pinned by a raw-line test
 * so it stays fixed without irctest installed. The irctest case each one came from is named.
 */

import assert from "node:assert/strict";
import { RawIrcClient } from "./helpers/irc.ts";
import { testServer } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";

const S = "irc.test";

function ircServer(extra: Parameters<typeof testServer>[0] = {}): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S }, ...extra });
}

/** Runs `body` with a fresh server and one raw client, and closes both. */
async function withClient(
  body: (irc: RawIrcClient, server: ChatServer) => Promise<void>,
): Promise<void> {
  const server = ircServer();
  const irc = await RawIrcClient.open(server);
  try {
    await body(irc, server);
  } finally {
    irc.close();
    await server.shutdown();
  }
}

// sasl.py testPlainPostRegistration: 907 claimed an account the connection does not have.
Deno.test("IRC SASL: AUTHENTICATE after registering without an account is 462, not 907", async () => {
  await withClient(async (irc) => {
    await irc.send("CAP LS 302", "CAP REQ :sasl", "NICK foo", "USER f 0 * :F", "CAP END");
    await irc.expect(/ 221 /);
    await irc.send("AUTHENTICATE PLAIN");
    assert.equal(
      await irc.expect(/ (462|907|AUTHENTICATE) /),
      `:${S} 462 foo :You may not reregister`,
    );
  });
});

// sasl.py testRegistrationDuringSasl: registration completed mid-exchange waited forever.
Deno.test("IRC SASL: CAP END while the payload is awaited aborts SASL (906) and registers", async () => {
  await withClient(async (irc, server) => {
    await irc.send("CAP LS 302", "CAP REQ :sasl");
    await irc.expect(/ ACK :sasl/);
    await irc.send("AUTHENTICATE PLAIN");
    assert.equal(await irc.expect(/AUTHENTICATE/), "AUTHENTICATE +");
    await irc.send("NICK reguser", "USER reguser 0 * :Test", "CAP END");
    assert.equal(await irc.expect(/ 906 /), `:${S} 906 * :SASL authentication aborted`);
    await irc.expect(/ 001 reguser /);
    assert.equal(server.hub.user("reguser")?.verified, false);
  });
});
