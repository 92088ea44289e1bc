/**
 * Test helpers for the SSH front end: servers with SSH on port 0, keys made by `ssh-keygen`, and
 * the real OpenSSH client run as a subprocess, every run bounded in time.
 *
 * @module
 */

import type { ChatServer, ServerOptions } from "../../server.ts";
import { generateHostKeyText } from "../../transport/ssh/openssh_key.ts";
import { listenSsh } from "../../transport/ssh/front_end.ts";
import { finishPartialPacket } from "../../transport/ssh/ssh2.ts";
import { testServer, within } from "./wire.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** How long one OpenSSH run may take in a test before it is killed and the test fails. */
export const SSH_RUN_MS = 20_000;

/** A server with the SSH front end on 127.0.0.1, port 0, and a fresh host key. */
export function sshServer(options: ServerOptions = {}): ChatServer & { sshPort: number } {
  const server = testServer({
    ...options,
    ssh: { host: "127.0.0.1", port: 0, hostKey: generateHostKeyText(), listen: listenSsh },
  });
  const ssh = server.addresses.ssh;
  if (ssh === undefined) throw new Error("the server has no SSH listener");
  return Object.assign(server, { sshPort: ssh.port });
}

/** A key pair made by ssh-keygen: the private key file and its fingerprint. */
export interface TestKey {
  /** The private key file (its public half is `${path}.pub`). */
  path: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/** Runs a program to completion (bounded); returns its code and output. */
export async function run(
  program: string,
  args: string[],
  options: { stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      ...(options.env === undefined ? {} : { env: options.env }),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${program} is needed for this test: apt-get install -y openssh-client`);
    }
    throw error;
  }
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(options.stdin)).catch(() => {});
    await writer.close().catch(() => {});
  }
  const ms = options.timeoutMs ?? SSH_RUN_MS;
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, ms);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Makes an ed25519 key with ssh-keygen in `dir`. */
export async function makeKey(dir: string, name: string): Promise<TestKey> {
  const path = `${dir}/${name}`;
  const made = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path]);
  if (made.code !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
  return { path, fingerprint: await fingerprintOf(path) };
}

/** `ssh-keygen -lf FILE`'s fingerprint of a key file. */
export async function fingerprintOf(path: string): Promise<string> {
  const listed = await run("ssh-keygen", ["-lf", path]);
  const match = /SHA256:[A-Za-z0-9+/]+/.exec(listed.stdout);
  if (match === null) throw new Error(`ssh-keygen -lf ${path}: ${listed.stdout}${listed.stderr}`);
  return match[0];
}

/** Options every test run of ssh gets: no user config, no agent, no known_hosts, no questions. */
export function sshOptions(port: number, keys: TestKey[] = []): string[] {
  return [
    "-F",
    "/dev/null",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "IdentityAgent=none",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "ConnectTimeout=5",
    ...keys.flatMap((key) => ["-i", key.path]),
    "-p",
    String(port),
  ];
}

/** Runs `ssh [args] nick@127.0.0.1 [command]` to completion. */
export function ssh(
  port: number,
  nick: string,
  options: {
    keys?: TestKey[];
    args?: string[];
    command?: string[];
    stdin?: string;
    env?: Record<string, string>;
  } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  // ssh keeps the first value it is given for an option: the test's own come first.
  return run("ssh", [
    ...(options.args ?? []),
    ...sshOptions(port, options.keys),
    `${nick}@127.0.0.1`,
    ...(options.command ?? []),
  ], { stdin: options.stdin, env: options.env });
}

/** A running ssh whose stdin stays open: lines written one by one, output read as it comes. */
export class SshProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #out = "";
  #err = "";
  readonly #reading: Promise<void>;

  /** Starts `ssh -T [options] nick@127.0.0.1` with piped stdin. */
  constructor(port: number, nick: string, keys: TestKey[], args: string[] = ["-T"]) {
    this.#child = new Deno.Command("ssh", {
      args: [...args, ...sshOptions(port, keys), `${nick}@127.0.0.1`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const pump = async (stream: ReadableStream<Uint8Array>, into: (text: string) => void) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) into(chunk);
    };
    this.#reading = Promise.all([
      pump(this.#child.stdout, (text) => (this.#out += text)),
      pump(this.#child.stderr, (text) => (this.#err += text)),
    ]).then(() => {});
  }

  /** Everything printed on stdout so far. */
  get stdout(): string {
    return this.#out;
  }

  /** Everything printed on stderr so far. */
  get stderr(): string {
    return this.#err;
  }

  /** Writes one line to ssh's stdin. */
  async line(text: string): Promise<void> {
    await this.#writer.write(encoder.encode(`${text}\n`));
  }

  /** Waits until stdout matches. */
  async waitFor(pattern: RegExp, ms = 10_000): Promise<void> {
    await within(
      (async () => {
        while (!pattern.test(this.#out)) await new Promise((resolve) => setTimeout(resolve, 20));
      })(),
      `${pattern} on ssh's stdout (it has: ${JSON.stringify(this.#out)})`,
      ms,
    ).catch((error) => {
      throw new Error(`${error.message}; stdout: ${this.#out}; stderr: ${this.#err}`);
    });
  }

