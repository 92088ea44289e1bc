/**
 * Account passwords, hashed with scrypt from `node:crypto` (asynchronously: a hash runs on
 * libuv's thread pool, never on the event loop). Each hash has its own random salt and carries
 * its parameters, so they can be raised later without breaking old accounts:
 * `scrypt$N=16384,r=8,p=1$<salt base64>$<key base64>`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from "node:crypto";
import {
  MAX_HASHES_IN_PROGRESS,
  SCRYPT_BLOCK_SIZE,
  SCRYPT_COST,
  SCRYPT_KEY_BYTES,
  SCRYPT_PARALLELISM,
  SCRYPT_SALT_BYTES,
} from "../config/security_limits.ts";
import type { PasswordHasher } from "../core/ports.ts";

/** scrypt's parameters, as they are named in the encoded hash. */
export interface ScryptParameters {
  /** Cost (a power of two). @default {@linkcode SCRYPT_COST} */
  N: number;
  /** Block size. @default {@linkcode SCRYPT_BLOCK_SIZE} */
  r: number;
  /** Parallelism. @default {@linkcode SCRYPT_PARALLELISM} */
  p: number;
}

/** Options for a {@linkcode ScryptHasher}. */
export interface ScryptHasherOptions {
  /** Parameters for new hashes (tests use a low cost). @default the named constants */
  parameters?: ScryptParameters;
  /** Hashes in progress at once. @default {@linkcode MAX_HASHES_IN_PROGRESS} */
  maxInProgress?: number;
}

const DEFAULT_PARAMETERS: ScryptParameters = {
  N: SCRYPT_COST,
  r: SCRYPT_BLOCK_SIZE,
  p: SCRYPT_PARALLELISM,
};

/** Largest cost a stored hash may ask for: a tampered row must not ask for gigabytes. */
const MAX_STORED_COST = 2 ** 20;

/**
 * The server's password hasher: scrypt with a per-account salt, and at most `maxInProgress`
 * hashes running at once (beyond that, `hash` and `verify` return null).
 *
 * @example
 * ```ts
 * const hasher = new ScryptHasher();
 * const encoded = await hasher.hash("correct horse");
 * await hasher.verify("correct horse", encoded!); // true
 * ```
 */
export class ScryptHasher implements PasswordHasher {
  readonly #parameters: ScryptParameters;
  readonly #maxInProgress: number;
  #inProgress = 0;

  /** A hasher with these parameters and cap. */
  constructor(options: ScryptHasherOptions = {}) {
    this.#parameters = options.parameters ?? DEFAULT_PARAMETERS;
    this.#maxInProgress = options.maxInProgress ?? MAX_HASHES_IN_PROGRESS;
  }

  /** Hashes running now. */
  get inProgress(): number {
    return this.#inProgress;
  }

  /** {@inheritDoc PasswordHasher.hash} */
  hash(password: string): Promise<string> | null {
    const salt = randomBytes(SCRYPT_SALT_BYTES);
    const parameters = this.#parameters;
    const derived = this.#derive(password, salt, parameters, SCRYPT_KEY_BYTES);
    if (derived === null) return null;
    return derived.then((key) =>
      `scrypt$N=${parameters.N},r=${parameters.r},p=${parameters.p}$` +
      `${salt.toString("base64")}$${key.toString("base64")}`
    );
  }

  /** {@inheritDoc PasswordHasher.verify} A malformed `encoded` never matches. */
  verify(password: string, encoded: string): Promise<boolean> | null {
    const parsed = parseHash(encoded);
    if (parsed === null) return Promise.resolve(false);
    const derived = this.#derive(password, parsed.salt, parsed.parameters, parsed.key.length);
    if (derived === null) return null;
    return derived.then((key) => timingSafeEqual(key, parsed.key), () => false);
  }

  #derive(
    password: string,
    salt: Uint8Array,
    { N, r, p }: ScryptParameters,
    length: number,
  ): Promise<Buffer> | null {
    if (this.#inProgress >= this.#maxInProgress) return null;
    this.#inProgress++;
    // Node refuses N*r above maxmem/128; give it exactly what these parameters need.
    const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r * p + 1024 * 1024 };
    return new Promise<Buffer>((resolve, reject) => {
      scrypt(password.normalize("NFC"), salt, length, options, (error, key) => {
        this.#inProgress--;
        if (error) reject(error);
        else resolve(key);
      });
    });
  }
}

/** An encoded hash taken apart; null if it is not one this module wrote. */
function parseHash(
  encoded: string,
): { parameters: ScryptParameters; salt: Buffer; key: Buffer } | null {
  const match = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(
    encoded,
  );
  if (match === null) return null;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (N < 2 || N > MAX_STORED_COST || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) {
    return null;
  }
  const salt = Buffer.from(match[4], "base64");
  const key = Buffer.from(match[5], "base64");
  if (salt.length === 0 || key.length < 16) return null;
  return { parameters: { N, r, p }, salt, key };
}
