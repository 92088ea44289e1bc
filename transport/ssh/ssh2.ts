/**
 * The parts of the `ssh2` npm package the SSH front end uses, with types. `ssh2` ships plain
 * JavaScript without declarations; this module is the one place that says what its objects look
 * like, so the rest of the front end is checked as strictly as the rest of sockchat. Only the
 * server side is used, run over sockets `Deno.listen` accepted (see `listener.ts`).
 *
 * @module
 */

import type { Duplex, Writable } from "node:stream";
// The package has no type declarations: it is typed here, once, by the interfaces below.
import ssh2 from "ssh2";

/** A key `ssh2` parsed (OpenSSH private key text, or a public key's wire blob). */
export interface ParsedKey {
  /** The key type, such as `ssh-ed25519`. */
  readonly type: string;
  /** The public key's wire blob (what OpenSSH fingerprints). */
  getPublicSSH(): Uint8Array;
  /** The private key as PEM, or null for a public key. */
  getPrivatePEM(): string | null;
  /** Checks `signature` over `data`; an Error if it could not be checked. */
  verify(data: Uint8Array, signature: Uint8Array, hashAlgo?: string): boolean | Error;
}

/** What every authentication request has. */
export interface AuthBase {
  /** The user name the client asked for: the nick. */
  readonly username: string;
  /** Lets the client in (a publickey query without a signature: says the key would do). */
  accept(): void;
  /** Refuses this request; `methods` are those the client may try next. */
  reject(methods?: string[], isPartial?: boolean): void;
}

/** A publickey request: a query (no signature) or a signed one. */
export interface PublicKeyAuth extends AuthBase {
  /** Discriminant. */
  readonly method: "publickey";
  /** The key offered: its algorithm and wire blob. */
  readonly key: { algo: string; data: Uint8Array };
  /** The signature, on the second (proving) request. */
  readonly signature?: Uint8Array;
  /** The data the signature covers. */
  readonly blob?: Uint8Array;
  /** For RSA keys: the hash the signature uses. */
  readonly hashAlgo?: string;
}

/** One question of a keyboard-interactive round. */
export interface KeyboardPrompt {
  /** What the client shows. */
  prompt: string;
  /** Whether the answer is echoed (false for passwords). */
  echo: boolean;
}

/** A keyboard-interactive request: the server asks, the client answers. */
export interface KeyboardAuth extends AuthBase {
  /** Discriminant. */
  readonly method: "keyboard-interactive";
  /**
   * Asks the client `prompts` (none: only shows `instructions`); `answer` gets the replies, or an
   * Error when the client gave up.
   */
  prompt(
    prompts: KeyboardPrompt[],
    title: string,
    instructions: string,
    answer: (responses: string[] | Error) => void,
  ): void;
}

/** Any other method (none, password, hostbased): sockchat refuses them. */
export interface OtherAuth extends AuthBase {
  /** Discriminant. */
  readonly method: "none" | "password" | "hostbased";
}

/** An authentication request, by method. */
export type AuthContext = PublicKeyAuth | KeyboardAuth | OtherAuth;

/** An open channel: bytes both ways, plus stderr and the exit status. */
export interface Channel extends Duplex {
  /** The channel's stderr (extended data). */
  readonly stderr: Writable;
  /** Sends exit-status. */
  exit(status: number): void;
}

/** Accepts a session request (returns the session or channel), or refuses it. */
export type Accept<T> = () => T;
/** Refuses a request. */
export type Reject = () => void;

/** Terminal size and type from a pty-req. */
export interface PtyInfo {
  /** Columns. */
  cols: number;
  /** Rows. */
  rows: number;
  /** `$TERM` on the client. */
  term: string;
}

/** A session channel before it starts: its requests arrive as events. */
export interface Session {
  /** A pty request (accept is absent when the client wants no reply). */
  on(
    event: "pty",
    listener: (accept: Accept<void> | undefined, reject: Reject | undefined, info: PtyInfo) => void,
  ): this;
  /** A window-change request. */
  on(
    event: "window-change",
    listener: (accept: Accept<void> | undefined, reject: Reject | undefined, info: PtyInfo) => void,
  ): this;
  /** An environment variable. */
  on(
    event: "env",
    listener: (
      accept: Accept<void> | undefined,
      reject: Reject | undefined,
      info: { key: string; val: string },
    ) => void,
  ): this;
  /** A shell: the chat. */
  on(event: "shell", listener: (accept: Accept<Channel>, reject: Reject) => void): this;
  /** A command. */
  on(
    event: "exec",
    listener: (accept: Accept<Channel>, reject: Reject, info: { command: string }) => void,
  ): this;
  /** A subsystem other than sftp. */
  on(
    event: "subsystem",
    listener: (accept: Accept<Channel>, reject: Reject, info: { name: string }) => void,
  ): this;
  /** The sftp subsystem (its channel is ssh2's SFTP stream; only stderr-less refusal fits). */
  on(event: "sftp", listener: (accept: Accept<unknown>, reject: Reject) => void): this;
  /** X11 forwarding and agent forwarding requests. */
  on(
    event: "x11" | "auth-agent",
    listener: (accept: Accept<void> | undefined, reject: Reject | undefined) => void,
  ): this;
  /** A signal request. */
  on(
    event: "signal",
    listener: (
      accept: Accept<void> | undefined,
      reject: Reject | undefined,
      info: { name: string },
    ) => void,
  ): this;
  /** The session channel closed. */
  on(event: "close", listener: () => void): this;
}

