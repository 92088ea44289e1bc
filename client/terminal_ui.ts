/**
 * The front end for `join` in a terminal. node:readline edits the input line (history, Tab
 * completion, the usual keys). Everything else is drawn around it:
 *
 * - The input area (the prompt, lines held by a trailing `\` or a paste, and the line being
 *   edited) is always last on screen. To print, the area is erased from its first row, the
 *   event written, and the area redrawn, so what the user is typing is never trampled, however
 *   many rows it wraps onto and however wide its characters are.
 * - Input passes through a {@linkcode PasteFilter} before readline sees it, so a bracketed
 *   paste of several lines becomes one message instead of one message per line.
 * - On resize the terminal rewraps the area; readline is told where its first row now is.
 *
 * The terminal is injected ({@linkcode TerminalPort}): the process's own for `sockchat join`,
 * or one at the end of an SSH channel for the chat the server hosts.
 *
 * @module
 */

import * as readline from "node:readline";
import { PassThrough } from "node:stream";
import {
  BRACKETED_PASTE_OFF,
  BRACKETED_PASTE_ON,
  normalizePaste,
  PasteFilter,
} from "./bracketed_paste.ts";
import type { Palette } from "./colors.ts";
import { commonPrefix, type Completion } from "./completion.ts";
import { MAX_INPUT_CHARS } from "./limits.ts";
import { MultilineBuffer } from "./multiline.ts";
import { promptText } from "./prompt.ts";
import { clean } from "./render.ts";
import { localColumns, localTerminal, type TerminalPort } from "./terminal_port.ts";
import type { ClientUi, Status } from "./ui.ts";
import { wrap } from "./wrap.ts";

/** Commands whose arguments hold a password: never kept in the input history. */
const SECRET_LINE = /^\s*\/(?:identify|register|oper)\s+\S/i;

/** Input lines remembered for up/down recall. */
export const HISTORY_SIZE = 500;
/**
 * Characters the recalled lines may hold together; the oldest go first beyond it. Without it
 * 500 lines near {@linkcode MAX_INPUT_CHARS} would hold a gigabyte, which matters where the
 * client runs inside the server (SSH users).
 */
export const HISTORY_MAX_CHARS = 256 * 1024;
/** How long a lone ESC is held back in case a paste marker follows. */
const ESCAPE_HOLD_MS = 30;
/**
 * Stands in for a paste in the key stream readline reads, so the paste is applied after the
 * keys typed before it. readline's key parser takes it as one unknown key and ignores it.
 */
