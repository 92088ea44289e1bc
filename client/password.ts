/**
 * The server password `join` sends in its hello: from `--password-file`, else from
 * `$SOCKCHAT_PASSWORD` (the variable `serve` reads too, handy on one machine).
 *
 * @module
 */

import { MAX_SECRET_FILE_BYTES } from "../config/security_limits.ts";
import { openProblem, PASSWORD_ENV, trimOneNewline } from "../security/secrets.ts";
import { ClientError } from "./chat_client.ts";

/**
 * Reads the password; undefined when neither the file nor the variable is given. Throws
 * {@linkcode ClientError} with a sentence when the file cannot be used.
 */
export async function loadJoinPassword(
  file: string | undefined,
  env: (name: string) => string | undefined,
): Promise<string | undefined> {
  if (file === undefined) return env(PASSWORD_ENV) || undefined;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    throw new ClientError(`cannot read the password file ${file}: ${openProblem(error)}`);
  }
  if (bytes.length > MAX_SECRET_FILE_BYTES) {
    throw new ClientError(
      `the password file ${file} is larger than ${MAX_SECRET_FILE_BYTES} bytes; it should hold one line`,
    );
  }
  const password = trimOneNewline(new TextDecoder().decode(bytes));
  if (password === "") throw new ClientError(`the password file ${file} is empty`);
  return password;
}
