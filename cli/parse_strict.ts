/**
 * Runs `node:util` parseArgs and turns its errors into one-line {@linkcode UsageError}s.
 *
 * @module
 */

import { UsageError } from "./usage.ts";

/** Calls `parse`, rewording parseArgs' exceptions for people. */
export function parseStrict<T>(parse: () => T, hint: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const option = /'(-[^' ]+)/.exec(message)?.[1];
    switch (code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        throw new UsageError(`unknown option ${option ?? message}.`, hint);
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
        throw new UsageError(
          option ? `option ${option} needs a value.` : message.split("\n")[0],
          hint,
        );
      case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
        throw new UsageError(message.split("\n")[0], hint);
      default:
        throw new UsageError(message.split("\n")[0], hint);
    }
  }
}
