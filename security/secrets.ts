/**
 * The server password and the operator secret: loaded from a file (`--password-file`,
 * `--oper-file`) or an environment variable (`SOCKCHAT_PASSWORD`, `SOCKCHAT_OPER_SECRET`), and
 * compared in constant time. A {@linkcode Secret} keeps only a keyed digest of its value and
 * prints as `[secret]`, so it cannot end up in a log by accident.
 *
 * Decisions: a file flag wins over the environment (an explicit flag beats ambient state); one
 * trailing newline (`\n` or `\r\n`) is trimmed from a file, nothing else; an empty secret is an
 * error, never "no password"; a file readable by everyone or writable by its group is refused
 * (see {@linkcode SECRET_FILE_FORBIDDEN_MODE}).
 *
 * @module
 */

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { MAX_SECRET_FILE_BYTES, SECRET_FILE_FORBIDDEN_MODE } from "../config/security_limits.ts";

/** Environment variable holding the server password when `--password-file` is not given. */
export const PASSWORD_ENV = "SOCKCHAT_PASSWORD";

/** Environment variable holding the operator secret when `--oper-file` is not given. */
export const OPER_SECRET_ENV = "SOCKCHAT_OPER_SECRET";

/** A secret could not be loaded. The message is one sentence for the operator, without the
 * secret in it. */
export class SecretError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "SecretError";
}

// One random key per process: digests are useless outside it, even if memory leaks.
const HMAC_KEY = randomBytes(32);

function digest(value: string): Uint8Array {
  return createHmac("sha256", HMAC_KEY).update(value, "utf8").digest();
}

const REDACTED = "[secret]";

/**
 * A password or operator secret. Compare with {@linkcode Secret.matches}; there is no way to
 * read the value back.
 *
 * @example
 * ```ts
 * const password = new Secret("hunter2", "environment variable SOCKCHAT_PASSWORD");
 * password.matches("hunter2"); // true
 * `${password}`; // "[secret]"
 * ```
 */
export class Secret {
  readonly #digest: Uint8Array;
  /** Where the secret came from, e.g. `file /etc/sockchat/password`. Safe to log. */
  readonly source: string;

  /** Keeps a digest of `value`, never the value itself. */
  constructor(value: string, source: string) {
    this.#digest = digest(value);
    this.source = source;
  }

  /**
   * True if `candidate` is the secret. Both sides are digested first, so the time taken
   * depends neither on where they differ nor on their lengths.
   */
  matches(candidate: string | undefined): boolean {
    if (candidate === undefined) return false;
    return timingSafeEqual(digest(candidate), this.#digest);
  }

  /** Always `[secret]`. */
  toString(): string {
    return REDACTED;
  }

  /** Always `"[secret]"`, so `JSON.stringify` cannot leak it. */
  toJSON(): string {
    return REDACTED;
  }

  /** `console.log` and `Deno.inspect` show `[secret]` too. */
  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }
}

/** Where to look for one secret. */
export interface LoadSecretOptions {
  /** What it is, for error messages: "server password" or "operator secret". */
  label: string;
  /** Path given on the command line; wins over the environment. */
  file?: string;
  /** Environment variable consulted when there is no file. */
  envVar: string;
  /** Reads the environment. @default Deno.env.get */
  getEnv?: (name: string) => string | undefined;
}

/**
 * Loads one secret from its file, else its environment variable; null if neither is given.
 * Throws {@linkcode SecretError} with a sentence saying what to fix.
 */
export async function loadSecret(options: LoadSecretOptions): Promise<Secret | null> {
  if (options.file !== undefined) return await readSecretFile(options.file, options.label);
  const value = (options.getEnv ?? Deno.env.get)(options.envVar);
  if (value === undefined) return null;
  if (value === "") {
    throw new SecretError(
      `${options.envVar} is set but empty. Unset it to run without a ${options.label}, ` +
        "or give it a value.",
    );
  }
  return new Secret(value, `environment variable ${options.envVar}`);
}

/** The server's secrets; null where none was configured. */
export interface ServerSecrets {
  /** Required in every hello when set. */
  password: Secret | null;
  /** Unlocks operator commands when set. */
  operSecret: Secret | null;
}

