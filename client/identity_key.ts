/**
 * `sockchat join`'s own identity: an ed25519 key made with WebCrypto on first use and kept in
 * one file, mode 600 (`$XDG_CONFIG_HOME/sockchat/key`, else `~/.config/sockchat/key`). The
 * client never signs with that key: for each server (the `host:port` it dials) it derives a key
 * of its own, and proves it holds that one by signing the nonce of the server's `challenge`, so
 * no server can pass another server's challenge on and log in there as this client. The file
 * is never printed or logged. A server key's public half reads as an OpenSSH `ssh-ed25519` line
 * with the fingerprint `ssh-keygen -lf` gives it, so an operator can put it in `--oper-keys`.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import { MAX_SECRET_FILE_BYTES } from "../config/security_limits.ts";
import { CHALLENGE_CONTEXT } from "../protocol/frames.ts";
import { ed25519Blob, fingerprintOfBlob } from "../security/ssh_keys.ts";
import { ClientError } from "./client_error.ts";

/**
 * Permission bits the key file may not have: any access for its group or others, as OpenSSH
 * asks of a private key. Whoever can read the file can log in as its owner.
 */
export const KEY_FILE_FORBIDDEN_MODE = 0o077;

/** The comment in the key's OpenSSH line. */
const KEY_COMMENT = "sockchat";

const PEM_LABEL = "PRIVATE KEY";

/** The key file did not exist and could not be made (the directory is read-only, say). */
export class KeyCreationError extends ClientError {}

/**
 * The domain of the per-server key derivation: changing it changes every server key, so it
 * carries a version.
 */
export const SERVER_KEY_CONTEXT = "sockchat-server-key-v1\n";

/** PKCS #8 DER of an ed25519 private key, up to its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Uint8Array.fromHex("302e020100300506032b657004220420");

/**
 * The server a key is for, as the derivation names it: the `host:port` the client dials,
 * lower-cased, an IPv6 address in brackets. `localhost` and `127.0.0.1` are different servers
 * here (the client cannot know they are the same), so each gets its own key.
 *
 * @example
 * ```ts
 * serverTarget("Chat.Example.org", 7777); // "chat.example.org:7777"
 * serverTarget("::1", 7777); // "[::1]:7777"
 * ```
 */
export function serverTarget(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return `${bare.includes(":") ? `[${bare}]` : bare}:${port}`;
}

/**
 * The key in the key file. It never signs anything itself: each server gets a key of its own
 * derived from it ({@linkcode IdentityKey.forServer}), so a signature made for one server proves
 * nothing to another. A hostile server that passes another server's challenge on to the client
 * gets an answer made with its own key, which the other server has never seen.
 */
export class IdentityKey {
  /** The key file's private key (PKCS #8 DER): the secret every server key is derived from. */
  readonly #secret: Uint8Array;

  private constructor(secret: Uint8Array) {
    this.#secret = secret;
  }

