/**
 * Public keys in OpenSSH's text forms: fingerprints, `authorized_keys` files, and the raw
 * ed25519 key inside an `ssh-ed25519 AAAA...` line. One fingerprint scheme serves SSH keys, the
 * native client's own key and `--oper-keys`: OpenSSH's `SHA256:` + base64 of the SHA-256 of the
 * key's wire blob, without `=` padding, exactly as `ssh-keygen -lf` prints it.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** OpenSSH's SHA256 fingerprint of a key's wire blob: `SHA256:<base64 without padding>`. */
export function fingerprintOfBlob(blob: Uint8Array): string {
  const digest = createHash("sha256").update(blob).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** One key line of an `authorized_keys` file. */
export interface AuthorizedKey {
  /** See {@linkcode fingerprintOfBlob}. */
  fingerprint: string;
  /** The key type named in the line, e.g. `ssh-ed25519`. */
  type: string;
  /** The comment after the key, or "" if none. */
  comment: string;
}

/** An `authorized_keys` text could not be read. The message names the line. */
export class AuthorizedKeysError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "AuthorizedKeysError";
}

// Key types a line may name; a line starting with anything else carries options first.
const KEY_TYPE =
  /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/**
 * Parses `authorized_keys` text: one key per line, optionally after options
 * (`from="..." ssh-ed25519 AAAA... comment`); blank lines and `#` comments are skipped.
 * Throws {@linkcode AuthorizedKeysError} naming the first bad line.
 *
 * @example
 * ```ts
 * const keys = parseAuthorizedKeys(
 *   "# ops\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDxYFwecosKvPZEXWNPPk4KGlxj4dhbgqZJFN+3mEqey alice\n",
 * );
 * keys[0].fingerprint; // "SHA256:+LXBY9AK1WR/48hmt0m/GKMxZEPASruM9y6xsDVRxHE"
 * ```
 */
export function parseAuthorizedKeys(text: string): AuthorizedKey[] {
  const keys: AuthorizedKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === "" || line.startsWith("#")) continue;
    const key = parseKeyLine(line);
    if (typeof key === "string") throw new AuthorizedKeysError(`Line ${index + 1}: ${key}`);
    keys.push(key);
  }
  return keys;
}

/** One line; a string says what is wrong with it. */
function parseKeyLine(line: string): AuthorizedKey | string {
  const fields = splitFields(line);
  const typeAt = fields.findIndex((field) => KEY_TYPE.test(field));
  if (typeAt < 0) return "no key type (such as ssh-ed25519) found.";
  // Options are one field (quoted spaces kept together), so a key type can only be 1st or 2nd.
  if (typeAt > 1) return "unexpected text before the key type.";
  const type = fields[typeAt];
  const encoded = fields[typeAt + 1];
  if (encoded === undefined) return `${type} is not followed by a key.`;
  const blob = decodeBase64(encoded);
  if (blob === null) return "the key is not valid base64.";
  const named = blobKeyType(blob);
  if (named !== type) return `the key's data says ${named ?? "nothing readable"}, not ${type}.`;
  if (!wellFormed(blob)) return `the ${type} key is cut short or malformed.`;
  const weak = weakSshKey(blob);
  if (weak !== null) return `${weak}: not a key anyone holds alone.`;
  return {
    fingerprint: fingerprintOfBlob(blob),
    type,
    comment: fields.slice(typeAt + 2).join(" "),
  };
}

/**
 * True if `blob` is a run of length-prefixed fields that ends exactly where the blob does, with at
 * least one field after the type: a key cut short in copying (a truncated line) is not.
 */
function wellFormed(blob: Uint8Array): boolean {
  let at = 0;
  let fields = 0;
  while (at < blob.length) {
    const field = readString(blob, at);
    if (field === null) return false;
    at = field.next;
    fields++;
  }
  return fields >= 2;
}

