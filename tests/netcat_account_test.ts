/**
 * Issue 13 on netcat: a nick registered to a password account asks `Password for NICK: ` and
 * logs in with it (asked again after a wrong one, until the lockout ends it); a nick registered
 * to a key says so and asks for another nickname. Real server, raw sockets.
 */

import assert from "node:assert/strict";
import { registerPassword } from "./helpers/accounts.ts";
import { command, hello, LineSocket, testServer } from "./helpers/wire.ts";
import { IdentityKey } from "../client/identity_key.ts";

Deno.test("netcat: a password account's nick asks for its password, and logs in with it", async () => {
  const server = testServer();
  await registerPassword(server, "carol", "correcthorse");
  const nc = await LineSocket.connect(server);
  await nc.write("carol\n");
  const refusal = await nc.readUntilText("Password for carol: ");
  assert.match(refusal, /! nick_registered: .*password/);
  await nc.write("wrong guess\n");
  const wrong = await nc.readUntilText("Password for carol: ");
  assert.match(wrong, /! bad_account_password: Wrong password for carol\./);
  await nc.write("correcthorse\n");
  const welcome = await nc.readUntilText("/quit leaves.\r\n");
  assert.match(welcome, /Welcome to sockchat, carol!/);
  nc.close();
  await server.shutdown();
});

Deno.test("netcat: an empty password goes back to the nickname prompt", async () => {
  const server = testServer();
  await registerPassword(server, "carol", "correcthorse");
  const nc = await LineSocket.connect(server);
  await nc.write("carol\n");
  await nc.readUntilText("Password for carol: ");
  await nc.write("\n");
  await nc.readUntilText("Nickname: ");
  await nc.write("dave\n");
  assert.match(await nc.readUntilText("/quit leaves.\r\n"), /Welcome to sockchat, dave!/);
  nc.close();
  await server.shutdown();
});

Deno.test("netcat: wrong account passwords are asked again until the lockout closes", async () => {
  const server = testServer();
  await registerPassword(server, "carol", "correcthorse");
  const nc = await LineSocket.connect(server);
  await nc.write("carol\n");
  await nc.readUntilText("Password for carol: ");
  let text = "";
  for (let i = 0; i < 50 && !/Too many wrong/.test(text); i++) {
    await nc.write(`guess ${i}\n`);
    const line = await nc.readLine("an answer");
    if (line === null) break;
    text = line;
    if (!/Too many wrong/.test(line)) await nc.readUntilText("Password for carol: ");
  }
  assert.match(text, /! bad_account_password: Too many wrong account passwords/);
  await nc.expectEof();
  nc.close();
  await server.shutdown();
});

Deno.test("netcat: a key account's nick is refused, and another nickname is asked for", async () => {
  const server = testServer();
  const key = await (await IdentityKey.generate()).key.forServer("test");
  const owner = await hello(server.addr.port, { nick: "erin", key: key.publicLine });
  const { nonce } = await owner.expect("challenge");
  await owner.send({ type: "prove", sig: await key.prove(nonce) });
  await owner.expect("welcome");
  assert.notEqual((await command(owner, "/register")).type, "error");
  await owner.send({ type: "quit" });
  await owner.expectEof();
  owner.close();
  const nc = await LineSocket.connect(server);
  await nc.write("erin\n");
  await nc.readUntilText("! nick_registered: ");
  const refusal = await nc.readUntilText("Nickname: ");
  assert.match(refusal, /erin.*key.*Pick another nick/);
  assert.doesNotMatch(refusal, /Password for/);
  await nc.write("frank\n");
  assert.match(await nc.readUntilText("/quit leaves.\r\n"), /Welcome to sockchat, frank!/);
  nc.close();
  await server.shutdown();
});