  /** Closes stdin (EOF) and waits for the exit status, killing ssh past `ms`. */
  async end(ms = SSH_RUN_MS): Promise<number> {
    await this.#writer.close().catch(() => {});
    return await this.#finish(ms);
  }

  /** Kills ssh and waits for it. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.#writer.close().catch(() => {});
    await this.#finish(SSH_RUN_MS);
  }

  async #finish(ms: number): Promise<number> {
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, ms);
    try {
      const status = await this.#child.status;
      await this.#reading;
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Makes ssh answer keyboard-interactive prompts through a script instead of a terminal: a prompt
 * containing a key of `answers` gets its value, any other an empty line. `asked()` lists the
 * prompts it was shown.
 */
export async function askpass(
  dir: string,
  answers: Record<string, string>,
): Promise<{ env: Record<string, string>; asked(): Promise<string[]> }> {
  const path = `${dir}/askpass-${crypto.randomUUID().slice(0, 8)}`;
  const log = `${path}.log`;
  const cases = Object.entries(answers)
    .map(([prompt, answer]) => `  *'${prompt}'*) printf '%s\\n' '${answer}' ;;`)
    .join("\n");
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nprintf '%s\\n' "$1" >> '${log}'\ncase "$1" in\n${cases}\n  *) echo ;;\nesac\n`,
    { mode: 0o700 },
  );
  return {
    env: { SSH_ASKPASS: path, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" },
    asked: async () =>
      (await Deno.readTextFile(log).catch(() => "")).split("\n").filter((line) => line !== ""),
  };
}

/** Options for a client without keys, authenticating by keyboard-interactive (three tries). */
export const KEYBOARD_INTERACTIVE: readonly string[] = [
  "-o",
  "BatchMode=no",
  "-o",
  "PubkeyAuthentication=no",
  "-o",
  "PreferredAuthentications=keyboard-interactive",
];

/** Options for a client without keys, authenticating by keyboard-interactive only, once. */
export const KEYBOARD_ONLY: readonly string[] = [
  ...KEYBOARD_INTERACTIVE,
  "-o",
  "NumberOfPasswordPrompts=1",
];

/** The parts of `ssh2`'s client a test drives (the package has no type declarations). */
export interface Ssh2Channel {
  write(data: string | Uint8Array): boolean;
  on(event: "data", listener: (data: Uint8Array) => void): this;
  on(event: "close", listener: () => void): this;
  stderr: { on(event: "data", listener: (data: Uint8Array) => void): unknown };
  /** Sends a window-change: rows, columns, height and width in pixels. */
  setWindow(rows: number, columns: number, height: number, width: number): void;
  end(): void;
}

/** A connected `ssh2` client. */
export interface Ssh2Client {
  on(event: "close", listener: () => void): this;
  shell(
    window: { term: string; cols: number; rows: number },
    callback: (error: Error | undefined, channel: Ssh2Channel) => void,
  ): void;
  end(): void;
}

/**
 * Connects `ssh2`'s own client (which, unlike OpenSSH, can be made to misbehave) as `nick`,
 * answering keyboard-interactive with empty lines: a guest.
 */
export async function ssh2Client(port: number, nick: string): Promise<Ssh2Client> {
  const { Client } = (await import("ssh2")).default as unknown as {
    Client: new () => Ssh2Client & {
      on(event: string, listener: (...args: never[]) => void): unknown;
      connect(options: Record<string, unknown>): void;
    };
  };
  const client = new Client();
  // A connection the server cuts mid-packet leaves ssh2's decipher open: release it.
  client.on("close", () => finishPartialPacket(client));
  await within(
    new Promise<void>((resolve, reject) => {
      client.on("ready", () => resolve());
      client.on("error", (error: Error) => reject(error));
      client.on(
        "keyboard-interactive",
        (_n: string, _i: string, _l: string, prompts: unknown[], finish: (a: string[]) => void) =>
          finish(prompts.map(() => "")),
      );
      client.connect({
        host: "127.0.0.1",
        port,
        username: nick,
        tryKeyboard: true,
        readyTimeout: 10_000,
        keepaliveInterval: 0,
      });
    }),
    `ssh2 client ${nick} to log in`,
    SSH_RUN_MS,
  );
  return client;
}

/** Opens a shell with a pty of `columns` x `rows` on an `ssh2` client; collects its output. */
export async function ssh2Shell(
  client: Ssh2Client,
  columns = 80,
  rows = 24,
): Promise<{ channel: Ssh2Channel; output(): string; closed: Promise<void> }> {
  const channel = await within(
    new Promise<Ssh2Channel>((resolve, reject) =>
      client.shell(
        { term: "xterm", cols: columns, rows },
        (error, channel) => error instanceof Error ? reject(error) : resolve(channel),
      )
    ),
    "a shell",
  );
  let out = "";
  const decoder = new TextDecoder();
  channel.on("data", (data) => (out += decoder.decode(data, { stream: true })));
  const closed = new Promise<void>((resolve) => channel.on("close", () => resolve()));
  return { channel, output: () => out, closed };
}
