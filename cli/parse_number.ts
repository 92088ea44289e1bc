/**
 * Strict integer parsing for CLI flag values.
 *
 * @module
 */

import { UsageError } from "./usage.ts";

/** Parses `value` as a whole number in `[min, max]`, or throws a {@linkcode UsageError}. */
export function parseIntFlag(
  flag: string,
  value: string,
  min: number,
  max: number,
  hint: string,
): number {
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`${flag} needs a whole number, not ${JSON.stringify(value)}.`, hint);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be between ${min} and ${max}, not ${value}.`, hint);
  }
  return n;
}
