/**
 * Issue 13, SSH public-key authentication checked without a client: the authenticator refuses
 * ed25519 keys that prove nothing (small-order or non-canonical points), even at the query that
 * only asks whether a key would do.
 */

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { Lockout, SECRET_LOCKOUT } from "../core/lockout.ts";
import { ed25519Blob } from "../security/ssh_keys.ts";
import { type AuthProgress, SshAuthenticator } from "../transport/ssh/auth.ts";
import type { KeyboardAuth, PublicKeyAuth } from "../transport/ssh/ssh2.ts";

function authenticator(): SshAuthenticator {
  return new SshAuthenticator({
    address: "192.0.2.7",
    account: () => undefined,
    needsPassword: false,
    requireAccount: false,
    lockout: new Lockout(SECRET_LOCKOUT),
  });
}

/** A query (no signature) offering `raw` as an ed25519 key: what the authenticator answered. */
function query(raw: Uint8Array): { accepted: boolean; progress: AuthProgress | null } {
  let accepted = false;
  let progress: AuthProgress | null = null;
  const context = {
    method: "publickey",
    username: "alice",
    key: { algo: "ssh-ed25519", data: Buffer.from(ed25519Blob(raw)) }, // ssh2 hands over Buffers
    accept: () => (accepted = true),
    reject: () => (accepted = false),
  } as unknown as PublicKeyAuth;
  authenticator().handle(context, (state) => (progress = state));
  return { accepted, progress };
}

Deno.test("ssh auth: a small-order or non-canonical ed25519 key is refused at the query; a real one would do", () => {
  const zero = new Uint8Array(32); // y = 0: a point of small order
  const one = new Uint8Array(32);
  one[0] = 1; // y = 1: the identity
  const over = new Uint8Array(32).fill(0xff); // y >= p: not canonical
  over[31] = 0x7f;
  for (const weak of [zero, one, over]) {
    assert.equal(query(weak).accepted, false, `key ${Array.from(weak.slice(0, 2))}`);
  }
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  const real = new Uint8Array(Buffer.from(jwk.x as string, "base64url"));
  assert.deepEqual(query(real), { accepted: true, progress: "pending" });
});

Deno.test("ssh auth: with --require-account, a nick registered to a sockchat key is told it logs in with sockchat join, not ssh -i", () => {
  const shown: string[] = [];
  const auth = new SshAuthenticator({
    address: "192.0.2.8",
    account: () => ({
      nick: "erin",
      kind: "key",
      source: "sockchat",
      fingerprint: "SHA256:x",
      created: 0,
    }),
    needsPassword: false,
    requireAccount: true,
    lockout: new Lockout(SECRET_LOCKOUT),
  });
  const context = {
    method: "keyboard-interactive",
    username: "erin",
    prompt: (_p: unknown, _name: string, instructions: string) => shown.push(instructions),
    accept: () => {},
    reject: () => {},
  } as unknown as KeyboardAuth;
  auth.handle(context, () => {});
  assert.match(shown.join(" "), /sockchat join/);
  assert.doesNotMatch(shown.join(" "), /ssh -i/);
});
