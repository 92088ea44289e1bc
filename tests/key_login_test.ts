/**
 * Issue 13, the native key login over NDJSON: a hello with `key` is answered with a
 * `challenge`, and only a `prove` signed by that key logs in. Real server, real sockets.
 */

import assert from "node:assert/strict";
import { command, hello, JsonClient, testServer } from "./helpers/wire.ts";
import { runCli } from "./helpers/cli.ts";
import { IdentityKey, loadOrCreateKey, ServerKey, serverTarget } from "../client/identity_key.ts";
import { ChatClient } from "../client/chat_client.ts";
import { ed25519Blob } from "../security/ssh_keys.ts";
import { createLogger } from "../log/logger.ts";
import { MAX_PUBLIC_KEY_TEXT } from "../config/security_limits.ts";
import { CHALLENGE_CONTEXT, type ServerFrame } from "../protocol/frames.ts";

async function newKey(): Promise<ServerKey> {
  return await (await IdentityKey.generate()).key.forServer("test");
}

Deno.test("key login: a hello with a key is challenged, and a good proof logs in", async () => {
  const server = testServer();
  const key = await newKey();
  const client = await hello(server.addr.port, { nick: "ann", key: key.publicLine });
  const challenge = await client.expect("challenge");
  assert.equal(Uint8Array.fromBase64(challenge.nonce).length, 32);
  await client.send({ type: "prove", sig: await key.prove(challenge.nonce) });
  const welcome = await client.expect("welcome");
  assert.equal(welcome.nick, "ann");
  client.close();
  await server.shutdown();
});

Deno.test("key login: every challenge has a new nonce, so a recorded proof does not replay", async () => {
  const server = testServer();
  const key = await newKey();
  const first = await hello(server.addr.port, { nick: "ann", key: key.publicLine });
  const nonce = (await first.expect("challenge")).nonce;
  const recorded = await key.prove(nonce);
  const second = await hello(server.addr.port, { nick: "bob", key: key.publicLine });
  assert.notEqual((await second.expect("challenge")).nonce, nonce);
  await second.send({ type: "prove", sig: recorded });
  const refused = await second.expect("error");
  assert.equal(refused.code, "bad_signature");
  assert.equal(refused.fatal, true);
  await second.expectEof();
  first.close();
  second.close();
  await server.shutdown();
});

Deno.test("key login: a forged signature, or one by another key, is refused and closed", async () => {
  const server = testServer();
  const key = await newKey();
  const other = await newKey();
  for (
    const forge of [
      () => new Uint8Array(64).toBase64(),
      (nonce: string) => other.prove(nonce),
      () => "not base64 at all!",
      () => new Uint8Array(63).toBase64(),
    ]
  ) {
    const client = await hello(server.addr.port, { nick: "ann", key: key.publicLine });
    const { nonce } = await client.expect("challenge");
    await client.send({ type: "prove", sig: await forge(nonce) });
    const error = await client.expect("error");
    assert.equal(error.code, "bad_signature");
    assert.equal(error.fatal, true);
    await client.expectEof();
    client.close();
  }
  // Nobody was logged in by any of them.
  const check = await JsonClient.login(server, "ann");
  check.close();
  await server.shutdown();
});

