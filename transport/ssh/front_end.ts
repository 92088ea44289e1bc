/**
 * The SSH front end as one module, which the server loads only when `--ssh-port` is given: its
 * npm library (ssh2) costs about 10 MiB of memory at start, which a server without SSH need not
 * pay. It binds the listener to what SSH users run: the NDJSON session over an in-process link,
 * driven by the terminal client the server hosts for each of them (`client/embedded.ts`).
 *
 * @module
 */

import { startEmbeddedChat } from "../../client/embedded.ts";
import type { KeyProof } from "../../core/identity.ts";
import type { Link } from "../link.ts";
import type { SessionOpener } from "../peer.ts";
import { SshListener, type SshListenerOptions } from "./listener.ts";
import { ndjsonOpener } from "../ndjson_opener.ts";

export {
  defaultHostKeyPath,
  type HostKey,
  HostKeyError,
  loadHostKey,
  loadOrCreateHostKey,
} from "./host_key.ts";

/** What the server gives the SSH front end: the listener's settings and how to serve a link. */
export type SshFrontEndOptions = Omit<SshListenerOptions, "serve" | "startChat"> & {
  /** Serves one in-process link as a peer opened by `open`, with the key SSH proved. */
  serve(
    link: Link,
    acceptedAt: number,
    open: SessionOpener,
    key: KeyProof | undefined,
  ): Promise<void>;
};

/**
 * Binds the SSH listener (throws as `Deno.listen` does).
 *
 * @example
 * ```ts
 * declare const options: SshFrontEndOptions;
 * const listener = listenSsh(options);
 * console.log(listener.addr.port);
 * listener.close();
 * ```
 */
export function listenSsh(options: SshFrontEndOptions): SshListener {
  return new SshListener({
    ...options,
    serve: (link, acceptedAt, key) => options.serve(link, acceptedAt, ndjsonOpener, key),
    startChat: startEmbeddedChat,
  });
}
