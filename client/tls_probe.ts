/**
 * Recognising a TLS port from a plain client: a plain `sockchat join` that reaches a server's
 * TLS port gets no welcome (the server closes, or answers with a TLS record), and the user
 * should be told to add `--tls` rather than left with "the server closed the connection".
 *
 * @module
 */

/** What the user is told once a TLS port has been recognised. */
export const TLS_PORT_HINT =
  "This looks like a TLS port: try join --tls (and --ca FILE for a private CA).";

/** How long the TLS probe may take before the port is taken for not speaking TLS. */
export const TLS_PROBE_TIMEOUT_MS = 2_000;

/** The TLS record content types (change_cipher_spec, alert, handshake, application_data). */
const TLS_RECORD_TYPES = new Set([0x14, 0x15, 0x16, 0x17]);

/**
 * True when `bytes`, the first the server sent, start like a TLS record: a content type, then
 * protocol version 3.x. No NDJSON frame or plain greeting starts with these control bytes.
 *
 * @example
 * ```ts
 * looksLikeTlsRecord(new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])); // true: an alert
 * looksLikeTlsRecord(new TextEncoder().encode('{"type":"welcome"}')); // false
 * ```
 */
export function looksLikeTlsRecord(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && TLS_RECORD_TYPES.has(bytes[0]) && bytes[1] === 0x03;
}

/**
 * Tries a TLS handshake with `host:port` and resolves to true when the other side speaks TLS:
 * the handshake completes, or fails over the certificate or with a TLS alert. Anything else (a
 * plain answer, a refused connection, no answer within {@linkcode TLS_PROBE_TIMEOUT_MS}) is
 * false. Never throws.
 */
export async function speaksTls(host: string, port: number): Promise<boolean> {
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.connectTls({ hostname: host, port });
  } catch {
    return false;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), TLS_PROBE_TIMEOUT_MS);
    });
    const outcome = await Promise.race([conn.handshake().then(() => "ok" as const), timeout]);
    return outcome === "ok";
  } catch (error) {
    // rustls' words for a peer that spoke TLS but would not be trusted or refused us.
    const message = error instanceof Error ? error.message : String(error);
    return /invalid peer certificate|received fatal alert|certificate/i.test(message) &&
      !/corrupt message|InvalidContentType/.test(message);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}
