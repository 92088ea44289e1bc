/**
 * Accounts end to end (issue 13), over the NDJSON protocol on real sockets: accounts kept in the
 * SQLite file survive a `kill -9` of `sockchat serve`; wrong account passwords are locked out per
 * address across connections; `--oper-keys` (loaded by main.ts, mode 0600) makes a key an
 * operator at login.
 */

import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { MAX_AUTH_FAILURES } from "../config/limits.ts";
import { CHALLENGE_CONTEXT, type ErrorFrame, type ServerFrame } from "../protocol/frames.ts";
import { ed25519Blob, fingerprintOfBlob } from "../security/ssh_keys.ts";
import { runCli, spawnServe } from "./helpers/cli.ts";
import { command, hello, JsonClient, testServer } from "./helpers/wire.ts";

/** An ed25519 key as the native client holds one: its private half and OpenSSH line. */
function nativeKey(): { privateKey: KeyObject; line: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  const raw = Uint8Array.fromBase64(String(jwk.x), { alphabet: "base64url" });
  const blob = ed25519Blob(raw);
  return {
    privateKey,
    line: `ssh-ed25519 ${blob.toBase64()} test`,
    fingerprint: fingerprintOfBlob(blob),
  };
}

/** Logs in with a native key: hello, challenge, prove; returns the client and its answer. */
async function keyLogin(
  port: number,
  nick: string,
  key: ReturnType<typeof nativeKey>,
): Promise<{ client: JsonClient; frame: ServerFrame }> {
  const client = await hello(port, { nick, key: key.line });
  const challenge = await client.expect("challenge");
  const context = new TextEncoder().encode(CHALLENGE_CONTEXT);
  const nonce = Uint8Array.fromBase64(challenge.nonce);
  const signed = new Uint8Array([...context, ...nonce]);
  const sig = new Uint8Array(sign(null, signed, key.privateKey)).toBase64();
  await client.send({ type: "prove", sig });
  const frame = await client.next("the answer to prove");
  assert.ok(frame !== null);
  return { client, frame };
}

/** The first frame answering a hello (the welcome or an error). */
async function answer(client: JsonClient): Promise<ServerFrame> {
  const frame = await client.next("the answer to hello");
  assert.ok(frame !== null, "the server closed without answering");
  return frame;
}

function asError(frame: ServerFrame): ErrorFrame {
  assert.equal(frame.type, "error", JSON.stringify(frame));
  return frame as ErrorFrame;
}

Deno.test("accounts e2e: registered nicks survive kill -9 of sockchat serve and are refused to others after it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_accounts_" });
  const db = `${dir}/chat.db`;
  const key = nativeKey();
  try {
    let serve = await spawnServe(["--db", db]);
    const dave = await hello(serve.port, { nick: "dave" });
    assert.equal((await answer(dave)).type, "welcome");
    const registered = await command(dave, "/register correct-horse");
    assert.match(JSON.stringify(registered), /dave is now registered/);
    const ann = await keyLogin(serve.port, "ann", key);
    assert.equal(ann.frame.type, "welcome");
    assert.match(JSON.stringify(await command(ann.client, "/register")), /a sockchat key/);
    dave.close();
    ann.client.close();
    const killed = await serve.stop("SIGKILL");
    assert.equal(killed.signal, "SIGKILL");

    serve = await spawnServe(["--db", db]);
    try {
      const thief = await hello(serve.port, { nick: "Dave" });
      const refused = asError(await answer(thief));
      assert.equal(refused.code, "nick_registered");
      assert.equal(refused.need, "password");
      thief.close();
      const other = await keyLogin(serve.port, "ann", nativeKey());
      assert.equal(asError(other.frame).code, "nick_registered");
      other.client.close();
      const owner = await hello(serve.port, { nick: "dave", accountPassword: "correct-horse" });
      const welcome = await answer(owner);
      assert.equal(welcome.type, "welcome");
      assert.deepEqual(welcome.type === "welcome" && welcome.account, { kind: "password" });
      owner.close();
      const annBack = await keyLogin(serve.port, "ann", key);
      assert.equal(annBack.frame.type, "welcome");
      assert.deepEqual(annBack.frame.type === "welcome" && annBack.frame.account, {
        kind: "key",
        fingerprint: key.fingerprint,
      });
      annBack.client.close();
    } finally {
      await serve.stop();
    }
    // Only a hash is in the file, never the password.
    const bytes = await Deno.readFile(db);
    assert.ok(!new TextDecoder("latin1").decode(bytes).includes("correct-horse"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("accounts e2e: wrong account passwords lock the address out across connections", async () => {
  const server = testServer();
  try {
    const erin = await hello(server.addr.port, { nick: "erin" });
    await answer(erin);
    await command(erin, "/register correct-horse");
    await erin.send({ type: "cmd", line: "/quit", room: "#lobby" });
    await erin.expectEof();
    erin.close();
    for (let i = 1; i <= MAX_AUTH_FAILURES; i++) {
      const client = await hello(server.addr.port, { nick: "erin", accountPassword: `wrong-${i}` });
      const error = asError(await answer(client));
      assert.equal(error.code, "bad_account_password");
      assert.equal(error.fatal === true, i === MAX_AUTH_FAILURES, `attempt ${i}`);
      client.close();
    }
    const right = await hello(server.addr.port, { nick: "erin", accountPassword: "correct-horse" });
    const locked = asError(await answer(right));
    assert.equal(locked.code, "bad_account_password");
    assert.match(locked.message, /Too many wrong account passwords/);
    await right.expectEof();
    right.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("accounts e2e: --oper-keys makes a listed key an operator at login; the file must be mode 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_operkeys_" });
  const file = `${dir}/oper_keys`;
  const oper = nativeKey();
  try {
    await Deno.writeTextFile(file, `# operators\n${oper.line}\n`);
    await Deno.chmod(file, 0o644);
    const open = await runCli(["serve", "--port", "0", "--db", ":memory:", "--oper-keys", file]);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /operator keys file .* is readable by other users .*chmod 600/);
    await Deno.writeTextFile(file, `${oper.line}\nnot a key\n`);
    await Deno.chmod(file, 0o600);
    const bad = await runCli(["serve", "--port", "0", "--db", ":memory:", "--oper-keys", file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Line 2: no key type/);

    await Deno.writeTextFile(file, `${oper.line}\n`);
    const serve = await spawnServe(["--oper-keys", file]);
    try {
      const { client, frame } = await keyLogin(serve.port, "boss", oper);
      assert.equal(frame.type, "welcome");
      const bans = await command(client, "/bans");
      assert.notEqual(bans.type === "error" && bans.code, "not_operator");
      const other = await keyLogin(serve.port, "pleb", nativeKey());
      const refused = await command(other.client, "/bans");
      assert.equal(refused.type === "error" && refused.code, "not_operator");
      client.close();
      other.client.close();
    } finally {
      await serve.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
