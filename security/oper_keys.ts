/**
 * `--oper-keys FILE`: an `authorized_keys` file whose keys are operators as soon as they log in
 * (no shared secret). It names who may moderate, so it is held to the secret files' rules: a file
 * readable by other users or writable by its group is refused (see `secretModeProblem`).
 *
 * @module
 */

import { MAX_OPER_KEYS_FILE_BYTES } from "../config/security_limits.ts";
import { secretModeProblem } from "./secrets.ts";
import { AuthorizedKeysError, parseAuthorizedKeys } from "./ssh_keys.ts";

/** The oper keys file could not be used. The message is one sentence for the operator. */
export class OperKeysError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "OperKeysError";
}

/**
 * The fingerprints of the keys in `path`. Throws {@linkcode OperKeysError} saying what to fix:
 * a missing or unsafe file, one too large, a bad line (named), or no key at all.
 */
export async function loadOperKeys(path: string): Promise<Set<string>> {
  const what = `The operator keys file ${path}`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (error as Error).message;
    throw new OperKeysError(`${what} cannot be opened: ${why}.`);
  }
  let text: string;
  try {
    // fstat on the open file, so the checked file is the one read.
    const info = await file.stat();
    if (info.isDirectory) throw new OperKeysError(`${what} is a directory, not a file.`);
    const problem = secretModeProblem(info.mode);
    if (problem !== null) {
      throw new OperKeysError(`${what} ${problem} Run "chmod 600 ${path}" and start again.`);
    }
    if (info.size > MAX_OPER_KEYS_FILE_BYTES) {
      throw new OperKeysError(
        `${what} is larger than ${MAX_OPER_KEYS_FILE_BYTES} bytes; is it the right file?`,
      );
    }
    const bytes = new Uint8Array(info.size);
    let filled = 0;
    while (filled < bytes.length) {
      const n = await file.read(bytes.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, filled));
    } catch {
      throw new OperKeysError(`${what} is not UTF-8 text.`);
    }
  } finally {
    file.close();
  }
  let keys;
  try {
    keys = parseAuthorizedKeys(text);
  } catch (error) {
    if (error instanceof AuthorizedKeysError) throw new OperKeysError(`${what}: ${error.message}`);
    throw error;
  }
  if (keys.length === 0) {
    throw new OperKeysError(
      `${what} holds no key; put one authorized_keys line per operator in it ` +
        '(sockchat key prints yours; for an SSH key, the line of its ".pub" file).',
    );
  }
  return new Set(keys.map((key) => key.fingerprint));
}
