/**
 * `sockchat join`: connects, logs in, then sends what the user types (or what is piped in) and
 * prints what arrives, until the user leaves or the connection ends.
 *
 * @module
 */

import { ChatClient, ClientError, describeError } from "./client/chat_client.ts";
import { MultilineBuffer } from "./client/multiline.ts";
import { TerminalUi } from "./client/terminal_ui.ts";
import { PipedUi } from "./client/piped_ui.ts";
import type { ServerFrame } from "./protocol/frames.ts";
import { renderPlain } from "./protocol/plain_text.ts";
import { sanitizeText } from "./protocol/sanitize.ts";
import type { JoinArgs } from "./cli/join_args.ts";

/** Exit codes of `sockchat join`. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** What the client needs from a front end (terminal or pipe). */
export interface ClientUi {
  /** Prints one event (possibly several lines) without disturbing what the user is typing. */
  print(text: string): void;
  /** Prints a failure on stderr. */
  fail(text: string): void;
  /** Lines the user enters, until they leave (EOF, Ctrl-D, Ctrl-C). */
  lines(): AsyncIterable<string>;
  /** Restores the terminal. */
  close(): void;
}

/** What the client shows for a frame; null for nothing. */
export function renderFrame(frame: ServerFrame): string | null {
  const text = renderPlain(frame);
  return text === null ? null : sanitizeText(text);
}

/** Runs a session; resolves to the process exit code. */
export async function runJoin(args: JoinArgs): Promise<number> {
  let client: ChatClient;
  try {
    client = await ChatClient.connect(args);
  } catch (error) {
    if (error instanceof ClientError) {
      console.error(`sockchat: ${error.message}`);
      return EXIT.failure;
    }
    throw error;
  }
  const ui: ClientUi = Deno.stdin.isTerminal()
    ? new TerminalUi(client.welcome.nick)
    : new PipedUi();
  const target = `${args.host}:${args.port}`;
  let quitting = false;
  let failed: string | null = null;

  const intro = renderFrame(client.welcome);
  if (intro !== null) ui.print(intro);

  const incoming = (async () => {
    try {
      for await (const frame of client.frames()) {
        if (frame.type === "ack") {
          const sent = client.settle(frame.ref);
          if (sent !== undefined && ui instanceof TerminalUi) {
            ui.print(sanitizeText(`<${client.welcome.nick}> ${sent.text}`));
          }
          continue;
        }
        if (frame.type === "error" && frame.fatal) failed = describeError(frame);
        if (frame.type === "bye") failed = frame.message;
        const text = renderFrame(frame);
        if (text !== null) ui.print(text);
      }
    } catch {
      // reset: treated like EOF below
    }
    if (!quitting && failed === null) failed = `lost the connection to ${target}`;
  })();

  const outgoing = (async () => {
    const multiline = new MultilineBuffer();
    for await (const line of ui.lines()) {
      if (!multiline.continuing && line.trim() === "/quit") break;
      const text = multiline.push(line);
      if (text !== null && text.trim() !== "") client.send(text);
    }
    const rest = multiline.flush();
    if (rest !== null && rest.trim() !== "") client.send(rest);
  })();

  // Whichever ends first: the user leaves, or the connection does.
  const ended = await Promise.race([
    outgoing.then(() => "user" as const),
    incoming.then(() => "server" as const),
  ]);
  if (ended === "user") {
    await Promise.race([client.whenSettled(), incoming]);
    quitting = true;
    await client.quit();
    await incoming;
  }
  client.close();
  ui.close();
  if (failed !== null) {
    ui.fail(`sockchat: ${failed}`);
    return EXIT.failure;
  }
  return EXIT.ok;
}
