/**
 * Neutralises text from the network before it reaches a terminal: escape sequences (CSI, OSC,
 * and other ESC-introduced forms) are removed, and control characters other than newline are
 * dropped (tab becomes a space).
 *
 * @module
 */

// ESC [ ... final byte (CSI); ESC ] ... BEL or ESC \ (OSC); ESC P/X/^/_ ... ESC \ (DCS, SOS, PM,
// APC); ESC followed by one more character; and the 8-bit CSI/OSC introducers.
const ESCAPES =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /\x1b\[[0-?]*[ -/]*[@-~]?|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[^[\]PX^_]?|\x9b[0-?]*[ -/]*[@-~]?|[\x9d\x90\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?/g;
// C0 controls except LF, DEL, and C1 controls.
// deno-lint-ignore no-control-regex -- as above
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// The same, less IRC's formatting codes (\x02 \x03 \x04 \x0f \x11 \x16 \x1d \x1e \x1f).
// deno-lint-ignore no-control-regex -- as above
const CONTROLS_BUT_FORMATTING = /[\x00\x01\x05-\x08\x0b-\x0e\x10\x12-\x15\x17-\x1c\x7f-\x9f]/g;

/** Text safe to print: no escape sequences, no control characters but `\n`. */
export function sanitizeText(text: string): string {
  return text.replace(ESCAPES, "").replaceAll("\t", " ").replace(CONTROLS, "");
}

/**
 * {@linkcode sanitizeText}, but keeping IRC's formatting codes (bold, colour, italic, ...),
 * which only IRC readers get: every other encoder strips them (`stripIrcFormatting`).
 */
export function sanitizeKeepingFormatting(text: string): string {
  return text.replace(ESCAPES, "").replaceAll("\t", " ").replace(CONTROLS_BUT_FORMATTING, "");
}