Deno.test("key login: the signature must cover the context, not the nonce alone", async () => {
  const server = testServer();
  const pair = await crypto.subtle.generateKey("Ed25519", true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const key = await ServerKey.fromPkcs8(pkcs8);
  const client = await hello(server.addr.port, { nick: "ann", key: key.publicLine });
  const { nonce } = await client.expect("challenge");
  const bare = await crypto.subtle.sign("Ed25519", pair.privateKey, Uint8Array.fromBase64(nonce));
  await client.send({ type: "prove", sig: new Uint8Array(bare).toBase64() });
  assert.equal((await client.expect("error")).code, "bad_signature");
  await client.expectEof();
  client.close();
  assert.equal(CHALLENGE_CONTEXT, "sockchat-login-v1\n");
  await server.shutdown();
});

Deno.test("key login: a prove without a challenge, or a second hello during one, is a bad frame", async () => {
  const server = testServer();
  const key = await newKey();
  const client = new JsonClient(
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
  await client.send({ type: "prove", sig: new Uint8Array(64).toBase64() });
  let error = await client.expect("error");
  assert.equal(error.code, "bad_frame");
  assert.match(error.message, /no challenge/);
  await client.send({ type: "hello", v: 1, nick: "ann", key: key.publicLine });
  const { nonce } = await client.expect("challenge");
  await client.send({ type: "hello", v: 1, nick: "ann" });
  error = await client.expect("error");
  assert.equal(error.code, "bad_frame");
  assert.match(error.message, /challenge is waiting/);
  // The challenge still stands and can be answered.
  await client.send({ type: "prove", sig: await key.prove(nonce) });
  assert.equal((await client.expect("welcome")).nick, "ann");
  client.close();
  await server.shutdown();
});

Deno.test("key login: a key that is not ed25519, malformed or too long is refused with a reason", async () => {
  const server = testServer();
  const client = new JsonClient(
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
  for (
    const key of [
      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x",
      "ssh-ed25519 !!!",
      42,
      `ssh-ed25519 ${"A".repeat(MAX_PUBLIC_KEY_TEXT)}`,
    ]
  ) {
    await client.send({ type: "hello", v: 1, nick: "ann", key });
    const error = await client.expect("error");
    assert.equal(error.code, "bad_frame", String(key));
    assert.equal(error.fatal, undefined);
  }
  client.close();
  await server.shutdown();
});

Deno.test("key login: a proof is also refused when it comes as a malformed prove frame", async () => {
  const server = testServer();
  const client = new JsonClient(
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
  await client.send({ type: "prove" });
  assert.equal((await client.expect("error")).code, "bad_frame");
  await client.send({ type: "prove", sig: "A".repeat(1000) });
  assert.equal((await client.expect("error")).code, "bad_frame");
  client.close();
  await server.shutdown();
});

Deno.test("key login: the handshake deadline runs on while the server waits for the proof", async () => {
  const server = testServer({ handshakeTimeoutMs: 300 });
  const key = await newKey();
  const client = await hello(server.addr.port, { nick: "ann", key: key.publicLine });
  await client.expect("challenge");
  const error = await client.expect("error");
  assert.equal(error.code, "handshake_timeout");
  await client.expectEof();
  client.close();
  await server.shutdown();
});

Deno.test("key login: a hello retried with the proven key after a refusal needs no new challenge", async () => {
  const server = testServer();
  const holder = await JsonClient.login(server, "ann");
  const key = await newKey();
  const client = await hello(server.addr.port, { nick: "ann", key: key.publicLine });
  const { nonce } = await client.expect("challenge");
  await client.send({ type: "prove", sig: await key.prove(nonce) });
  assert.equal((await client.expect("error")).code, "nick_taken");
  await client.send({ type: "hello", v: 1, nick: "ann2", key: key.publicLine });
  const next = await client.next("welcome");
  assert.equal(next?.type, "welcome");
  holder.close();
  client.close();
  await server.shutdown();
});

/** Logs in over NDJSON with `key`, answering its challenge; returns the client and the answer. */
async function keyLogin(
  port: number,
  nick: string,
  key: ServerKey,
): Promise<{ client: JsonClient; answer: ServerFrame }> {
  const client = await hello(port, { nick, key: key.publicLine });
  const { nonce } = await client.expect("challenge");
  await client.send({ type: "prove", sig: await key.prove(nonce) });
  const answer = await client.next("the answer to the proof");
  if (answer === null) throw new Error("EOF after the proof");
  return { client, answer };
}

Deno.test("key login: a nick registered to a key takes only that key; the welcome names it", async () => {
  const server = testServer();
  const owner = await newKey();
  const first = await keyLogin(server.addr.port, "ann", owner);
  assert.equal(first.answer.type, "welcome");
  const registered = await command(first.client, "/register");
  assert.notEqual(registered.type, "error", JSON.stringify(registered));
  await first.client.send({ type: "quit" });
  await first.client.expectEof();
  first.client.close();

  // Another key: refused (not fatal), and told it is someone else's key.
  const thief = await keyLogin(server.addr.port, "ann", await newKey());
  assert.equal(thief.answer.type, "error");
  if (thief.answer.type === "error") {
    assert.equal(thief.answer.code, "nick_registered");
    assert.equal(thief.answer.need, "key");
    assert.equal(thief.answer.fatal, undefined);
  }
  thief.client.close();

  // No key at all: refused the same way.
  const bare = await hello(server.addr.port, { nick: "ann" });
  const refused = await bare.expect("error");
  assert.equal(refused.code, "nick_registered");
  bare.close();

  // The owner's key: welcomed, and the welcome carries the fingerprint the client computed.
  const back = await keyLogin(server.addr.port, "ann", owner);
  assert.equal(back.answer.type, "welcome");
  if (back.answer.type === "welcome") {
    assert.deepEqual(back.answer.account, { kind: "key", fingerprint: owner.fingerprint });
  }
  back.client.close();
  await server.shutdown();
});

Deno.test("key login: a forged proof for a registered nick does not take it from its owner", async () => {
  const server = testServer();
  const owner = await newKey();
  const first = await keyLogin(server.addr.port, "ann", owner);
  assert.notEqual((await command(first.client, "/register")).type, "error");
  const forger = await hello(server.addr.port, { nick: "ann", key: owner.publicLine });
  await forger.expect("challenge");
  await forger.send({
    type: "prove",
    sig: await (await newKey()).prove(new Uint8Array(32).toBase64()),
  });
  assert.equal((await forger.expect("error")).code, "bad_signature");
  await forger.expectEof();
  forger.close();
  // The owner is still there, not replaced.
  assert.equal((await command(first.client, "/whois ann")).type, "info");
  first.client.close();
  await server.shutdown();
});

Deno.test("key login: a server the user joins cannot relay another server's challenge to log in there as them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-relay-" });
  const path = `${dir}/key`;
  const { key: file } = await loadOrCreateKey(path);
  const a = testServer();
  const targetA = serverTarget("127.0.0.1", a.addr.port);
  // The user registers "vic" on A with the key join uses there.
  const owner = await keyLogin(a.addr.port, "vic", await file.forServer(targetA));
  assert.equal(owner.answer.type, "welcome");
  assert.notEqual((await command(owner.client, "/register")).type, "error");
  await owner.client.send({ type: "quit" });
  await owner.client.expectEof();
  owner.client.close();

  // A hostile server B: whatever key the user offers it, B offers A for "vic", and passes A's
  // challenge to the user and the user's answer back to A.
  const evil = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relay = (async () => {
    const victim = new JsonClient(await evil.accept());
    const toA = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port: a.addr.port }));
    try {
      const helloFrame = await victim.next("the user's hello") as unknown as { key?: string };
      assert.ok(helloFrame?.key, "the user offers a key");
      await toA.send({ type: "hello", v: 1, nick: "vic", key: helloFrame.key });
      await victim.send(await toA.expect("challenge"));
      await toA.send(await victim.next("the user's prove"));
      return await toA.next("A's answer to the relayed proof");
    } finally {
      victim.close();
      toA.close();
    }
  })();
  const visit = ChatClient.connect({
    host: "127.0.0.1",
    port: (evil.addr as Deno.NetAddr).port,
    nick: "justvisiting",
    identity: { key: file },
  }).then(() => "welcomed", (error) => String(error));
  const answer = await relay;
  await visit;
  evil.close();
  assert.equal(answer?.type, "error", `A let B in: ${JSON.stringify(answer)}`);
  if (answer?.type === "error") assert.equal(answer.code, "nick_registered");

  // The user dialling A itself still logs in as "vic", with the key `sockchat key` prints for A.
  const direct = await ChatClient.connect({
    host: "127.0.0.1",
    port: a.addr.port,
    nick: "vic",
    identity: { key: file },
  });
  assert.equal(direct.welcome.nick, "vic");
  const printed = await runCli(["key", targetA, "--key", path]);
  assert.equal(printed.code, 0, printed.stderr);
  const [, fingerprint] = printed.stdout.trim().split("\n");
  assert.deepEqual(direct.welcome.account, { kind: "key", fingerprint });
  direct.close();
  await a.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("key login: a small-order or non-canonical key is refused at the hello, so a zero signature cannot log in", async () => {
  const server = testServer();
  const weak = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ];
  for (const hex of weak) {
    const key = `ssh-ed25519 ${ed25519Blob(Uint8Array.fromHex(hex)).toBase64()}`;
    const client = await hello(server.addr.port, { nick: "zero", key });
    let answer = await client.next("the answer to the hello");
    // Before the fix: challenged, and 64 zero bytes could answer it.
    if (answer?.type === "challenge") {
      await client.send({ type: "prove", sig: new Uint8Array(64).toBase64() });
      answer = await client.next("the answer to the zero signature");
    }
    assert.equal(answer?.type, "error", `${hex}: ${JSON.stringify(answer)}`);
    if (answer?.type === "error") {
      assert.equal(answer.code, "bad_frame", hex);
      assert.match(answer.message, /small order|canonical/, hex);
    }
    client.close();
  }
  await server.shutdown();
});

Deno.test("key login: a key that is no point of the curve gets a bad_frame, not a dropped connection and an error log", async () => {
  const lines: { level: string; msg?: string }[] = [];
  const server = testServer({
    logger: createLogger({ format: "json", write: (line) => lines.push(JSON.parse(line)) }),
  });
  // y = 2: canonical and not of small order, but no x makes it a point of the curve.
  const offCurve = new Uint8Array(32);
  offCurve[0] = 2;
  const client = await hello(server.addr.port, {
    nick: "ann",
    key: `ssh-ed25519 ${ed25519Blob(offCurve).toBase64()}`,
  });
  const refused = await client.expect("error");
  assert.equal(refused.code, "bad_frame");
  assert.equal(refused.fatal, undefined);
  assert.match(refused.message, /not a point on the ed25519 curve/);
  // The connection is still there: a hello without the key logs in.
  await client.send({ type: "hello", v: 1, nick: "ann" });
  assert.equal((await client.expect("welcome")).nick, "ann");
  client.close();
  await server.shutdown();
  assert.deepEqual(lines.filter((line) => line.level === "error"), []);
});
