/**
 * The byte link under a connection: what a front end must provide so that the shared peer code
 * (framing, queue, flood control, timeouts) can run over it. A `Deno.Conn` is one as it is; a
 * TLS session run by `node:tls` over an accepted TCP socket is another ({@linkcode TlsLink}).
 *
 * @module
 */

/** A duplex byte stream with a peer address. `Deno.Conn` satisfies it. */
export interface Link {
  /** Reads into `p`; the number of bytes read, or null at EOF. May throw a `Deno.errors.*`. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p` (perhaps not all); resolves with how much. */
  write(p: Uint8Array): Promise<number>;
  /** Half-closes: the peer sees EOF after what was written. */
  closeWrite(): Promise<void>;
  /** Closes at once, freeing the socket. Throws if already closed. */
  close(): void;
  /** Where the peer is. */
  readonly remoteAddr: Deno.Addr;
}

/** The peer's IP address and port, as `host:port`. */
export function remoteOf(link: Link): string {
  const addr = link.remoteAddr as Deno.NetAddr;
  return `${addr.hostname}:${addr.port}`;
}

/** Closes a link (or socket), ignoring that it may be closed already. */
export function closeQuietly(link: { close(): void }): void {
  try {
    link.close();
  } catch {
    // Already closed.
  }
}