/** Loads both secrets from `--password-file`/`--oper-file` or their environment variables. */
export async function loadServerSecrets(options: {
  passwordFile?: string;
  operFile?: string;
  getEnv?: (name: string) => string | undefined;
}): Promise<ServerSecrets> {
  const password = await loadSecret({
    label: "server password",
    file: options.passwordFile,
    envVar: PASSWORD_ENV,
    getEnv: options.getEnv,
  });
  const operSecret = await loadSecret({
    label: "operator secret",
    file: options.operFile,
    envVar: OPER_SECRET_ENV,
    getEnv: options.getEnv,
  });
  return { password, operSecret };
}

/**
 * Reads a secret file: refuses unsafe permissions, directories and files over
 * {@linkcode MAX_SECRET_FILE_BYTES}, and trims one trailing newline.
 */
export async function readSecretFile(path: string, label: string): Promise<Secret> {
  const what = `The ${label} file ${path}`;
  const text = await readProtectedText(path, {
    what,
    maxBytes: MAX_SECRET_FILE_BYTES,
    tooLarge: "it should hold one line.",
    error: (message) => new SecretError(message),
  });
  const value = trimOneNewline(text);
  if (value === "") throw new SecretError(`${what} is empty.`);
  return new Secret(value, `file ${path}`);
}

/** How {@linkcode readProtectedText} names and bounds its file. */
export interface ProtectedFileOptions {
  /** The file as a sentence's subject, as in `The operator keys file PATH`. */
  what: string;
  /** The largest file read, in bytes. */
  maxBytes: number;
  /** What a larger file is told, after `is larger than N bytes; `. */
  tooLarge: string;
  /** Makes the error thrown, from its one sentence for the operator. */
  error(message: string): Error;
}

/**
 * The UTF-8 text of a file only its owner may change or read (a secret, or who may moderate).
 * Refuses, each with one sentence saying what to fix: a file that cannot be opened, a directory,
 * unsafe permissions (see {@linkcode secretModeProblem}), a file over `maxBytes`, and one that is
 * not UTF-8.
 *
 * @example
 * ```ts
 * const text = await readProtectedText("/etc/sockchat/oper", {
 *   what: "The operator secret file /etc/sockchat/oper",
 *   maxBytes: 4096,
 *   tooLarge: "it should hold one line.",
 *   error: (message) => new SecretError(message),
 * });
 * ```
 */
export async function readProtectedText(
  path: string,
  options: ProtectedFileOptions,
): Promise<string> {
  const { what, maxBytes, error } = options;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (cause) {
    throw error(`${what} cannot be opened: ${openProblem(cause)}.`);
  }
  try {
    // fstat on the open file, so the checked file is the one read.
    const info = await file.stat();
    if (info.isDirectory) throw error(`${what} is a directory, not a file.`);
    const problem = secretModeProblem(info.mode);
    if (problem !== null) {
      throw error(`${what} ${problem} Run "chmod 600 ${path}" and start again.`);
    }
    const bytes = await readCapped(file, maxBytes);
    if (bytes === null) {
      throw error(`${what} is larger than ${maxBytes} bytes; ${options.tooLarge}`);
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw error(`${what} is not UTF-8 text.`);
    }
  } finally {
    file.close();
  }
}

/**
 * Why a file with these permission bits may not hold a secret, as the end of a sentence; null
 * if it may. `null` mode (Windows, where Deno reports none) passes.
 */
export function secretModeProblem(mode: number | null): string | null {
  if (mode === null) return null;
  const bad = mode & SECRET_FILE_FORBIDDEN_MODE;
  if (bad === 0) return null;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  const who = bad & 0o007 ? "other users" : "its group";
  const how = bad & 0o004 ? "readable" : bad & 0o022 ? "writable" : "usable";
  return `is ${how} by ${who} (mode ${octal}).`;
}

/** Drops one trailing `\n` or `\r\n`, as left by an editor or `echo`. */
export function trimOneNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

/** Why a file could not be opened or read, in words for the end of a sentence. */
export function openProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) return "Deno was not given --allow-read for it";
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads a file to its end, but at most `limit` bytes (a file that grows is not followed); null
 * if it holds more.
 *
 * @example
 * ```ts
 * using file = await Deno.open("/etc/hostname");
 * const bytes = await readCapped(file, 4096);
 * console.log(bytes === null ? "too large" : new TextDecoder().decode(bytes));
 * ```
 */
export async function readCapped(file: Deno.FsFile, limit: number): Promise<Uint8Array | null> {
  const buffer = new Uint8Array(limit + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled > limit ? null : buffer.subarray(0, filled);
}
