/**
 * Runs `node:util` parseArgs and turns its errors into one-line {@linkcode UsageError}s.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "./usage.ts";

/** The flags and positionals {@linkcode parseFlags} found for the option table `O`. */
export type ParsedFlags<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; strict: true; allowPositionals: true; options: O }>
>;

/**
 * Parses a subcommand's `args` against its option table the one way every subcommand does:
 * strictly, with positionals allowed (each subcommand words its own complaint about them), and
 * parseArgs' errors reworded by {@linkcode parseStrict}.
 *
 * @example
 * ```ts
 * const { values } = parseFlags(["--port", "7342"], { port: { type: "string" } }, "--help");
 * values.port; // "7342"
 * ```
 */
export function parseFlags<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  hint: string,
): ParsedFlags<O> {
  return parseStrict(
    () => parseArgs({ args, strict: true, allowPositionals: true, options }),
    hint,
  );
}

/**
 * An option table entry `{ type: "string" }` for each of `names`: a long table of valued flags
 * reads as the list of their names.
 *
 * @example
 * ```ts
 * stringFlags("host", "port"); // { host: { type: "string" }, port: { type: "string" } }
 * ```
 */
export function stringFlags<const K extends string>(
  ...names: K[]
): { [P in K]: { type: "string" } } {
  return Object.fromEntries(names.map((name) => [name, { type: "string" }])) as {
    [P in K]: { type: "string" };
  };
}

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