  /** A new random key (not saved). */
  static async generate(): Promise<{ key: IdentityKey; pkcs8: Uint8Array<ArrayBuffer> }> {
    const pair = await crypto.subtle.generateKey("Ed25519", true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair; // an asymmetric algorithm always makes a pair
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
    return { key: await IdentityKey.fromPkcs8(pkcs8), pkcs8 };
  }

  /** The key in PKCS #8 bytes; throws if they hold no ed25519 private key. */
  static async fromPkcs8(pkcs8: Uint8Array<ArrayBuffer>): Promise<IdentityKey> {
    // Imported only to check the bytes are an ed25519 key; the bytes themselves are the secret.
    await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", false, ["sign"]);
    return new IdentityKey(pkcs8.slice());
  }

  /**
   * The key this client uses with one server, `target` as {@linkcode serverTarget} writes it:
   * an ed25519 key whose seed is HMAC-SHA256(the key file's PKCS #8 bytes,
   * {@linkcode SERVER_KEY_CONTEXT} + target).
   */
  async forServer(target: string): Promise<ServerKey> {
    const seed = createHmac("sha256", this.#secret)
      .update(SERVER_KEY_CONTEXT + target)
      .digest();
    const pkcs8 = new Uint8Array(ED25519_PKCS8_PREFIX.length + seed.length);
    pkcs8.set(ED25519_PKCS8_PREFIX);
    pkcs8.set(seed, ED25519_PKCS8_PREFIX.length);
    return await ServerKey.fromPkcs8(pkcs8);
  }
}

/** The ed25519 key pair the client signs one server's challenges with. */
export class ServerKey {
  /** The public key as an `authorized_keys` line: `ssh-ed25519 AAAA... sockchat`. */
  readonly publicLine: string;
  /** OpenSSH's SHA256 fingerprint of the public key, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  readonly #private: CryptoKey;

  private constructor(privateKey: CryptoKey, publicRaw: Uint8Array) {
    this.#private = privateKey;
    const blob = ed25519Blob(publicRaw);
    this.publicLine = `ssh-ed25519 ${blob.toBase64()} ${KEY_COMMENT}`;
    this.fingerprint = fingerprintOfBlob(blob);
  }

  /** The key in PKCS #8 bytes; throws if they hold no ed25519 private key. */
  static async fromPkcs8(pkcs8: Uint8Array<ArrayBuffer>): Promise<ServerKey> {
    // Imported extractable once, only to read the public half out of it (WebCrypto has no
    // other way to derive it); the key that signs is imported again, not extractable.
    const full = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", full);
    if (jwk.x === undefined) throw new Error("no public key");
    const publicRaw = Uint8Array.fromBase64(jwk.x, { alphabet: "base64url" });
    const signer = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", false, ["sign"]);
    return new ServerKey(signer, publicRaw);
  }

  /**
   * The answer to a `challenge`: the base64 signature of UTF-8 `CHALLENGE_CONTEXT` followed by
   * the nonce's bytes. Throws {@linkcode ClientError} when the nonce is not base64.
   */
  async prove(nonce: string): Promise<string> {
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.fromBase64(nonce);
    } catch {
      throw new ClientError("the server sent a challenge that is not base64");
    }
    const context = new TextEncoder().encode(CHALLENGE_CONTEXT);
    const signed = new Uint8Array(context.length + bytes.length);
    signed.set(context);
    signed.set(bytes, context.length);
    const sig = await crypto.subtle.sign("Ed25519", this.#private, signed);
    return new Uint8Array(sig).toBase64();
  }
}

/**
 * Where the key is kept: `$XDG_CONFIG_HOME/sockchat/key`, else `$HOME/.config/sockchat/key`;
 * null when neither variable is set.
 *
 * @example
 * ```ts
 * defaultKeyPath((name) => ({ HOME: "/home/ann" } as Record<string, string>)[name]);
 * // "/home/ann/.config/sockchat/key"
 * ```
 */
export function defaultKeyPath(env: (name: string) => string | undefined): string | null {
  const config = env("XDG_CONFIG_HOME") || (env("HOME") ? `${env("HOME")}/.config` : "");
  return config === "" ? null : `${config}/sockchat/key`;
}

/**
 * Loads the key from `path`, or makes it there on first use (the directory too, mode 700; the
 * file mode 600). Throws {@linkcode ClientError} with one line when the file cannot be used:
 * open to its group or others, unreadable, or not a key. `created` is true for a new key.
 */
export async function loadOrCreateKey(
  path: string,
): Promise<{ key: IdentityKey; created: boolean }> {
  const existing = await readKeyFile(path);
  if (existing !== null) return { key: existing, created: false };
  const { key, pkcs8 } = await IdentityKey.generate();
  const dir = path.replace(/\/[^/]*$/, "");
  try {
    if (dir !== path && dir !== "") await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    // createNew: two clients starting at once must not overwrite each other's key.
    await Deno.writeTextFile(path, toPem(pkcs8), { createNew: true, mode: 0o600 });
    await Deno.chmod(path, 0o600); // whatever the umask let through
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      const raced = await readKeyFile(path);
      if (raced !== null) return { key: raced, created: false };
    }
    throw new KeyCreationError(`cannot create the key file ${path}: ${problem(error)}`);
  }
  return { key, created: true };
}

/** The key in `path`; null if there is no such file. */
async function readKeyFile(path: string): Promise<IdentityKey | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new ClientError(`cannot read the key file ${path}: ${problem(error)}`);
  }
  const what = `the key file ${path}`;
  let bytes: Uint8Array;
  try {
    // fstat on the open file, so the checked file is the one read.
    const info = await file.stat();
    if (!info.isFile) throw new ClientError(`${what} is not a file`);
    if (info.mode !== null && (info.mode & KEY_FILE_FORBIDDEN_MODE) !== 0) {
      const octal = (info.mode & 0o777).toString(8).padStart(4, "0");
      throw new ClientError(
        `${what} is open to other users (mode ${octal}); run "chmod 600 ${path}"`,
      );
    }
    bytes = new Uint8Array(MAX_SECRET_FILE_BYTES + 1);
    let filled = 0;
    while (filled < bytes.length) {
      const n = await file.read(bytes.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled > MAX_SECRET_FILE_BYTES) throw new ClientError(`${what} is too large for a key`);
    bytes = bytes.subarray(0, filled);
  } finally {
    file.close();
  }
  const pkcs8 = fromPem(new TextDecoder().decode(bytes));
  try {
    if (pkcs8 === null) throw new Error("not PEM");
    return await IdentityKey.fromPkcs8(pkcs8);
  } catch {
    // Never quote the file: it holds a secret.
    throw new ClientError(
      `${what} holds no ed25519 private key; move it away and a new key is made`,
    );
  }
}

function toPem(der: Uint8Array): string {
  const lines = der.toBase64().match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${PEM_LABEL}-----\n${lines.join("\n")}\n-----END ${PEM_LABEL}-----\n`;
}

function fromPem(text: string): Uint8Array<ArrayBuffer> | null {
  const match = new RegExp(
    `-----BEGIN ${PEM_LABEL}-----([A-Za-z0-9+/=\\s]+)-----END ${PEM_LABEL}-----`,
  ).exec(text);
  if (match === null) return null;
  try {
    return Uint8Array.fromBase64(match[1].replace(/\s+/g, ""));
  } catch {
    return null;
  }
}

function problem(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotFound) return "no such directory";
  return error instanceof Error ? error.message : String(error);
}
