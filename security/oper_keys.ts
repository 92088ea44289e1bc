/**
 * `--oper-keys FILE`: an `authorized_keys` file whose keys are operators as soon as they log in
 * (no shared secret). It names who may moderate, so it is held to the secret files' rules: a file
 * readable by other users or writable by its group is refused (see `secretModeProblem`).
 *
 * @module
 */

import { MAX_OPER_KEYS_FILE_BYTES } from "../config/security_limits.ts";
import { readProtectedText } from "./secrets.ts";
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
  const text = await readProtectedText(path, {
    what,
    maxBytes: MAX_OPER_KEYS_FILE_BYTES,
    tooLarge: "is it the right file?",
    error: (message) => new OperKeysError(message),
  });
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
