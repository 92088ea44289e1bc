/**
 * Issue 13, `sockchat join` and registered nicks: the account password is asked for when the
 * server wants it (again after a wrong one) and sent in the hello; piped, it comes from
 * --account-password-file or $SOCKCHAT_ACCOUNT_PASSWORD; a refusal it cannot answer says what
 * to do. Real server; the CLI cases run the real `sockchat join`.
 */

import assert from "node:assert/strict";
import { ChatClient, type ClientIdentity, LoginRefused } from "../client/chat_client.ts";
import { joinIdentity } from "../client/join_identity.ts";
import { runCli } from "./helpers/cli.ts";
import { registerPassword } from "./helpers/accounts.ts";
import { testServer } from "./helpers/wire.ts";

Deno.test("ChatClient asks for the account password, again after a wrong one, and keeps it", async () => {
  const server = testServer();
  await registerPassword(server, "carol", "correcthorse");
  const answers = ["wrong-one", "correcthorse"];
  const asked: [string, boolean][] = [];
  const identity: ClientIdentity = {};
  const client = await ChatClient.connect({
    host: "127.0.0.1",
    port: server.addr.port,
    nick: "carol",
    identity,
    askAccountPassword: (nick, wrong) => {
      asked.push([nick, wrong]);
      return Promise.resolve(answers.shift() ?? null);
    },
  });
  assert.equal(client.welcome.nick, "carol");
  assert.deepEqual(client.welcome.account, { kind: "password" });
  assert.deepEqual(asked, [["carol", false], ["carol", true]]);
  // Kept for reconnections, which do not ask.
  assert.equal(identity.accountPassword, "correcthorse");
  client.close();
  await server.shutdown();
});

Deno.test("ChatClient: giving up at the password prompt ends the login with the refusal", async () => {
  const server = testServer();
  await registerPassword(server, "carol", "correcthorse");
  const error = await ChatClient.connect({
    host: "127.0.0.1",
    port: server.addr.port,
    nick: "carol",
    askAccountPassword: () => Promise.resolve(null),
  }).then(() => null, (e) => e);
  assert.ok(error instanceof LoginRefused);
  assert.equal(error.code, "nick_registered");
  assert.equal(error.need, "password");
  await server.shutdown();
});

Deno.test("ChatClient: a refusal join cannot answer names the flags that would", async () => {
  const server = testServer();
  await registerPassword(server, "carol", "correcthorse");
  const { identity } = await joinIdentity({ noKey: true }, () => undefined, false);
  const error = await ChatClient.connect({
    host: "127.0.0.1",
    port: server.addr.port,
    nick: "carol",
    identity,
  }).then(() => null, (e) => e);
  assert.ok(error instanceof LoginRefused);
  assert.match(error.message, /registered to a password account/);
  assert.match(error.message, /--account-password-file FILE or \$SOCKCHAT_ACCOUNT_PASSWORD/);
  // The server's own advice is replaced by join's, not repeated after it.
  assert.equal(error.message.match(/another nick/g)?.length, 1, error.message);
  await server.shutdown();
});

Deno.test("piped join logs in to a password account with --account-password-file, or says how", async () => {
  const server = testServer();
  await registerPassword(server, "carol", "correcthorse");
  const dir = await Deno.makeTempDir({ prefix: "sockchat-account-" });
  await Deno.writeTextFile(`${dir}/pw`, "correcthorse\n");
  const target = `127.0.0.1:${server.addr.port}`;
  const env = { XDG_CONFIG_HOME: dir };
  const ok = await runCli(
    ["join", target, "-n", "carol", "--account-password-file", `${dir}/pw`],
    { stdin: "hello from a pipe\n", env },
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Welcome to sockchat, carol!/);
  const viaEnv = await runCli(["join", target, "-n", "carol"], {
    stdin: "hi\n",
    env: { ...env, SOCKCHAT_ACCOUNT_PASSWORD: "correcthorse" },
  });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  const refused = await runCli(["join", target, "-n", "carol"], { stdin: "hi\n", env });
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^sockchat: The nickname "carol" is registered to a password account.*--account-password-file FILE/,
  );
  assert.equal(refused.stderr.trim().split("\n").length, 1);
  // join made its key under $XDG_CONFIG_HOME, mode 600, and said nothing about it to a pipe.
  assert.equal((await Deno.stat(`${dir}/sockchat/key`)).mode! & 0o777, 0o600);
  assert.doesNotMatch(ok.stderr, /made your key/);
  await Deno.remove(dir, { recursive: true });
  await server.shutdown();
});

Deno.test("piped join proves its key: a nick registered to it is its own, --no-key is refused", async () => {
  const server = testServer();
  const dir = await Deno.makeTempDir({ prefix: "sockchat-account-" });
  const target = `127.0.0.1:${server.addr.port}`;
  const env = { XDG_CONFIG_HOME: dir };
  const registered = await runCli(["join", target, "-n", "erin"], { stdin: "/register\n", env });
  assert.equal(registered.code, 0, registered.stderr);
  const again = await runCli(["join", target, "-n", "erin"], { stdin: "hi\n", env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Welcome to sockchat, erin!/);
  const keyless = await runCli(["join", target, "-n", "erin", "--no-key"], {
    stdin: "hi\n",
    env,
  });
  assert.equal(keyless.code, 1);
  assert.match(keyless.stderr, /registered to .*join without --no-key/);
  await Deno.remove(dir, { recursive: true });
  await server.shutdown();
});
