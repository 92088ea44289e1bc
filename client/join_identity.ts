/**
 * Who `sockchat join` says it is, beyond its nick: its own key (unless `--no-key`), the account
 * password of a registered nick (from `--account-password-file`, $SOCKCHAT_ACCOUNT_PASSWORD,
 * or asked at the terminal without echo when the server wants it), and `sockchat key`, which
 * prints the public half of the key `join` uses with one server, for that server's `--oper-keys`.
 *
 * @module
 */

import { type JoinArgs, parseTargets } from "../cli/join_args.ts";
import { parseFlags } from "../cli/parse_strict.ts";
import { KEY_HELP, UsageError } from "../cli/usage.ts";
import { PASSWORD_ENV } from "../security/secrets.ts";
import type { IdentityKind } from "../protocol/frames.ts";
import type { ClientIdentity } from "./chat_client.ts";
import { ClientError } from "./client_error.ts";
import { defaultKeyPath, KeyCreationError, loadOrCreateKey, serverTarget } from "./identity_key.ts";
import { loadJoinPassword } from "./password.ts";

/** The environment variable `join` reads a registered nick's account password from. */
export const ACCOUNT_PASSWORD_ENV = "SOCKCHAT_ACCOUNT_PASSWORD";

/** Longest account password typed at the prompt, in characters: a paste cannot grow it forever. */
const MAX_TYPED_PASSWORD = 1024;

/** What `join` hands {@linkcode ChatClient.connect}. */
export interface JoinIdentity {
  /** Kept across reconnections (the account password, once asked, is reused). */
  identity: ClientIdentity;
  /** Asks at the terminal; absent when nobody is there to ask. */
  askAccountPassword?: (nick: string, wrong: boolean) => Promise<string | null>;
}

/**
 * Loads (or makes) the key and reads the account password as the flags say. Throws
 * {@linkcode ClientError} with one line when the key file or password file cannot be used.
 * `interactive`: a person at a terminal, who may be asked for the account password.
 */
export async function joinIdentity(
  args: Pick<JoinArgs, "noKey" | "keyFile" | "accountPasswordFile">,
  env: (name: string) => string | undefined,
  interactive: boolean,
): Promise<JoinIdentity> {
  const identity: ClientIdentity = { hint: (need) => refusalHint(need, args.noKey) };
  if (!args.noKey) {
    const path = args.keyFile ?? defaultKeyPath(env);
    if (path === null) {
      throw new ClientError(
        "no place for your key: $XDG_CONFIG_HOME and $HOME are unset; pass --key FILE or --no-key",
      );
    }
    const loaded = await loadOrCreateKey(path).catch((error) => {
      // A key that exists but cannot be used is an error; one that cannot be made (a read-only
      // home) leaves the client without one, as --no-key would: the login says if that matters.
      if (error instanceof KeyCreationError) {
        console.error(`sockchat: ${error.message}; joining without a key`);
        return null;
      }
      throw error;
    });
    // Said once, to a person: a bot's output stays as it was.
    if (loaded?.created && interactive) {
      console.error(`sockchat: made your key ${path}`);
    }
    if (loaded) identity.key = loaded.key;
  }
  // The server password's reader, pointed at the account password's variable.
  const accountPassword = await loadJoinPassword(
    args.accountPasswordFile,
    (name) => name === PASSWORD_ENV ? env(ACCOUNT_PASSWORD_ENV) : undefined,
  );
  if (accountPassword !== undefined) identity.accountPassword = accountPassword;
  return interactive
    ? { identity, askAccountPassword: (nick, wrong) => askHidden(passwordPrompt(nick, wrong)) }
    : { identity };
}

/** `Password for NICK: `, after a wrong one `Wrong password. Password for NICK: `. */
export function passwordPrompt(nick: string, wrong: boolean): string {
  return `${wrong ? "Wrong password. " : ""}Password for ${nick}: `;
}

/** What to do about a nick registered to someone, in the words of `join`'s flags. */
function refusalHint(need: IdentityKind | undefined, noKey: boolean): string {
  if (need === "password") {
    return `give its password with --account-password-file FILE or $${ACCOUNT_PASSWORD_ENV}, ` +
      "or pick another nick with --name";
  }
  return noKey
    ? "it belongs to a key: join without --no-key (or with --key FILE) if it is yours, or pick another nick with --name"
    : "it belongs to another key: use --key FILE with that key, or pick another nick with --name";
}

/**
 * Reads one line from the terminal without echoing it; null on Ctrl-C, or Ctrl-D on an empty
 * line. The terminal is back in its own mode afterwards, whatever happens.
 */
async function askHidden(prompt: string): Promise<string | null> {
  const encoder = new TextEncoder();
  await Deno.stdout.write(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  let typed = "";
  const chunk = new Uint8Array(256);
  try {
    while (true) {
      const n = await Deno.stdin.read(chunk);
      if (n === null) return null;
      for (const char of new TextDecoder().decode(chunk.subarray(0, n))) {
        if (char === "\r" || char === "\n") return typed;
        if (char === "\x03" || (char === "\x04" && typed === "")) return null;
        if (char === "\x7f" || char === "\b") typed = [...typed].slice(0, -1).join("");
        else if (char >= " " && [...typed].length < MAX_TYPED_PASSWORD) typed += char;
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stdout.write(encoder.encode("\n"));
  }
}

/**
 * `sockchat key [HOST[:PORT]] [--key FILE]`: prints the `authorized_keys` line, then the
 * fingerprint, of the key `join` uses with that server (the same address `join` is given; with
 * none, `join`'s default server), making the key file first if there is none. Resolves to the
 * exit code.
 */
export async function runKeyCommand(
  args: string[],
  env: (name: string) => string | undefined,
): Promise<number> {
  const hint = "sockchat key --help";
  const { values, positionals } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    key: { type: "string", wants: "the file of your sockchat key" },
  }, hint);
  if (values.help) {
    console.log(KEY_HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `key takes at most one argument (the server, HOST:PORT), but got ${positionals.length}.`,
      hint,
    );
  }
  // `key a:7342,b:7342` as join takes it: join offers every node the first address's key.
  const { host, port } = parseTargets(positionals[0] ?? "")[0];
  const path = values.key ?? defaultKeyPath(env);
  if (path === null) {
    throw new UsageError("$XDG_CONFIG_HOME and $HOME are unset: pass --key FILE.", hint);
  }
  try {
    const { key, created } = await loadOrCreateKey(path);
    if (created) console.error(`sockchat: made your key ${path}`);
    const target = serverTarget(host, port);
    const serverKey = await key.forServer(target);
    // Said on stderr so stdout stays the two lines an operator copies.
    console.error(`sockchat: your key for ${target} (each server address gets its own)`);
    console.log(serverKey.publicLine);
    console.log(serverKey.fingerprint);
    return 0;
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    console.error(`sockchat: ${error.message}`);
    return 1;
  }
}
