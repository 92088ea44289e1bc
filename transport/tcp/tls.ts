/**
 * TLS files and the client side: loading PEM files for the server (see `tls_server.ts`), and
 * connecting with `Deno.connectTls` (optionally trusting a `--ca` file).
 * Deno's certificate errors ("invalid peer certificate: UnknownIssuer") become one sentence that
 * says what is wrong and what to do ("certificate verify failed: unknown issuer ...").
 *
 * @module
 */

import { MAX_PEM_FILE_BYTES, TLS_HANDSHAKE_TIMEOUT_MS } from "../../config/security_limits.ts";

/** A TLS file could not be used, or a TLS connection could not be made. The message is one
 * sentence for people. */
export class TlsError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "TlsError";
}

/** What a TLS server needs: a PEM certificate chain and its PEM private key. */
export interface TlsCredentials {
  /** The server's certificate chain, leaf first. */
  cert: string;
  /** The private key of the leaf certificate. */
  key: string;
}

const CERTIFICATE_BLOCK = "-----BEGIN CERTIFICATE-----";
const PRIVATE_KEY_BLOCK = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * Reads `--tls-cert` and `--tls-key`, checking that each holds what it should.
 *
 * @example
 * ```ts
 * import { serverTlsContext } from "./tls_server.ts";
 *
 * const credentials = await loadTlsCredentials("cert.pem", "key.pem");
 * const context = serverTlsContext(credentials);
 * ```
 */
export async function loadTlsCredentials(
  certFile: string,
  keyFile: string,
): Promise<TlsCredentials> {
  const cert = await readPem(certFile, "certificate");
  if (!cert.includes(CERTIFICATE_BLOCK)) {
    throw new TlsError(
      `The certificate file ${certFile} holds no PEM certificate ("${CERTIFICATE_BLOCK}").`,
    );
  }
  const key = await readPem(keyFile, "key");
  const match = PRIVATE_KEY_BLOCK.exec(key);
  if (match === null) {
    throw new TlsError(
      `The key file ${keyFile} holds no PEM private key ("-----BEGIN PRIVATE KEY-----").`,
    );
  }
  if (match[0].includes("ENCRYPTED")) {
    throw new TlsError(
      `The key file ${keyFile} is encrypted; decrypt it with ` +
        `"openssl pkey -in ${keyFile} -out <new file>" and use that.`,
    );
  }
  return { cert, key };
}

/**
 * Reads a `--ca` file: one or more PEM certificates to trust instead of the system roots, in
 * the form `Deno.connectTls` takes as `caCerts`.
 */
export async function loadCaCerts(caFile: string): Promise<string[]> {
  const pem = await readPem(caFile, "CA");
  // Deno silently ignores a CA string with no certificate in it, which would turn a wrong
  // --ca into a baffling "unknown issuer".
  if (!pem.includes(CERTIFICATE_BLOCK)) {
    throw new TlsError(`The CA file ${caFile} holds no PEM certificate ("${CERTIFICATE_BLOCK}").`);
  }
  return [pem];
}

/** Options for {@linkcode connectTls}. */
export interface ConnectTlsOptions {
  /** Host to connect to; also the name the certificate must carry. */
  hostname: string;
  /** Port to connect to. */
  port: number;
  /** PEM certificates to trust instead of the system roots (see {@linkcode loadCaCerts}). */
  caCerts?: string[];
  /** The handshake must finish within this many ms. @default 10000 */
  handshakeTimeoutMs?: number;
}

/**
 * Connects and completes the TLS handshake, so that certificate problems show up here, as a
 * {@linkcode TlsError} with one clear sentence, rather than on the first read.
 *
 * @example
 * ```ts
 * const caCerts = await loadCaCerts("ca.pem");
 * const conn = await connectTls({ hostname: "localhost", port: 7343, caCerts });
 * ```
 */
export async function connectTls(options: ConnectTlsOptions): Promise<Deno.TlsConn> {
  const target = `${options.hostname}:${options.port}`;
  const timeoutMs = options.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS;
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.connectTls({
      hostname: options.hostname,
      port: options.port,
      caCerts: options.caCerts,
    });
  } catch (error) {
    throw new TlsError(`Cannot connect to ${target}: ${describeTlsError(error)}.`);
  }
  const outcome = await withDeadline(conn, conn.handshake(), timeoutMs);
  if (outcome === "ok") return conn;
  closeQuietly(conn);
  const why = outcome === "timeout"
    ? `the TLS handshake did not finish within ${timeoutMs} ms`
    : describeTlsError(outcome.error);
  throw new TlsError(`Cannot connect to ${target} securely: ${why}.`);
}

/**
 * Turns a TLS error from Deno (rustls) into a clause for people, without a final full stop:
 * `certificate verify failed: unknown issuer (...)`.
 */
export function describeTlsError(error: unknown): string {
  const message = errorMessage(error);
  const verify = "certificate verify failed";
  if (/UnknownIssuer/.test(message)) {
    return `${verify}: unknown issuer (the server's certificate is not signed by a CA you ` +
      "trust; pass --ca with the file of the CA that signed it)";
  }
  if (/not valid for name|NotValidForName/.test(message)) {
    const wanted = /for name "?([^";]+)"?/.exec(message)?.[1];
    const names = [...message.matchAll(/(?:DnsName|IpAddress)\(\s*"?([^")]+)"?\s*\)/g)]
      .map((m) => m[1]);
    const has = names.length > 0 ? `it is for ${names.join(", ")}` : "it names other hosts";
    return `${verify}: the certificate is not valid for ${wanted ?? "this host"} (${has}; ` +
      "connect using a name it lists)";
  }
  if (/Expired/i.test(message)) {
    return `${verify}: the certificate has expired (or this computer's clock is wrong)`;
  }
  if (/NotValidYet/i.test(message)) {
    return `${verify}: the certificate is not valid yet (or this computer's clock is wrong)`;
  }
  if (/CaUsedAsEndEntity/.test(message)) {
    return `${verify}: the server presents a CA certificate as its own (a server certificate ` +
      "needs basicConstraints CA:FALSE)";
  }
  if (/invalid peer certificate/.test(message)) {
    return `${verify}: ${message.replace(/^invalid peer certificate:\s*/, "")}`;
  }
  if (/corrupt message|InvalidContentType/.test(message)) {
    return "the server did not answer in TLS (is it running without TLS?)";
  }
  if (/received fatal alert/.test(message)) {
    return `the other side refused the TLS handshake (${message.replace(/^.*alert:\s*/, "")})`;
  }
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  return `TLS failed: ${message}`;
}

async function readPem(path: string, what: string): Promise<string> {
  const label = `The ${what} file ${path}`;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new TlsError(`${label} is a directory, not a file.`);
    if (info.size > MAX_PEM_FILE_BYTES) {
      throw new TlsError(`${label} is larger than ${MAX_PEM_FILE_BYTES} bytes; is it PEM?`);
    }
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof TlsError) throw error;
    if (error instanceof Deno.errors.NotFound) throw new TlsError(`${label} does not exist.`);
    throw new TlsError(`${label} cannot be read: ${errorMessage(error)}.`);
  }
}

/** Races `work` against a timer that closes `conn` (the only way to abandon a handshake). */
async function withDeadline(
  conn: Deno.Conn,
  work: Promise<unknown>,
  timeoutMs: number,
): Promise<"ok" | "timeout" | { error: unknown }> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, timeoutMs);
  try {
    await work;
    return "ok";
  } catch (error) {
    return timedOut ? "timeout" : { error };
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
