/**
 * Structured logging to stderr, as text or JSON lines. Fields carry the facts; message bodies
 * and secrets are never passed in.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Output format of log lines. */
export type LogFormat = "text" | "json";

/** Names of the levels, for `--log-level`. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Names of the formats, for `--log-format`. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** Values a log field may take. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A logger: one method per level, each taking an event name and fields. */
export interface Logger {
  /** Detail for debugging; off by default. */
  debug(event: string, fields?: LogFields): void;
  /** Normal events, such as a login. */
  info(event: string, fields?: LogFields): void;
  /** Something odd that the server survived. */
  warn(event: string, fields?: LogFields): void;
  /** Something failed. */
  error(event: string, fields?: LogFields): void;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Least severe level written. @default "info" */
  level?: LogLevel;
  /** Text for people or JSON for log collectors. @default "text" */
  format?: LogFormat;
  /** Where lines go. @default a line to stderr */
  write?: (line: string) => void;
  /** Clock for timestamps, in milliseconds since the Unix epoch. @default Date.now */
  now?: () => number;
}

const encoder = new TextEncoder();

function textValue(value: string | number | boolean): string {
  const s = String(value);
  return /^[\w.:/@#[\]-]+$/.test(s) ? s : JSON.stringify(s);
}

/** Builds a logger writing to stderr (or `write`). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? "text";
  const now = options.now ?? Date.now;
  const write = options.write ??
    ((line: string) => {
      try {
        Deno.stderr.writeSync(encoder.encode(line + "\n"));
      } catch {
        // stderr gone (closed pipe): logging must never take the server down.
      }
    });
  const emit = (level: LogLevel, event: string, fields: LogFields = {}) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const time = new Date(now()).toISOString();
    if (format === "json") {
      write(JSON.stringify({ time, level, event, ...fields }));
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${event}`;
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) line += ` ${key}=${textValue(value)}`;
    }
    write(line);
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
  };
}

/** A logger that writes nothing, for tests and embedding. */
export const silentLogger: Logger = createLogger({ level: "error", write: () => {} });