/** Where the client is and what it announced. */
export interface ConnectionInfo {
  /** Its IP address. */
  ip: string;
  /** Its port. */
  port: number;
}

/** One SSH client connection, from the server's side. */
export interface SshConnection {
  /** An authentication request. */
  on(event: "authentication", listener: (context: AuthContext) => void): this;
  /** Authentication succeeded. */
  on(event: "ready", listener: () => void): this;
  /** A session channel is asked for. */
  on(event: "session", listener: (accept: Accept<Session>, reject: Reject) => void): this;
  /** A global request (tcpip-forward: `ssh -R`). */
  on(
    event: "request",
    listener: (
      accept: ((port?: number) => void) | undefined,
      reject: Reject | undefined,
      name: string,
    ) => void,
  ): this;
  /** Anything that ends the connection. */
  on(event: "error", listener: (error: Error) => void): this;
  /** The connection closed. */
  on(event: "close" | "end", listener: () => void): this;
  /** Sends a disconnect and ends the socket. */
  end(): this;
}

/** Settings for {@linkcode newSshServer}. */
export interface SshServerOptions {
  /** The host key, parsed. */
  hostKey: ParsedKey;
  /** Shown by the client before authentication. */
  banner?: string;
  /** Keepalive probe interval, ms. */
  keepaliveInterval: number;
  /** Unanswered probes before the client is dropped. */
  keepaliveCountMax: number;
}

/** What injecting a socket into an `ssh2` server needs. */
export interface SshServer {
  /** Runs the SSH protocol over `socket` (a node stream with the remote* fields set). */
  injectSocket(socket: Duplex): void;
}

interface Ssh2Library {
  Server: new (
    config: {
      hostKeys: { key: ParsedKey }[];
      banner?: string;
      keepaliveInterval: number;
      keepaliveCountMax: number;
      algorithms: { cipher: string[] };
    },
    onConnection: (connection: SshConnection, info: ConnectionInfo) => void,
  ) => SshServer;
  utils: {
    parseKey(data: string | Uint8Array): ParsedKey | ParsedKey[] | Error;
  };
}

const library = ssh2 as unknown as Ssh2Library;

/**
 * The ciphers offered: AES-GCM only (every OpenSSH since 6.2 has it). Without `ssh2`'s optional
 * native binding, its ChaCha20-Poly1305 makes three `node:crypto` ciphers per packet and never
 * finishes them; under Deno each holds a resource until it is collected, so a busy session would
 * pile them up. AES-GCM finishes its cipher on every packet, and CPUs accelerate AES.
 */
export const CIPHERS: readonly string[] = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"];

/**
 * A server for one connection. `ssh2`'s server is a listener of its own; here it never listens,
 * and is handed the socket the shared listener accepted and the door let in.
 */
export function newSshServer(
  options: SshServerOptions,
  onConnection: (connection: SshConnection, info: ConnectionInfo) => void,
): SshServer {
  return new library.Server({
    hostKeys: [{ key: options.hostKey }],
    ...(options.banner === undefined ? {} : { banner: options.banner }),
    keepaliveInterval: options.keepaliveInterval,
    keepaliveCountMax: options.keepaliveCountMax,
    algorithms: { cipher: [...CIPHERS] },
  }, onConnection);
}

/**
 * Finishes the `node:crypto` decipher of a packet an `ssh2` connection (server side) or client
 * was part-way through reading when its socket closed. `ssh2`'s AES-GCM decipher makes one per
 * packet and finishes it only once the packet's tag has arrived, and its `free()` does nothing,
 * so a connection cut mid-packet left one open; under Deno that holds a resource until it is
 * collected. Finishing it fails authentication, as it must: it only releases it.
 */
export function finishPartialPacket(connection: unknown): void {
  const protocol = (connection as { _protocol?: { _decipher?: PartialDecipher } } | null)
    ?._protocol;
  const decipher = protocol?._decipher;
  const instance = decipher?._decipherInstance;
  if (decipher === undefined || instance === undefined || instance === null) return;
  decipher._decipherInstance = null;
  try {
    instance.setAuthTag(new Uint8Array(16));
    instance.final();
  } catch {
    // Unauthenticated, or finished already with its packet: either way it is released now.
  }
}

/** The part of `ssh2`'s AES-GCM decipher {@linkcode finishPartialPacket} reaches into. */
interface PartialDecipher {
  _decipherInstance?: { setAuthTag(tag: Uint8Array): void; final(): unknown } | null;
}

/** Parses an OpenSSH key (private key text, or a public key blob); an Error says why not. */
export function parseKey(data: string | Uint8Array): ParsedKey | Error {
  const parsed = library.utils.parseKey(data);
  return Array.isArray(parsed) ? parsed[0] : parsed;
}
