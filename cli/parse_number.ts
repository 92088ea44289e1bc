/**
 * Strict integer parsing for CLI flag values.
 *
 * @module
 */

import { UsageError } from "./usage.ts";

/**
 * Parses `value` as a whole number in `[min, max]`, or throws a {@linkcode UsageError} that names
 * `flag`, the range and what was given: a word, a fraction and a negative number all get the
 * same sentence, so the range is always in it.
 *
 * @example
 * ```ts
 * parseIntFlag("--max-users", "50", 1, 1_000_000, "sockchat serve --help"); // 50
 * // parseIntFlag("--max-users", "-1", ...) throws:
 * // --max-users must be a whole number from 1 to 1000000, not -1.
 * ```
 */
export function parseIntFlag(
  flag: string,
  value: string,
  min: number,
  max: number,
  hint: string,
): number {
  // "+ 0" turns -0 into 0.
  const n = /^-?\d+$/.test(value) ? Number(value) + 0 : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const given = /^-?\d+$/.test(value) ? value : JSON.stringify(value);
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max}, not ${given}.`,
      hint,
    );
  }
  return n;
}
