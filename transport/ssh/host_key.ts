/**
 * The SSH front end's host key: the key clients remember in `known_hosts`, so it must stay the
 * same across restarts. `--ssh-host-key FILE` names an OpenSSH ed25519 private key made by
 * `ssh-keygen`; without it, one is generated on the first start and kept under the state
 * directory (`$XDG_STATE_HOME/sockchat/`, else `~/.local/state/sockchat/`), mode 600. Its
 * fingerprint is OpenSSH's, so what the server prints matches `ssh-keygen -lf` and what `ssh`
 * shows on first connect.
 *
 * @module
 */

import { readCapped, secretModeProblem } from "../../security/secrets.ts";
import { fingerprintOfBlob } from "../../security/ssh_keys.ts";
import { generateHostKeyText } from "./openssh_key.ts";
import { type ParsedKey, parseKey } from "./ssh2.ts";

/** The file name of a generated host key, as sshd names its own. */
export const HOST_KEY_FILE_NAME = "ssh_host_ed25519_key";

/** Largest host key file read: an ed25519 key is about 400 bytes. */
const MAX_HOST_KEY_BYTES = 16 * 1024;

/** A host key that cannot be used. The message is one sentence for the operator. */
export class HostKeyError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "HostKeyError";
}

/** A usable host key. */
export interface HostKey {
  /** The OpenSSH private key text (what the server is given). */
  text: string;
  /** `SHA256:<base64>`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** Where it was read from. */
  path: string;
  /** True when this start generated it. */
  created: boolean;
}

/**
 * Where a generated host key is kept: `$XDG_STATE_HOME/sockchat/`, else
 * `$HOME/.local/state/sockchat/`; null when neither variable is set.
 *
 * @example
 * ```ts
 * defaultHostKeyPath((name) => ({ HOME: "/home/ann" } as Record<string, string>)[name]);
 * // "/home/ann/.local/state/sockchat/ssh_host_ed25519_key"
 * ```
 */
export function defaultHostKeyPath(getEnv: (name: string) => string | undefined): string | null {
  const state = getEnv("XDG_STATE_HOME");
  if (state !== undefined && state.startsWith("/")) {
    return `${state}/sockchat/${HOST_KEY_FILE_NAME}`;
  }
  const home = getEnv("HOME");
  if (home === undefined || home === "") return null;
  return `${home}/.local/state/sockchat/${HOST_KEY_FILE_NAME}`;
}

/**
 * Checks `text` is an unencrypted OpenSSH ed25519 private key; returns its fingerprint. Throws
 * {@linkcode HostKeyError} naming `path`.
 */
export function hostKeyFingerprint(text: string, path: string): string {
  return fingerprintOfBlob(parseHostKey(text, path).getPublicSSH());
}

/** Parses and checks a host key's text. */
export function parseHostKey(text: string, path: string): ParsedKey {
  const parsed = parseKey(text);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    throw new HostKeyError(
      encrypted
        ? `The SSH host key ${path} is protected by a passphrase; the server cannot ask for one. ` +
          `Make one without: ssh-keygen -t ed25519 -N "" -f FILE.`
        : `The SSH host key ${path} is not an OpenSSH private key (${parsed.message}).`,
    );
  }
  if (parsed.getPrivatePEM() === null) {
    throw new HostKeyError(
      `The SSH host key ${path} is a public key; --ssh-host-key takes the private key file.`,
    );
  }
  if (parsed.type !== "ssh-ed25519") {
    throw new HostKeyError(
      `The SSH host key ${path} is ${parsed.type}; sockchat serves ed25519 host keys. ` +
        `Make one with: ssh-keygen -t ed25519 -N "" -f FILE.`,
    );
  }
  return parsed;
}

/**
 * Reads the host key at `path` (`--ssh-host-key`): it must be an unencrypted OpenSSH ed25519
 * private key that only its owner can read. Throws {@linkcode HostKeyError}.
 */
export async function loadHostKey(path: string): Promise<HostKey> {
  let text: string;
  try {
    using file = await Deno.open(path, { read: true });
    const info = await file.stat();
    if (!info.isFile) throw new HostKeyError(`The SSH host key ${path} is not a file.`);
    const problem = secretModeProblem(info.mode);
    if (problem !== null) {
      throw new HostKeyError(
        `The SSH host key ${path} ${problem} Run "chmod 600 ${path}" and start again.`,
      );
    }
    const bytes = await readCapped(file, MAX_HOST_KEY_BYTES);
    if (bytes === null) {
      throw new HostKeyError(`The SSH host key ${path} is larger than a key file can be.`);
    }
    text = new TextDecoder().decode(bytes);
  } catch (error) {
    if (error instanceof HostKeyError) throw error;
    // Refused rather than made: a mistyped path must not quietly give the server a new key,
    // which every client that knew the old one would take for an impostor.
    if (error instanceof Deno.errors.NotFound) {
      throw new HostKeyError(
        `There is no SSH host key at ${path}. Make one with: ssh-keygen -t ed25519 -N "" ` +
          `-f ${shellWord(path)} (or leave out --ssh-host-key, and sockchat makes one and keeps ` +
          `it in its state directory).`,
      );
    }
    const why = error instanceof Error ? error.message : String(error);
    throw new HostKeyError(`Cannot read the SSH host key ${path}: ${why}.`);
  }
  return { text, fingerprint: hostKeyFingerprint(text, path), path, created: false };
}

/** `path` as one word for a POSIX shell, to paste into a command: quoted when it has to be. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * The host key at `path`, generated there first if there is none (the directory is created,
 * mode 700; the file mode 600, never overwritten). Throws {@linkcode HostKeyError}.
 *
 * @example
 * ```ts
 * const dir = await Deno.makeTempDir();
 * const first = await loadOrCreateHostKey(`${dir}/state/ssh_host_ed25519_key`);
 * const again = await loadOrCreateHostKey(`${dir}/state/ssh_host_ed25519_key`);
 * first.fingerprint === again.fingerprint; // true
 * ```
 */
export async function loadOrCreateHostKey(path: string): Promise<HostKey> {
  try {
    await Deno.lstat(path);
    return await loadHostKey(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const dir = path.replace(/\/[^/]*$/, "");
  const privateKey = generateHostKeyText();
  try {
    if (dir !== path && dir !== "") await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    // createNew: two servers starting at once must not overwrite each other's key.
    await Deno.writeTextFile(path, privateKey, { mode: 0o600, createNew: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return await loadHostKey(path);
    const why = error instanceof Error ? error.message : String(error);
    throw new HostKeyError(
      `Cannot create the SSH host key ${path}: ${why}. Use --ssh-host-key FILE, or set ` +
        `XDG_STATE_HOME to a writable directory.`,
    );
  }
  return {
    text: privateKey,
    fingerprint: hostKeyFingerprint(privateKey, path),
    path,
    created: true,
  };
}
