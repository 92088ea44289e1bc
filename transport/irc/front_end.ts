/**
 * The IRC front end, wired for the server: a plain and/or a TLS port (the TCP listener, so the
 * shared door, TLS handshake deadline and refusals work as on the native port), each opening an
 * {@linkcode IrcSession} on every admitted link. A refused connection reads one IRC `ERROR` line.
 *
 * @module
 */

import { IRC_MULTILINE_MAX_LINES, ircMultilineMaxBytes } from "../../config/irc_limits.ts";
import { MAX_ROOM_BANS } from "../../config/limits.ts";
import type { Logger } from "../../log/logger.ts";
import type { FrameCodec } from "../../protocol/codec.ts";
import { codecSlot, NOTHING } from "../../protocol/codec.ts";
import type { ErrorFrame } from "../../protocol/frames.ts";
import type { CapOffer, IrcCap } from "../../protocol/irc/caps.ts";
import { isupportTokens } from "../../protocol/irc/isupport.ts";
import { encodeLine } from "../../protocol/irc/line.ts";
import { serverReply } from "../../protocol/irc/numerics.ts";
import { type IrcServerInfo, IrcSession } from "../../protocol/irc/session.ts";
import { IrcProfiles } from "../../protocol/irc/profile.ts";
import type { Door } from "../door.ts";
import type { Link } from "../link.ts";
import type { SessionOpener } from "../peer.ts";
import type { ProxyGate } from "../proxy_protocol.ts";
import { TcpListener } from "../tcp/listener.ts";
import type { ServerTlsContext } from "../tcp/tls_server.ts";

/** The caps this front end implements; the others in `caps.ts` are not listed yet. */
const IMPLEMENTED_CAPS: ReadonlySet<IrcCap> = new Set<IrcCap>([
  "cap-notify",
  "server-time",
  "message-tags",
  "echo-message",
  "multi-prefix",
  "sasl",
  "userhost-in-names",
  "extended-join",
  "account-tag",
  "labeled-response",
  "standard-replies",
  "batch",
  "draft/chathistory",
  "draft/multiline",
  "away-notify",
  "account-notify",
  "invite-notify",
  "setname",
]);

/**
 * The IRC codec: never used to encode, since every IRC session renders for its reader
 * (`IrcSession.render`: the shared bytes of its cap profile, `profile.ts`, or its own); named
 * for the logs.
 */
export const IRC_CODEC: FrameCodec = { name: "irc", slot: codecSlot(), encode: () => NOTHING };

/** What the IRC front end needs from the server. */
export interface IrcFrontEndOptions {
  /** Address for both ports. */
  host: string;
  /** Plain IRC port; absent: none. */
  port?: number;
  /** IRC over TLS port; absent: none. */
  tlsPort?: number;
  /** The TLS context (required with `tlsPort`). */
  tls: ServerTlsContext | null;
  /** TLS handshake deadline. */
  tlsTimeoutMs: number;
  /** The server as IRC clients see it. */
  info: Omit<IrcServerInfo, "isupport">;
  /** Longest line a client may send (`--max-frame`), for `draft/multiline`'s limit. */
  maxFrame: number;
  /** True when accounts can exist (the core has a password hasher): SASL PLAIN is offered. */
  accounts: boolean;
  /** The shared door. */
  door: Door;
  /** The server's log. */
  logger: Logger;
  /** True once the server is stopping. */
  stopping(): boolean;
  /** Serves a link with the session `open` makes. */
  serve(link: Link, acceptedAt: number, open: SessionOpener): Promise<void>;
  /** `--proxy-from`: read a PROXY header from these sources first. @default null */
  proxy?: ProxyGate | null;
}

/** The IRC listeners: the plain one first (if any), then the TLS one (if any). */
export interface IrcListeners {
  /** The plain IRC port's listener. */
  plain?: TcpListener;
  /** The TLS IRC port's listener. */
  tls?: TcpListener;
}

/**
 * Binds the IRC port(s). Throws as `Deno.listen` does; `bound` is told of each listener as soon
 * as it is bound, so that a failure of the second can close the first.
 */
export function listenIrc(
  options: IrcFrontEndOptions,
  bound: (which: "irc" | "irc-tls", listener: TcpListener) => void,
): IrcListeners {
  const info: IrcServerInfo = {
    ...options.info,
    isupport: isupportTokens({ serverName: options.info.serverName, maxRoomBans: MAX_ROOM_BANS }),
  };
  const offer: CapOffer = {
    sasl: options.accounts,
    multiline: {
      maxBytes: ircMultilineMaxBytes(options.maxFrame),
      maxLines: IRC_MULTILINE_MAX_LINES,
    },
    only: IMPLEMENTED_CAPS,
  };
  // Both ports' readers share one set of profile codecs: a broadcast is encoded once per profile.
  const profiles = new IrcProfiles(info);
  const opener: SessionOpener = (_reader, port) =>
    Promise.resolve({
      first: null,
      opened: {
        codec: IRC_CODEC,
        session: new IrcSession(port, info, offer, profiles),
        pings: true,
      },
    });
  const goodbye = (error: ErrorFrame) =>
    new TextEncoder().encode(encodeLine(serverReply.error("*", error.message)));
  const listen = (port: number, tls: ServerTlsContext | null) =>
    new TcpListener({
      hostname: options.host,
      port,
      tls,
      tlsTimeoutMs: options.tlsTimeoutMs,
      door: options.door,
      logger: options.logger,
      stopping: options.stopping,
      serve: (link, acceptedAt) => options.serve(link, acceptedAt, opener),
      goodbye,
      proxy: options.proxy,
    });
  const out: IrcListeners = {};
  if (options.port !== undefined) {
    out.plain = listen(options.port, null);
    bound("irc", out.plain);
  }
  if (options.tlsPort !== undefined) {
    if (options.tls === null) throw new Error("--irc-tls-port needs --tls-cert and --tls-key");
    out.tls = listen(options.tlsPort, options.tls);
    bound("irc-tls", out.tls);
  }
  return out;
}
