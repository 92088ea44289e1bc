/**
 * Test helpers for driving a program in a real terminal: a private tmux server runs it in one
 * session named `chat`, send-keys types, and capture-pane shows what a person would see.
 *
 * @module
 */

const decoder = new TextDecoder();

/** How long {@linkcode Tmux.waitFor} polls the screen before it gives up. */
const PANE_WAIT_MS = 20_000;

/** How a missing tmux is reported: the tests need the real program. */
const NO_TMUX = "tmux is needed for this test: apt-get install -y tmux";

/** Throws a clear error when tmux is not installed. */
export async function requireTmux(): Promise<void> {
  await new Deno.Command("tmux", { args: ["-V"] }).output().catch((error) => {
    throw error instanceof Deno.errors.NotFound ? new Error(NO_TMUX) : error;
  });
}

/** Quotes one word for `sh`. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** How {@linkcode Tmux.open} sizes and runs the pane. */
export interface PaneOptions {
  /** The pane's width. */
  columns: number;
  /** The pane's height. @default 30 */
  rows?: number;
  /** The working directory of the command; tmux's own when absent. */
  cwd?: string;
  /**
   * Keep the pane when its command exits, so the test can read its last screen. @default false
   */
  keepOnExit?: boolean;
}

/** A private tmux server (its own socket), so tests never touch anyone's sessions. */
export class Tmux {
  /** The tmux server's socket name (`tmux -L`). */
  readonly socket: string;
  /** Where the socket file is, once {@linkcode Tmux.open} has started the server. */
  #socketPath: string | null = null;

  /** `prefix` names the socket, so a leftover server shows which test started it. */
  constructor(prefix = "sockchat-test") {
    this.socket = `${prefix}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  }

  /** Runs one tmux command; throws with its stderr when it fails. */
  async run(...args: string[]): Promise<string> {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("tmux", {
        args: ["-L", this.socket, "-f", "/dev/null", ...args],
      })
        .output();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new Error(NO_TMUX);
      throw error;
    }
    if (!out.success) {
      throw new Error(`tmux ${args.join(" ")}: ${decoder.decode(out.stderr).trim()}`);
    }
    return decoder.decode(out.stdout);
  }

  /** Starts the session `chat`, whose one pane runs `command` (a line for `sh`). */
  async open(command: string, options: PaneOptions): Promise<void> {
    const { columns, rows = 30, cwd, keepOnExit = false } = options;
    await this.run(
      "new-session",
      "-d",
      "-s",
      "chat",
      "-x",
      String(columns),
      "-y",
      String(rows),
      ...(cwd === undefined ? [] : ["-c", cwd]),
      command,
      ...(keepOnExit ? [";", "set-option", "-g", "remain-on-exit", "on"] : []),
    );
    const path = await this.run("display-message", "-p", "#{socket_path}").catch(() => "");
    this.#socketPath = path.trim() || null;
  }

  /** Types `text` into the pane as it is (no key names). */
  async type(text: string): Promise<void> {
    await this.run("send-keys", "-t", "chat", "-l", text);
  }

  /** Presses one key, by tmux's name for it (`Enter`, `C-z`, `Tab`). */
  async press(key: string): Promise<void> {
    await this.run("send-keys", "-t", "chat", key);
  }

  /** Types `text` and Enter into the pane. */
  async typeLine(text: string): Promise<void> {
    await this.type(text);
    await this.press("Enter");
  }

  /** The visible screen, wrapped lines joined, trailing blank lines dropped. */
  async screen(): Promise<string[]> {
    const text = await this.run("capture-pane", "-p", "-J", "-t", "chat");
    const lines = text.split("\n").map((l) => l.trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
  }

  /** Polls the screen until `check` passes; fails with the last screen after a deadline. */
  async waitFor(what: string, check: (lines: string[]) => boolean): Promise<string[]> {
    const deadline = Date.now() + PANE_WAIT_MS;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      lines = await this.screen();
      if (check(lines)) return lines;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${what}; the screen was:\n${lines.join("\n")}`);
  }

  /** Stops the tmux server and whatever runs in it, and removes its socket; never throws. */
  async kill(): Promise<void> {
    await this.run("kill-server").catch(() => {});
    // tmux 3.3 leaves the socket file behind when its server stops: one per test, forever.
    if (this.#socketPath !== null) await Deno.remove(this.#socketPath).catch(() => {});
  }
}
