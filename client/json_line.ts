/**
 * `join --json` output: one JSON line per frame that a terminal can show without being steered.
 * `JSON.stringify` escapes C0 controls but leaves C1 controls (U+0080–U+009F, among them the
 * 8-bit CSI U+009B that some terminals obey like `ESC [`), DEL, and the characters that reorder
 * text (bidi embeddings, overrides, isolates and marks) raw; here they are written as `\uXXXX`
 * escapes, so the line is still valid JSON and parses back to the same strings.
 *
 * @module
 */

/**
 * Characters written as `\uXXXX`: DEL and C1 controls; the Arabic letter mark, left-to-right and
 * right-to-left marks; bidi embeddings and overrides; line and paragraph separators; bidi
 * isolates.
 */
const UNSAFE_IN_TERMINAL = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

function escape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `value` as one line of JSON with nothing a terminal would act on. The escaped characters can
 * only occur inside JSON strings (everything else `JSON.stringify` writes is ASCII), where
 * `\uXXXX` means the same character.
 *
 * @example
 * ```ts
 * jsonLine({ text: "\u009b31m" }); // '{"text":"\\u009b31m"}'
 * JSON.parse(jsonLine({ text: "\u202e" })).text === "\u202e"; // true
 * ```
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_TERMINAL, escape);
}
