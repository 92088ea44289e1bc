/**
 * Writing an ed25519 private key in OpenSSH's own file format (`openssh-key-v1`, unencrypted), as
 * `ssh-keygen -t ed25519 -N ""` does, from `node:crypto`'s raw key. `ssh2`'s generator is not used:
 * it drops a leading zero byte of the public key about once in 256 keys and writes a key nothing
 * can read.
 *
 * @module
 */

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { ed25519Blob } from "../../security/ssh_keys.ts";

/**
 * A new ed25519 private key in OpenSSH's format, unencrypted, as `ssh-keygen -t ed25519 -N ""`
 * writes it. Made here from `node:crypto`'s raw key rather than by `ssh2`'s generator, which
 * drops a leading zero byte of the public key about once in 256 keys and writes a key nothing
 * can read.
 *
 * @example
 * ```ts
 * const text = generateHostKeyText();
 * text.startsWith("-----BEGIN OPENSSH PRIVATE KEY-----"); // true
 * ```
 */
export function generateHostKeyText(comment = "sockchat"): string {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  if (jwk.d === undefined || jwk.x === undefined) throw new Error("ed25519 key without d or x");
  const seed = fromBase64Url(jwk.d);
  const pub = fromBase64Url(jwk.x);
  const check = randomBytes(4);
  const secret = new Uint8Array(64);
  secret.set(seed);
  secret.set(pub, 32);
  const section = [check, check, sshString("ssh-ed25519"), sshString(pub), sshString(secret)];
  section.push(sshString(comment));
  // The private section is padded 1, 2, 3, ... to the cipher's block size (8 for "none").
  const unpadded = section.reduce((n, part) => n + part.length, 0);
  section.push(Uint8Array.from({ length: (8 - (unpadded % 8)) % 8 }, (_, i) => i + 1));
  const body = concat([
    new TextEncoder().encode("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(new Uint8Array(0)),
    uint32(1),
    sshString(ed25519Blob(pub)),
    sshString(concat(section)),
  ]);
  const lines = btoa(String.fromCharCode(...body)).match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${
    lines.join("\n")
  }\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

function uint32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

/** SSH's `string`: a uint32 length, then the bytes. */
function sshString(value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  return concat([uint32(bytes.length), bytes]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