const PASTE_KEY = "\x1b[99~";
/** Stands in for a run of typed text in the key stream, inserted at once (see `#feed`). */
const TYPED_KEY = "\x1b[98~";
/** Keys as a terminal sends them: an escape sequence, a control character, or a run of text. */
const KEY_TOKENS =
  // deno-lint-ignore no-control-regex -- telling control keys from text is the point
  /\x1b(?:\[[0-9;?]*[~A-Za-z]|O[A-Za-z]|[\s\S])?|[\x00-\x1f\x7f]|[^\x00-\x1f\x7f\x1b]+/g;
/** The prompt's own colours. */
// deno-lint-ignore no-control-regex -- matching our own escape sequences is the point
const SGR_ALL = /\x1b\[[0-9;]*m/g;
/** Text whose width is its length. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Widths of characters readline measured once, by the character. */
const widths = new Map<string, number>();
/** Characters whose width is remembered (a line can hold any, but a few scripts are typical). */
const MAX_REMEMBERED_WIDTHS = 4096;

/** The readline internals the measurement reads (present in Node and in Deno's port). */
interface Measured {
  columns: number;
  tabSize?: number;
}

/**
 * Makes readline's measurement of the prompt and line fast. It measures them whole at every key,
 * asking each character's width afresh, which in Deno costs microseconds a character: a few
 * thousand characters typed (or sent at once over SSH, where the server pays) took seconds.
 * Here each character's width is asked of readline once and remembered, printable ASCII is 1,
 * and the rows and columns are counted the way readline counts them.
 */
function measureFast(rl: readline.Interface): void {
  // Deno's readline reaches this method through a getter of the same name (a symbol), so
  // replacing it on the instance is enough.
  const target = rl as unknown as { _getDisplayPos?: (text: string) => unknown };
  const original = target._getDisplayPos;
  if (typeof original !== "function") return;
  const widthOf = (self: Measured, char: string): number => {
    const known = widths.get(char);
    if (known !== undefined) return known;
    const { cols } = original.call(self, char) as { cols: number };
    const width = Math.min(cols, 2);
    if (widths.size < MAX_REMEMBERED_WIDTHS) widths.set(char, width);
    return width;
  };
  target._getDisplayPos = function (this: Measured, text: string) {
    const plain = text.includes("\x1b") ? text.replace(SGR_ALL, "") : text;
    const columns = this.columns;
    if (PRINTABLE_ASCII.test(plain)) {
      const cols = plain.length % columns;
      return { cols, rows: (plain.length - cols) / columns };
    }
    // Escapes other than colours: measured as before.
    if (plain.includes("\x1b")) return original.call(this, text);
    let offset = 0;
    let rows = 0;
    for (const char of plain) {
      if (char === "\n") {
        rows += Math.ceil(offset / columns) || 1;
        offset = 0;
        continue;
      }
      if (char === "\t") {
        const tab = this.tabSize ?? 8;
        offset += tab - (offset % tab);
        continue;
      }
      const code = char.codePointAt(0) ?? 0;
      const width = code >= 0x20 && code < 0x7f ? 1 : widthOf(this, char);
      if (width < 2) {
        offset += width;
      } else {
        // A wide character does not start in the last column.
        if ((offset + 1) % columns === 0) offset++;
        offset += 2;
      }
    }
    const cols = offset % columns;
    return { cols, rows: rows + (offset - cols) / columns };
  };
}

/** Makes the cursor visible, in case anything hid it, before the shell gets the terminal. */
const SHOW_CURSOR = "\x1b[?25h";

/**
 * The terminal's width now. Node's stream caches it until SIGWINCH is handled, but the terminal
 * rewraps at once: asking refreshes it first (emitting the resize if the size changed), so what
 * is drawn or wrapped next is for the real width.
 */
export function terminalColumns(): number {
  return localColumns();
}

/** The readline internals the area drawing relies on (present in Node and in Deno's port). */
interface ReadlineInternals {
  line: string;
  cursor: number;
  prevRows: number;
  history?: string[];
}

/** The keys still taken once the line being edited is too long: those that end or clear it. */
// deno-lint-ignore no-control-regex -- keeping control keys is the point
const NOT_ENDING_KEYS = /[^\r\n\x03\x04\x08\x15\x7f]/g;

/** Options for {@linkcode TerminalUi}. */
export interface TerminalUiOptions {
  /** Completes the word before the cursor. */
  complete(before: string): Completion;
  /** Paints the prompt. */
  palette: Palette;
  /**
   * Whether Ctrl-Z may stop the process (see `client/job_control.ts`); when false it is ignored
   * with a hint. @default the terminal's `jobs.canSuspend()`
   */
  canSuspend?: boolean;
  /** The terminal to run on. @default localTerminal() */
  terminal?: TerminalPort;
  /**
   * Longest line kept while it is edited, in UTF-16 units: readline measures the whole line at
   * every key, so a client run inside the server keeps it short. @default MAX_INPUT_CHARS
   */
  maxLineChars?: number;
  /** Ring the terminal bell for events addressed to the user. */
  bell: boolean;
}

/** Interactive terminal front end. */
export class TerminalUi implements ClientUi {
  readonly #rl: readline.Interface;
  readonly #state: ReadlineInternals;
  readonly #keys = new PassThrough();
  readonly #filter = new PasteFilter();
  readonly #pastes: string[] = [];
  readonly #typed: string[] = [];
  readonly #decoder = new TextDecoder();
  readonly #multiline = new MultilineBuffer({
    onTooLong: () =>
      this.#say(`! That message is longer than ${MAX_INPUT_CHARS} characters; it was dropped.`),
  });
  readonly #options: TerminalUiOptions;
  readonly #term: TerminalPort;
  readonly #maxLine: number;
  readonly #unlisten: (() => void)[] = [];
  readonly #entered: string[] = [];
  #status: Status;
  #pending: readonly string[] = [];
  #wake: (() => void) | null = null;
  #done = false;
  #closed = false;
  #escapeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stopped by Ctrl-Z (or SIGTSTP), until SIGCONT. */
  #suspended = false;
  /** The line being edited reached its cap (the user has been told). */
  #lineFull = false;

  /** Takes over the terminal at once (raw mode, bracketed paste, signals) until closed. */
  constructor(status: Status, options: TerminalUiOptions) {
    this.#status = status;
    this.#options = options;
    const term = this.#term = options.terminal ?? localTerminal();
    this.#maxLine = options.maxLineChars ?? MAX_INPUT_CHARS;
    this.#rl = readline.createInterface({
      input: this.#keys,
      output: term.screen,
      terminal: true,
      historySize: HISTORY_SIZE,
      completer: (before: string) => this.#complete(before),
    });
    this.#state = this.#rl as unknown as ReadlineInternals;
    measureFast(this.#rl);
    term.acquire();
    term.keys.on("data", this.#onData);
    this.#unlisten.push(term.onHangup(this.#onSignal));
    this.#keys.on("keypress", this.#onKeypress);
    this.#rl.on("line", (line: string) => this.#onLine(line));
    this.#rl.on("close", () => this.#finish());
    this.#rl.on("SIGINT", () => this.#onInterrupt());
    // In raw mode Ctrl-Z is a key, which readline reports; a SIGTSTP can still come from kill.
    this.#rl.on("SIGTSTP", this.#onSuspend);
    this.#unlisten.push(term.jobs.listen(this.#onSuspend, this.#onContinue));
    // Runs before readline's own resize handler, which then redraws from the right row.
    term.screen.prependListener("resize", this.#onResize);
    this.#unlisten.push(term.onUnload(this.#restore));
    term.screen.write(BRACKETED_PASTE_ON);
    this.#redraw();
  }

  /** Prints above the input area, then redraws it with the half-typed line intact. */
  print(text: string, options: { bell?: boolean } = {}): void {
    const bell = options.bell && this.#options.bell ? "\x07" : "";
    if (this.#closed) {
      this.#term.screen.write(text + "\n");
      return;
    }
    this.#redraw(text.replaceAll("\n", "\r\n") + "\r\n" + bell);
  }

  /** Prints a line of the UI's own, wrapped at the width like the renderer's lines. */
  #say(text: string): void {
    this.print(wrap(text, { columns: this.#term.columns(), indent: /^[*!] /.test(text) ? 2 : 0 }));
  }

  /** Writes a failure to stderr, neutralised: it may quote what a server sent. */
  fail(text: string): void {
    this.#term.error(clean(text));
  }

  /** Shows the room and connection state in the prompt. */
  setStatus(status: Status): void {
    const old = this.#status;
    this.#status = status;
    const same = old.room === status.room && old.nick === status.nick &&
      JSON.stringify(old.connection) === JSON.stringify(status.connection);
    if (!same) this.#redraw();
  }

  /** Shows input kept while offline, dimmed above the prompt, until it is acknowledged. */
  setPending(texts: readonly string[]): void {
    const same = texts.length === this.#pending.length &&
      texts.every((text, i) => text === this.#pending[i]);
    this.#pending = [...texts];
    if (!same) this.#redraw();
  }

  /** Entered messages until /quit, Ctrl-D or Ctrl-C on an empty line. */
  async *inputs(): AsyncGenerator<string> {
    while (true) {
      const next = this.#entered.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#done) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Erases the input area and restores the terminal. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#erase();
    clearTimeout(this.#escapeTimer);
    this.#term.keys.off("data", this.#onData);
    this.#term.screen.off("resize", this.#onResize);
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    this.#rl.close();
    this.#restore();
    this.#term.close();
  }

  #restore = () => {
    // Also runs on unload, where only a synchronous write is sure to get out.
    this.#term.writeNow(BRACKETED_PASTE_OFF);
    this.#term.release();
  };

  #onSignal = () => this.#finish();

  /**
   * Ctrl-Z: hands the terminal back as it was (cooked mode, no bracketed paste, the cursor
   * shown, the input area erased), then stops the process, as a shell job expects. Under a
   * task runner that would hang the terminal, so it only says why it does nothing.
   */
  #onSuspend = () => {
    if (this.#closed || this.#suspended) return;
    const jobs = this.#term.jobs;
    if (!(this.#options.canSuspend ?? jobs.canSuspend())) {
      this.#say(jobs.hint);
      return;
    }
    this.#suspended = true;
    this.#erase();
    // Synchronous: nothing may still be queued for the terminal once the process is stopped.
    this.#term.writeNow(BRACKETED_PASTE_OFF + SHOW_CURSOR);
    this.#term.release();
    jobs.stop();
  };

  /** After `fg`: takes the keyboard back (raw mode, bracketed paste) and redraws the area. */
  #onContinue = () => {
    if (this.#closed || !this.#suspended) return;
    this.#suspended = false;
    this.#term.acquire();
    this.#term.screen.write(BRACKETED_PASTE_ON);
    // The shell printed below the erased area, and the size may have changed while stopped.
    this.#refreshSize();
    this.#state.prevRows = 0;
    this.#draw();
  };

  #onData = (chunk: Uint8Array | string) => {
    this.#refreshSize();
    const text = typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.#feed(this.#filter.push(text));
    clearTimeout(this.#escapeTimer);
    if (this.#filter.holding) {
      this.#escapeTimer = setTimeout(() => this.#feed(this.#filter.flush()), ESCAPE_HOLD_MS);
    }
  };

  #feed(events: ReturnType<PasteFilter["push"]>): void {
    for (const event of events) {
      if (event.kind === "keys") {
        let keys = event.data.replaceAll(PASTE_KEY, "").replaceAll(TYPED_KEY, "");
        if (this.#state.line.length + keys.length > this.#maxLine) {
          // Held without bound otherwise (a remote user can type or send anything).
          keys = keys.replace(NOT_ENDING_KEYS, "");
          if (!this.#lineFull) {
            this.#lineFull = true;
            this.#say(
              `! The line reached ${this.#maxLine} characters; more is not kept (Enter sends, ` +
                "Ctrl-C clears).",
            );
          }
        }
        // A run of text goes in as one insertion: readline would redraw per character.
        let stream = "";
        for (const [token] of keys.matchAll(KEY_TOKENS)) {
          if (token.length > 1 && token[0] !== "\x1b") {
            this.#typed.push(token);
            stream += TYPED_KEY;
          } else {
            stream += token;
          }
        }
        this.#keys.write(stream);
      } else {
        this.#pastes.push(event.text);
        this.#keys.write(PASTE_KEY);
        if (event.truncated) this.#say("! The paste was too long; its end was dropped.");
      }
    }
  }

  #onKeypress = (_s: string | undefined, key: { sequence?: string } | undefined) => {
    if (key?.sequence === TYPED_KEY) {
      const run = this.#typed.shift();
      const room = this.#maxLine - this.#state.line.length;
      if (run !== undefined && room > 0) this.#rl.write(run.slice(0, room));
      return;
    }
    if (key?.sequence !== PASTE_KEY) return;
    const paste = this.#pastes.shift();
    if (paste !== undefined) this.#paste(normalizePaste(paste));
  };

  /** Splices a paste in at the cursor; its lines are held until Enter sends the whole block. */
  #paste(text: string): void {
    if (!text.includes("\n")) {
      this.#rl.write(text);
      return;
    }
    const before = this.#state.line.slice(0, this.#state.cursor);
    const after = this.#state.line.slice(this.#state.cursor);
    const lines = text.split("\n");
    const last = (lines.pop() as string) + after;
    lines[0] = before + lines[0];
    this.#erase();
    for (const line of lines) this.#multiline.hold(line);
    this.#state.line = last;
    this.#state.cursor = last.length - after.length;
    this.#draw();
  }

  #onLine(line: string): void {
    // readline has echoed the line and moved below it: take the echo back, the message is
    // shown once the server has it.
    this.#term.screen.write(`\x1b[${this.#rowsOf(line) + 1}A\r\x1b[J`);
    this.#lineFull = false;
    // A line that carries a password is not kept for Up to show to whoever sits down next.
    if (SECRET_LINE.test(line) && this.#state.history?.[0] === line) this.#state.history.shift();
    this.#trimHistory();
    const text = this.#multiline.push(line);
    if (text !== null) this.#enter(text);
    this.#draw();
  }

  /** Forgets the oldest recalled lines beyond {@linkcode HISTORY_MAX_CHARS}. */
  #trimHistory(): void {
    const history = this.#state.history;
    if (history === undefined) return;
    let total = 0;
    let keep = 0;
    // Newest first.
    while (keep < history.length && total + history[keep].length <= HISTORY_MAX_CHARS) {
      total += history[keep++].length;
    }
    history.length = keep;
  }

  #onInterrupt(): void {
    if (this.#state.line === "" && !this.#multiline.continuing) return this.#finish();
    // Ctrl-C with something typed throws it away, as in a shell.
    this.#erase();
    this.#lineFull = false;
    this.#multiline.clear();
    this.#state.line = "";
    this.#state.cursor = 0;
    this.#draw();
  }

  #onResize = () => {
    // The terminal rewraps the area at the new width; readline must start its redraw from the
    // row the cursor is on now, which is where readline's own resize handler expects it.
    this.#state.prevRows = this.#rl.getCursorPos().rows;
  };

  /**
   * The width is cached until SIGWINCH is handled, but the terminal rewraps at once: a key or
   * a message arriving in between would be drawn for the old width. Asking now emits the
   * resize first if the size changed, so every drawing starts from the real width.
   */
  #refreshSize(): void {
    this.#term.columns();
  }

  #enter(text: string): void {
    this.#entered.push(text);
    this.#wake?.();
    this.#wake = null;
  }

  #finish(): void {
    if (this.#done) return;
    const rest = this.#multiline.flush();
    if (rest !== null) this.#entered.push(rest);
    this.#done = true;
    this.#wake?.();
    this.#wake = null;
  }

  /** Completes at the cursor; replaces the word itself so that case differences work too. */
  #complete(before: string): [string[], string] {
    const { word, candidates, suffix } = this.#options.complete(before);
    if (candidates.length === 0) return [[], word];
    const replacement = candidates.length === 1 ? candidates[0] + suffix : commonPrefix(candidates);
    if (replacement.length >= word.length && replacement !== word) {
      const start = this.#state.cursor - word.length;
      this.#erase();
      this.#state.line = this.#state.line.slice(0, start) + replacement +
        this.#state.line.slice(this.#state.cursor);
      this.#state.cursor = start + replacement.length;
      this.#draw();
    }
    // Several candidates: readline lists them on a second Tab.
    return candidates.length === 1 ? [[], replacement] : [candidates, replacement];
  }

  /** Rows from the top of the input area to the end of `line` after the current prompt. */
  #rowsOf(line: string): number {
    const { line: savedLine, cursor: savedCursor } = this.#state;
    this.#state.line = line;
    this.#state.cursor = line.length;
    const rows = this.#rl.getCursorPos().rows;
    this.#state.line = savedLine;
    this.#state.cursor = savedCursor;
    return rows;
  }

  /** Moves to the first row of the input area and clears it and everything below. */
  #erase(): void {
    const up = this.#rl.getCursorPos().rows;
    this.#term.screen.write(`${up > 0 ? `\x1b[${up}A` : ""}\r\x1b[J`);
    this.#state.prevRows = 0;
  }

  /** Erases the input area, writes `above` in its place, and draws the area again below it. */
  #redraw(above = ""): void {
    if (this.#closed) return;
    this.#refreshSize();
    this.#erase();
    this.#draw(above);
  }

  /** From the first row of an erased input area: writes `above`, then the area. */
  #draw(above = ""): void {
    if (above !== "") this.#term.screen.write(above);
    this.#rl.setPrompt(
      promptText(
        this.#status,
        this.#multiline.held,
        this.#options.palette,
        this.#term.screen.columns ?? 80,
        this.#pending,
      ),
    );
    this.#state.prevRows = 0;
    this.#rl.prompt(true);
  }
}
