/**
 * Issue 13, `sockchat join`'s own key: made on first use under $XDG_CONFIG_HOME with mode 600,
 * reused, refused when others can read it; `sockchat key` prints the line and the fingerprint
 * ssh-keygen gives it; join logs in with it (the server sees the proof) unless --no-key.
 */

import assert from "node:assert/strict";
import { runCli } from "./helpers/cli.ts";
import { testServer } from "./helpers/wire.ts";
import { defaultKeyPath, IdentityKey, loadOrCreateKey } from "../client/identity_key.ts";
import { ChatClient, ClientError } from "../client/chat_client.ts";
import { joinIdentity } from "../client/join_identity.ts";
import { parseJoinArgs } from "../cli/join_args.ts";
import { UsageError } from "../cli/usage.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "sockchat-key-" });
}

Deno.test("client key: made on first use with mode 600 in a new directory, then reused", async () => {
  const dir = await tempDir();
  const path = `${dir}/config/sockchat/key`;
  const first = await loadOrCreateKey(path);
  assert.equal(first.created, true);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${dir}/config/sockchat`)).mode! & 0o077, 0);
  const again = await loadOrCreateKey(path);
  assert.equal(again.created, false);
  const [firstKey, againKey] = [
    await first.key.forServer("h:1"),
    await again.key.forServer("h:1"),
  ];
  assert.equal(againKey.publicLine, firstKey.publicLine);
  assert.equal(againKey.fingerprint, firstKey.fingerprint);
  // The file holds the private key, never shown in the public line.
  assert.match(await Deno.readTextFile(path), /^-----BEGIN PRIVATE KEY-----\n/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("client key: a key file others can read is refused with one line, not used", async () => {
  const dir = await tempDir();
  const path = `${dir}/key`;
  await loadOrCreateKey(path);
  for (const mode of [0o640, 0o604, 0o660]) {
    await Deno.chmod(path, mode);
    const error = await loadOrCreateKey(path).then(() => null, (e) => e);
    assert.ok(error instanceof ClientError, `mode ${mode.toString(8)}`);
    assert.match(error.message, /open to other users \(mode 06\d\d\); run "chmod 600 /);
    assert.doesNotMatch(error.message, /\n/);
    assert.doesNotMatch(error.message, /PRIVATE|BEGIN/);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("client key: a file that is not a key is refused without quoting it", async () => {
  const dir = await tempDir();
  const path = `${dir}/key`;
  await Deno.writeTextFile(path, "hunter2 secret text\n", { mode: 0o600 });
  const error = await loadOrCreateKey(path).then(() => null, (e) => e);
  assert.ok(error instanceof ClientError);
  assert.match(error.message, /holds no ed25519 private key/);
  assert.doesNotMatch(error.message, /hunter2/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("client key: the default path is under $XDG_CONFIG_HOME, else ~/.config", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(
    defaultKeyPath(env({ XDG_CONFIG_HOME: "/x", HOME: "/home/a" })),
    "/x/sockchat/key",
  );
  assert.equal(defaultKeyPath(env({ HOME: "/home/a" })), "/home/a/.config/sockchat/key");
  assert.equal(defaultKeyPath(env({})), null);
});

Deno.test("sockchat key prints the authorized_keys line and the fingerprint ssh-keygen -lf gives", async () => {
  const dir = await tempDir();
  const result = await runCli(["key"], { env: { XDG_CONFIG_HOME: dir } });
  assert.equal(result.code, 0, result.stderr);
  const [line, fingerprint] = result.stdout.trim().split("\n");
  assert.match(line, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} sockchat$/);
  assert.match(fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  await Deno.writeTextFile(`${dir}/key.pub`, line + "\n");
  const keygen = await new Deno.Command("ssh-keygen", { args: ["-lf", `${dir}/key.pub`] })
    .output();
  assert.equal(keygen.code, 0, new TextDecoder().decode(keygen.stderr));
  // "256 SHA256:... sockchat (ED25519)"
  assert.equal(new TextDecoder().decode(keygen.stdout).split(" ")[1], fingerprint);
  assert.equal((await Deno.stat(`${dir}/sockchat/key`)).mode! & 0o777, 0o600);
  // The same key next time.
  const again = await runCli(["key", "--key", `${dir}/sockchat/key`]);
  assert.equal(again.stdout, result.stdout);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sockchat key refuses a key file others can read, in one line, exit 1", async () => {
  const dir = await tempDir();
  await loadOrCreateKey(`${dir}/key`);
  await Deno.chmod(`${dir}/key`, 0o644);
  const result = await runCli(["key", "--key", `${dir}/key`]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^sockchat: the key file .* is open to other users \(mode 0644\)/);
  assert.equal(result.stderr.trim().split("\n").length, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("join --key and --no-key: parsed, and contradicting each other is a usage error", () => {
  const env = () => undefined;
  const parsed = parseJoinArgs(["-n", "ann", "--key", "/k", "--account-password-file", "/p"], env);
  assert.equal(parsed.keyFile, "/k");
  assert.equal(parsed.noKey, false);
  assert.equal(parsed.accountPasswordFile, "/p");
  assert.equal(parseJoinArgs(["-n", "ann", "--no-key"], env).noKey, true);
  assert.throws(() => parseJoinArgs(["-n", "ann", "--no-key", "--key", "/k"], env), UsageError);
});

Deno.test("ChatClient logs in with its key: challenged, proven, welcomed", async () => {
  const dir = await tempDir();
  const server = testServer();
  const { identity } = await joinIdentity(
    { noKey: false, keyFile: `${dir}/key` },
    () => undefined,
    false,
  );
  assert.ok(identity.key instanceof IdentityKey);
  const client = await ChatClient.connect({
    host: "127.0.0.1",
    port: server.addr.port,
    nick: "ann",
    identity,
  });
  assert.equal(client.welcome.nick, "ann");
  client.close();
  // --no-key offers none.
  const bare = await joinIdentity({ noKey: true }, () => undefined, false);
  assert.equal(bare.identity.key, undefined);
  await server.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("join's account password comes from --account-password-file or $SOCKCHAT_ACCOUNT_PASSWORD", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/pw`, "s3cret pass\n");
  const fromFile = await joinIdentity(
    { noKey: true, accountPasswordFile: `${dir}/pw` },
    () => undefined,
    false,
  );
  assert.equal(fromFile.identity.accountPassword, "s3cret pass");
  assert.equal(fromFile.askAccountPassword, undefined);
  const fromEnv = await joinIdentity(
    { noKey: true },
    (name) => name === "SOCKCHAT_ACCOUNT_PASSWORD" ? "envpw" : undefined,
    false,
  );
  assert.equal(fromEnv.identity.accountPassword, "envpw");
  // The server password's variable is not the account password.
  const neither = await joinIdentity(
    { noKey: true },
    (name) => name === "SOCKCHAT_PASSWORD" ? "server" : undefined,
    false,
  );
  assert.equal(neither.identity.accountPassword, undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("client key: the README's deno task join and deno task key may write the key file (no permission prompt)", async () => {
  const dir = await tempDir();
  const server = testServer();
  try {
    const env = { XDG_CONFIG_HOME: dir, NO_COLOR: "1" };
    const task = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["task", "-q", ...args],
        cwd: new URL("..", import.meta.url).pathname,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    const joined = await task(["join", `127.0.0.1:${server.addr.port}`, "--name", "tasker"]);
    const stderr = new TextDecoder().decode(joined.stderr);
    assert.equal(joined.code, 0, stderr);
    assert.doesNotMatch(stderr, /write access|joining without a key/);
    assert.equal((await Deno.stat(`${dir}/sockchat/key`)).mode! & 0o777, 0o600);
    const key = await task(["key"]);
    assert.equal(key.code, 0, new TextDecoder().decode(key.stderr));
    assert.match(new TextDecoder().decode(key.stdout), /^ssh-ed25519 AAAA/m);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
