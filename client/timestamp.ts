/**
 * Timestamps in local time, in the three styles `--timestamps` offers.
 *
 * @module
 */

/** How `join` shows when something happened. */
export type TimestampStyle = "short" | "long" | "none";

/** Every style, in the order `--help` lists them. */
export const TIMESTAMP_STYLES: readonly TimestampStyle[] = ["short", "long", "none"];

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function date(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * Formats `ts` (milliseconds since the epoch) in local time: `short` is `HH:MM`, with the date
 * in front when it is not the same day as `now` (replayed history can be old); `long` is
 * `YYYY-MM-DD HH:MM:SS`; `none` is the empty string.
 *
 * @example
 * ```ts
 * formatTimestamp(Date.now(), "short"); // "14:07"
 * ```
 */
export function formatTimestamp(
  ts: number,
  style: TimestampStyle,
  now: number = Date.now(),
): string {
  if (style === "none") return "";
  const d = new Date(ts);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (style === "long") return `${date(d)} ${time}:${pad(d.getSeconds())}`;
  return date(d) === date(new Date(now)) ? time : `${date(d)} ${time}`;
}
