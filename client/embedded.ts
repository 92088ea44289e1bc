/**
 * The chat the server hosts for an SSH user: `sockchat join`'s own experience, run over an SSH
 * session channel instead of the process's terminal, and over an in-process connection to the
 * server instead of a socket. With a pty it is the terminal client (the same
 * {@linkcode TerminalUi}, renderer, completion, history, paste and colours) drawing on the
 * channel; without one it is piped `join` (lines in, plain lines out). A refused nick is asked
 * for again in the terminal, a bounded number of times.
 *
 * @module
 */

import * as readline from "node:readline";
import { PassThrough } from "node:stream";
import type { Duplex } from "node:stream";
import type { ErrorCode, IdentityKind } from "../protocol/frames.ts";
import type { HostedChat, HostedChatOptions } from "../transport/ssh/session.ts";
import { ChannelOutput, ChannelTerminal, crlf } from "./channel_terminal.ts";
import { ChatClient, ClientError } from "./chat_client.ts";
import { clean } from "./render.ts";
import { wrap } from "./wrap.ts";
import { chatParts, EXIT, runChat } from "./run_chat.ts";
import { whenAborted } from "./timing.ts";

export type { ChatConn } from "./chat_client.ts";
export { MAX_CHANNEL_OUTPUT_BYTES } from "./channel_terminal.ts";

/** Nicks a pty user may try (the SSH user name first) before the session ends. */
export const MAX_NICK_TRIES = 5;

/**
 * Longest line an SSH user's terminal keeps while it is edited. The line editor measures the
 * whole line at every key, and here the server pays for it: at most about a millisecond a key
 * at this length, where the local client's `MAX_INPUT_CHARS` would allow hundreds. Longer
 * messages still go out as pastes or continued lines.
 */
export const EMBEDDED_MAX_LINE_CHARS = 4096;

/** Longest answer kept at the `Nickname: ` prompt; further keys are ignored until Enter. */
export const NICK_PROMPT_MAX_CHARS = 256;

/** The size assumed when the pty's is given as 0 (unknown). */
const DEFAULT_COLUMNS = 80;
const DEFAULT_ROWS = 24;

/** How messages name the server the chat runs in. */
const SERVER_NAME = "the server";

/** Login refusals a person can fix by choosing another nick. */
const NICK_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "nick_taken",
  "nick_invalid",
  "nick_registered",
  "bad_account_password",
]);

/**
 * What to do about a nick registered to someone else, added to the server's refusal: an SSH
 * user proves a password account at keyboard-interactive authentication, a key account only
 * with its key.
 *
 * @example
 * ```ts
 * registeredHint("key"); // "only its owner's key can use it: ..."
 * ```
 */
export function registeredHint(need: IdentityKind | undefined): string {
  switch (need) {
    case "password":
      return "if it is yours, reconnect with ssh -o PreferredAuthentications=keyboard-interactive " +
        "and give its password; otherwise choose another nick";
    case "key":
      return "only its owner's key can use it: reconnect with that key (ssh -i), or choose " +
        "another nick";
    default:
      return "if it is yours, reconnect with its key or password; otherwise choose another nick";
  }
}

/**
 * What {@linkcode startEmbeddedChat} runs over: the SSH session's contract for the chat it hosts
 * (`transport/ssh/session.ts`), and a cap of its own.
 */
export interface EmbeddedChatOptions extends HostedChatOptions {
  /**
   * Bytes that may wait in the channel (or its stderr) before the session ends as too slow.
   * @default MAX_CHANNEL_OUTPUT_BYTES
   */
  maxOutputBytes?: number;
}

/** A running embedded chat: what the SSH session drives. */
export type EmbeddedChat = HostedChat;

/**
 * Starts a chat on an SSH session channel. `done` never rejects: a failure is said on `stderr`
 * and gives 1. The channel itself stays open; closing it (with the exit status) is the caller's.
 *
 * @example
 * ```ts ignore
 * const chat = startEmbeddedChat({ dial, nick: "alice", channel, stderr: channel.stderr, pty });
 * channel.on("window-change", ({ cols, rows }) => chat.resize(cols, rows));
 * channel.exit(await chat.done);
 * ```
 */