/** Splits on spaces and tabs, keeping a double-quoted stretch (options) inside one field. */
function splitFields(line: string): string[] {
  const fields: string[] = [];
  let current = "";
  let quoted = false;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    if (!quoted && (char === " " || char === "\t")) {
      if (current !== "") fields.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  if (current !== "") fields.push(current);
  return fields;
}

function decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  try {
    const binary = atob(text);
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

/** The type string at the start of a wire blob (uint32 length + bytes); null if malformed. */
function blobKeyType(blob: Uint8Array): string | null {
  const field = readString(blob, 0);
  if (field === null) return null;
  return new TextDecoder().decode(field.value);
}

function readString(
  blob: Uint8Array,
  offset: number,
): { value: Uint8Array; next: number } | null {
  if (offset + 4 > blob.length) return null;
  const length = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(offset);
  const start = offset + 4;
  if (start + length > blob.length) return null;
  return { value: blob.subarray(start, start + length), next: start + length };
}

/** Length of an ed25519 public key. */
const ED25519_PUBLIC_BYTES = 32;

/**
 * The 32 raw bytes of the ed25519 public key in an OpenSSH line `ssh-ed25519 <base64> [comment]`
 * (or the base64 blob alone); null if it is not exactly such a key.
 */
export function ed25519PublicFromOpenSsh(text: string): Uint8Array | null {
  const fields = text.trim().split(/\s+/);
  let encoded: string | undefined;
  if (fields[0] === "ssh-ed25519") encoded = fields[1];
  else if (fields.length === 1) encoded = fields[0];
  if (encoded === undefined) return null;
  const blob = decodeBase64(encoded);
  if (blob === null) return null;
  const type = readString(blob, 0);
  if (type === null || new TextDecoder().decode(type.value) !== "ssh-ed25519") return null;
  const key = readString(blob, type.next);
  if (key === null || key.next !== blob.length) return null;
  if (key.value.length !== ED25519_PUBLIC_BYTES) return null;
  if (weakEd25519Point(key.value) !== null) return null;
  return key.value.slice();
}

/** The wire blob inside an OpenSSH public key line, or null if it has none. */
export function blobFromOpenSsh(text: string): Uint8Array | null {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 2 || !KEY_TYPE.test(fields[0])) return null;
  const blob = decodeBase64(fields[1]);
  if (blob === null || blobKeyType(blob) !== fields[0]) return null;
  return blob;
}

/**
 * The OpenSSH wire blob of a raw ed25519 public key (`string "ssh-ed25519"`, `string key`): what
 * its fingerprint is the hash of, and the base64 in its `ssh-ed25519 AAAA...` line.
 *
 * @example
 * ```ts
 * ed25519Blob(new Uint8Array(32)).length; // 51
 * ```
 */
export function ed25519Blob(raw: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode("ssh-ed25519");
  const blob = new Uint8Array(4 + type.length + 4 + raw.length);
  const view = new DataView(blob.buffer);
  view.setUint32(0, type.length);
  blob.set(type, 4);
  view.setUint32(4 + type.length, raw.length);
  blob.set(raw, 8 + type.length);
  return blob;
}

/** The field prime of ed25519, 2^255 - 19. */
const FIELD_PRIME = 2n ** 255n - 19n;

/** The order of ed25519's base point: a signature's S must be below it (RFC 8032, 5.1.7). */
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * The y coordinates of the 8 points of small order (the 8-torsion): 0, 1, p - 1 and the
 * order-8 pair. A point and its negation share y, so y alone names them, whatever the sign bit.
 */
const SMALL_ORDER_Y: ReadonlySet<bigint> = new Set([
  0n,
  1n,
  FIELD_PRIME - 1n,
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
  FIELD_PRIME - 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
]);

/** Length of an ed25519 signature: R (32 bytes) then S (32 bytes). */
const ED25519_SIGNATURE_BYTES = 64;

/** A little-endian number. */
function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/**
 * Why a 32-byte ed25519 point encoding must not be trusted, or null if it may be. node:crypto
 * (OpenSSL) verifies leniently: with a small-order key (32 zero bytes, say) a signature of zeros
 * can verify for many messages, so whoever registers such a "key" shares it with everyone. A
 * non-canonical encoding (y >= p) is refused too, so one key has exactly one fingerprint.
 *
 * @example
 * ```ts
 * weakEd25519Point(new Uint8Array(32)); // "a point of small order"
 * ```
 */
export function weakEd25519Point(encoded: Uint8Array): string | null {
  if (encoded.length !== ED25519_PUBLIC_BYTES) return "not 32 bytes long";
  const y = littleEndian(encoded) & ((1n << 255n) - 1n); // the top bit is x's sign
  if (y >= FIELD_PRIME) return "not canonically encoded";
  if (SMALL_ORDER_Y.has(y)) return "a point of small order";
  return null;
}

/**
 * Why an ed25519 signature must be refused before it is verified, or null: not 64 bytes, S not
 * below the group order (a malleable copy of another signature), or R a small-order or
 * non-canonical point (what a forgery against a weak key is built from).
 */
export function weakEd25519Signature(signature: Uint8Array): string | null {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return "not 64 bytes long";
  if (littleEndian(signature.subarray(32)) >= GROUP_ORDER) return "S is not below the group order";
  const r = weakEd25519Point(signature.subarray(0, 32));
  return r === null ? null : `R is ${r}`;
}

/**
 * For SSH public-key authentication: why the key in an OpenSSH wire blob (and, when given, the
 * raw signature made with it) must be refused, or null. Only `ssh-ed25519` keys are checked;
 * other types are left to the SSH library.
 */
export function weakSshKey(blob: Uint8Array, signature?: Uint8Array): string | null {
  const type = readString(blob, 0);
  if (type === null || new TextDecoder().decode(type.value) !== "ssh-ed25519") return null;
  const key = readString(blob, type.next);
  if (key === null || key.next !== blob.length) return "a malformed ssh-ed25519 key";
  const weak = weakEd25519Point(key.value);
  if (weak !== null) return `the key is ${weak}`;
  if (signature === undefined) return null;
  const sig = weakEd25519Signature(signature);
  return sig === null ? null : `the signature's ${sig}`;
}
