/**
 * Which listener could not bind, and why, in words for the operator. `serve` binds up to three
 * ports (native, SSH, web) plus metrics; "cannot listen" must say which one failed and which flag
 * moves it, or the operator changes the wrong one.
 *
 * @module
 */

/** A listener the chat server binds. */
export type ListenerName = "native" | "ssh" | "web" | "irc" | "irc-tls";

/** The listener being bound: its name and the address it was asked for. */
export interface ListenTarget {
  /** Which listener. */
  readonly listener: ListenerName;
  /** The host it was asked to bind. */
  readonly hostname: string;
  /** The port it was asked to bind (0: any free one). */
  readonly port: number;
}

/** Thrown by `startServer` when a listener cannot bind; `cause` is what binding threw. */
export class ListenError extends Error {
  /** Names the error in logs and stack traces. */
  override name = "ListenError";
  /** The listener that failed, and the address it was asked for. */
  readonly target: ListenTarget;

  /** `cause`: what `Deno.listen` (or the listener) threw. */
  constructor(target: ListenTarget, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`cannot bind the ${target.listener} listener on ${hostPort(target)}: ${why}`, { cause });
    this.target = target;
  }
}

/** How the operator moves a listener: its flags, and what to call its port. */
export interface ListenFlags {
  /** The port's name in a sentence: "port", "web port", "SSH port". */
  readonly what: string;
  /** The flag that sets its port, such as `--web-port`. */
  readonly portFlag: string;
  /** The flag that sets its host, such as `--web-host`. */
  readonly hostFlag: string;
}

/**
 * One sentence for the operator: the address that failed, why, and the flag to change.
 *
 * @example
 * ```ts
 * const target = { hostname: "0.0.0.0", port: 8080 };
 * const flags = { what: "web port", portFlag: "--web-port", hostFlag: "--web-host" };
 * listenFailure(target, new Deno.errors.AddrInUse("in use"), flags);
 * // "cannot listen on 0.0.0.0:8080: the address is already in use (is another server
 * //  running? pick another web port with --web-port)"
 * ```
 */
export function listenFailure(
  target: Pick<ListenTarget, "hostname" | "port">,
  cause: unknown,
  flags: ListenFlags,
): string {
  return `cannot listen on ${hostPort(target)}: ${listenReason(target, cause, flags)}`;
}

/**
 * Why `target` could not be bound, and the flag to change: the part of
 * {@linkcode listenFailure} after the address.
 *
 * @example
 * ```ts
 * const flags = { what: "web port", portFlag: "--web-port", hostFlag: "--web-host" };
 * listenReason({ hostname: "192.0.2.1", port: 8080 }, new Deno.errors.AddrNotAvailable(), flags);
 * // "192.0.2.1 is not an address of this machine (check --web-host; 0.0.0.0 listens on all
 * //  of them)"
 * ```
 */
export function listenReason(
  target: Pick<ListenTarget, "hostname" | "port">,
  cause: unknown,
  flags: ListenFlags,
): string {
  const { what, portFlag, hostFlag } = flags;
  const message = cause instanceof Error ? cause.message : String(cause);
  return cause instanceof Deno.errors.AddrInUse
    ? `the address is already in use (is another server running? pick another ${what} with ` +
      `${portFlag})`
    : cause instanceof Deno.errors.PermissionDenied
    ? `permission denied (ports below 1024 need privileges: pick another ${what} with ` +
      `${portFlag})`
    : cause instanceof Deno.errors.AddrNotAvailable
    ? `${target.hostname} is not an address of this machine (check ${hostFlag}; 0.0.0.0 ` +
      `listens on all of them)`
    // Deno has no error class for a failed name lookup: its message is the only sign.
    : /lookup address/i.test(message)
    ? `the host name ${target.hostname} cannot be looked up (check ${hostFlag})`
    : `${message} (check ${hostFlag} and ${portFlag})`;
}

/** `host:port`, with an IPv6 host in brackets. */
function hostPort(target: Pick<ListenTarget, "hostname" | "port">): string {
  const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
  return `${host}:${target.port}`;
}