export function startEmbeddedChat(options: EmbeddedChatOptions): EmbeddedChat {
  const stop = new AbortController();
  let terminal: ChannelTerminal | null = null;
  const end = () => {
    stop.abort();
    terminal?.hangUp();
  };
  let tooSlow = false;
  const onTooSlow = () => {
    tooSlow = true;
    end();
  };
  const output = new ChannelOutput(options.channel, onTooSlow, options.maxOutputBytes);
  const errors = new ChannelOutput(options.stderr, onTooSlow, options.maxOutputBytes);
  const pty = options.pty;
  terminal = pty === null ? null : new ChannelTerminal({
    channel: options.channel,
    output,
    errors,
    // Some clients send 0 for a size they do not know.
    columns: pty.columns || DEFAULT_COLUMNS,
    rows: pty.rows || DEFAULT_ROWS,
  });
  const newline = pty === null ? "\n" : "\r\n";
  const fail = (line: string) => errors.write(clean(line) + newline);
  const run = terminal === null
    ? runPiped(options, output, fail, stop.signal)
    : runPty(options, terminal, fail, stop.signal);
  const done = run.catch((error) => {
    fail(`sockchat: the chat failed: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failure;
  }).then((code) => {
    if (!tooSlow) return code;
    // Said on stderr, which may still be read when the screen is not.
    fail("sockchat: closed: your side stopped reading what the chat sends");
    return EXIT.failure;
  });
  return {
    resize: (columns, rows) => terminal?.resize(columns || DEFAULT_COLUMNS, rows || DEFAULT_ROWS),
    done,
    close: end,
  };
}

/** Logs in as `nick` over a new connection from `dial`. */
function login(options: EmbeddedChatOptions, nick: string): Promise<ChatClient> {
  return ChatClient.connect({
    host: SERVER_NAME,
    port: 0,
    dial: options.dial,
    nick,
    password: options.password,
    identity: {
      // Given at authentication for the SSH user name, not for a nick chosen afterwards.
      accountPassword: nick === options.nick ? options.accountPassword : undefined,
      hint: registeredHint,
    },
  });
}

/** Logs in; null (and the client closed once it comes) when the chat is ended meanwhile. */
async function loginUnlessStopped(
  options: EmbeddedChatOptions,
  nick: string,
  signal: AbortSignal,
): Promise<ChatClient | null> {
  const trying = login(options, nick);
  const client = await Promise.race([trying, whenAborted(signal).then(() => null)]);
  if (client !== null && !signal.aborted) {
    options.loggedIn?.();
    return client;
  }
  trying.then((c) => c.close(), () => {});
  return null;
}

/** Without a pty: like piped `join`; a refused login is said on stderr and gives 1. */
async function runPiped(
  options: EmbeddedChatOptions,
  output: ChannelOutput,
  fail: (line: string) => void,
  signal: AbortSignal,
): Promise<number> {
  let client: ChatClient | null;
  try {
    client = await loginUnlessStopped(options, options.nick, signal);
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    fail(`sockchat: ${error.message}`);
    return EXIT.failure;
  }
  if (client === null) return EXIT.failure;
  const parts = chatParts(client.welcome.nick, {
    piped: {
      input: streamOf(options.channel),
      output: (text) => output.write(text),
      error: fail,
      interrupt: false,
      signal,
    },
    color: false,
    env: () => undefined,
    timestamps: "none",
    bell: false,
    json: false,
    target: SERVER_NAME,
  });
  return await runChat({ client, parts, signal });
}

/** With a pty: the terminal client, after asking again for a nick the server refused. */
async function runPty(
  options: EmbeddedChatOptions,
  terminal: ChannelTerminal,
  fail: (line: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const env = options.pty?.env ?? {};
  let nick = options.nick;
  let client: ChatClient | null = null;
  for (let tries = 1; client === null; tries++) {
    try {
      client = await loginUnlessStopped(options, nick, signal);
      if (client === null) return EXIT.failure;
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      if (signal.aborted) return EXIT.failure;
      if (error.code === undefined || !NICK_REFUSALS.has(error.code)) {
        fail(`sockchat: ${error.message}`);
        return EXIT.failure;
      }
      const refusal = `! ${clean(error.message).replace(/\.?$/, ".")}`;
      terminal.writeNow(crlf(wrap(refusal, { columns: terminal.columns(), indent: 2 }) + "\n"));
      if (tries >= MAX_NICK_TRIES) {
        fail(`sockchat: ${MAX_NICK_TRIES} nicks were refused; reconnect to try again`);
        return EXIT.failure;
      }
      const next = await askNick(terminal);
      // Ctrl-C, Ctrl-D or a closed channel at the prompt: the user left before chatting.
      if (next === null) return signal.aborted ? EXIT.failure : EXIT.ok;
      nick = next;
    }
  }
  const parts = chatParts(client.welcome.nick, {
    terminal,
    maxLineChars: EMBEDDED_MAX_LINE_CHARS,
    // https://no-color.org: set and not empty.
    color: (env.NO_COLOR ?? "") === "",
    env: (name) => env[name],
    timestamps: "short",
    bell: true,
    json: false,
    target: SERVER_NAME,
  });
  return await runChat({ client, parts, signal });
}

/** The readline internals the prompt's cap reads (present in Node and in Deno's port). */
interface ReadlineLine {
  line: string;
}

/**
 * Asks `Nickname: ` on the terminal; resolves to the answer, or null when the user leaves
 * (Ctrl-C, Ctrl-D) or the channel goes away.
 */
function askNick(terminal: ChannelTerminal): Promise<string | null> {
  return new Promise((resolve) => {
    const keys = new PassThrough();
    const decoder = new TextDecoder();
    const rl = readline.createInterface({
      input: keys,
      output: terminal.screen,
      terminal: true,
      historySize: 0,
    });
    let settled = false;
    const stopReading = () => {
      terminal.keys.off("data", onData);
      // Removing the listener leaves the channel flowing: keys typed meanwhile would be lost.
      terminal.keys.pause();
    };
    const finish = (answer: string | null) => {
      if (settled) return;
      settled = true;
      stopReading();
      unhang();
      rl.close();
      keys.end();
      resolve(answer);
    };
    const onData = (chunk: Uint8Array | string) => {
      let text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      const enter = text.search(/[\r\n]/);
      if (enter !== -1) {
        // What was typed after Enter is the chat's: held in the channel until the chat reads it.
        const rest = text.slice(enter + 1);
        text = text.slice(0, enter + 1);
        stopReading();
        if (rest !== "") terminal.keys.unshift(new TextEncoder().encode(rest));
      }
      const typed = (rl as unknown as ReadlineLine).line.length;
      // A nick is short: a flood of keys is not kept, but Enter, Ctrl-C and Ctrl-D still work.
      // deno-lint-ignore no-control-regex -- those keys are control characters
      if (typed + text.length > NICK_PROMPT_MAX_CHARS && !/[\r\n\x03\x04]/.test(text)) return;
      keys.write(text);
    };
    const unhang = terminal.onHangup(() => finish(null));
    terminal.keys.on("data", onData);
    // An earlier prompt paused the channel; a new listener alone does not make it flow again.
    terminal.keys.resume();
    rl.on("SIGINT", () => finish(null));
    rl.on("close", () => finish(null));
    rl.question("Nickname: ", (answer) => finish(answer.trim()));
  });
}

/** The channel's bytes as a stream, read only as fast as the chat takes lines. */
function streamOf(channel: Duplex): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const settle = (how: () => void) => {
        try {
          how();
        } catch {
          // Already closed or cancelled.
        }
      };
      channel.on("data", (chunk: Uint8Array | string) => {
        settle(() =>
          controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk.slice())
        );
        if ((controller.desiredSize ?? 0) <= 0) channel.pause();
      });
      channel.once("end", () => settle(() => controller.close()));
      channel.once("close", () => settle(() => controller.close()));
      channel.once("error", (error: Error) => settle(() => controller.error(error)));
    },
    pull() {
      channel.resume();
    },
    cancel() {
      channel.pause();
    },
  }, { highWaterMark: 4 });
}
