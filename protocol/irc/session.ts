/**
 * The IRC wire format (contract §1-§4): lines in, parsed by `line.ts`, become hub calls through
 * the same {@linkcode SessionPort} every front end uses; frames out are rendered per reader by
 * `render.ts`. IRC replies (421, 451, 461, 417, ...) are answers, never protocol errors: only
 * the peer's hard frame cap, flood control and timeouts close an IRC client.
 *
 * @module
 */

import { type Awaitable, then } from "../../core/awaitable.ts";
import { sanitizeFormattedText } from "../../security/unicode.ts";
import { IRC_PENDING_REFS } from "../../config/irc_limits.ts";
import { MAX_ROOMS_LISTED } from "../../config/limits.ts";
import type { Room } from "../../core/room.ts";
import { NOTHING } from "../codec.ts";
import type { ServerFrame } from "../frames.ts";
import { type Deliverable, Outgoing, OutgoingBatch } from "../outgoing.ts";
import type { ProtocolSession, SessionPort } from "../session.ts";
import {
  capListLines,
  capLsLines,
  capLsVersion,
  type CapOffer,
  capReqReply,
  type IrcCap,
  parseCapReq,
} from "./caps.ts";
import { cloakOf, hostmaskOf, realnameOf, setIdent } from "./hostmask.ts";
import { setname } from "./notify.ts";
import { rememberProfile, whowasLines } from "./commands/whowas.ts";
import {
  encodeLine,
  type IrcLine,
  type IrcMessage,
  parseLine,
  type ParseResult,
  utf8Length,
} from "./line.ts";
import { numeric, serverReply } from "./numerics.ts";
import { Registration } from "./registration.ts";
import type { SaslHost } from "./sasl.ts";
import { inviteRefusal, join, kick, mode, names, part, topic } from "./commands/channel.ts";
import { type CommandHost, eachCharged } from "./commands/host.ts";
import { sendMessage } from "./commands/message.ts";
import { MultilineInbox, NOT_A_BATCH_LINE } from "./commands/batch.ts";
import type { EchoExtras } from "./multiline_out.ts";
import { tellService } from "./commands/services.ts";
import { chathistory } from "./commands/history.ts";
import {
  isonLines,
  listLines,
  lusersLines,
  motdLines,
  type QueryContext,
  userhostLines,
  whoisLines,
  whoLines,
} from "./commands/query.ts";
import { IrcRenderer, type IrcServerInfo } from "./render.ts";
import { LabeledResponses } from "./labels.ts";
import { ReplayMarks } from "./replay_marks.ts";
import { standardRepliesFor } from "./errors.ts";
import type { IrcProfiles, SharingReader } from "./profile.ts";

export type { IrcServerInfo };

const encoder = new TextEncoder();

/** Commands that act before registration; anything else gets `451`. */
const BEFORE_REGISTRATION = new Set([
  "CAP",
  "PASS",
  "NICK",
  "USER",
  "AUTHENTICATE",
  "PING",
  "PONG",
  "QUIT",
]);

/**
 * What a core call with this session's `ref` was for: its IRC command and target (so a core
 * error becomes the numeric naming them) and, for a message, its text (for echo-message).
 */
interface Pending extends EchoExtras {
  readonly command: string;
  readonly target: string;
  readonly text: string;
  readonly action: boolean;
}

/** What a labeled reply's `batch=<id>;` tag adds to a replayed line, at most (ids are short). */
const REPLAY_BATCH_TAG_BYTES = 16;

/** Adapts IRC lines from one connection to hub calls, and frames back to lines. */
export class IrcSession implements ProtocolSession {
  readonly #port: SessionPort;
  readonly #info: IrcServerInfo;
  readonly #offer: CapOffer;
  readonly #registration = new Registration();
  readonly #caps = new Set<IrcCap>();
  readonly #renderer: IrcRenderer;
  /** Inbound draft/multiline batches (one open at a time). */
  readonly #batches: MultilineInbox;
  /** Labeled responses (labeled-response): lines held until their command is done. */
  readonly #labels: LabeledResponses;
  /** Start and end NOTICEs around a JOIN's history replay. */
  readonly #marks: ReplayMarks;
  /** Shared encodings per cap profile (`profile.ts`); null: every frame rendered here. */
  readonly #profiles: IrcProfiles | null;
  readonly #sharing: SharingReader;
  readonly #pending = new Map<string, Pending>();
  #refs = 0;
  /** History batches sent so far: their ids are `h<n>`. */
  #historyBatches = 0;
  #capVersion = 0;
  /** The nick the hub welcomed, or null before the welcome. */
  #nick: string | null = null;

  /** What the command handlers see of this session. */
  readonly #host: CommandHost;

  /**
   * `offer`: the caps this server lists (see `caps.ts`); `profiles`: the front end's shared
   * encodings, if broadcasts are to be encoded once per cap profile.
   */
  constructor(
    port: SessionPort,
    info: IrcServerInfo,
    offer: CapOffer,
    profiles: IrcProfiles | null = null,
  ) {
    this.#port = port;
    this.#profiles = profiles;
    this.#info = info;
    this.#offer = offer;
    this.#batches = new MultilineInbox(offer.multiline);
    this.#labels = new LabeledResponses({ serverName: info.serverName, caps: this.#caps });
    this.#marks = new ReplayMarks(info.serverName);
    const session = {
      client: () => this.#client,
      reply: (line: IrcLine) => this.#reply(line),
      replies: (lines: readonly IrcLine[]) => this.#replies(lines),
      remember: (
        command: string,
        target: string,
        text?: string,
        action?: boolean,
        extras?: EchoExtras,
      ) => this.#remember(command, target, text, action, extras),
      command: (line: string, room: string, ref: string) => this.#command(line, room, ref),
      names: (room: Room) => this.#renderer.names(room),
    };
    this.#host = {
      port,
      get client() {
        return session.client();
      },
      reply: session.reply,
      replies: session.replies,
      remember: session.remember,
      command: session.command,
      names: session.names,
    };
    const client = () => this.#client;
    const asked = () => this.#registration.nick ?? "*";
    const sasl = () => this.#registration.sasl.account !== null;
    this.#renderer = new IrcRenderer({
      info,
      chat: port.chat,
      get client() {
        return client();
      },
      get asked() {
        return asked();
      },
      get sasl() {
        return sasl();
      },
      caps: this.#caps,
      get cloak() {
        return cloakOf(port.address);
      },
      pending: (ref) => this.#pending.get(ref) ?? null,
    });
    const renderer = this.#renderer;
    this.#sharing = {
      caps: this.#caps,
      chat: port.chat,
      get nick() {
        return client();
      },
      sees: (frame) => renderer.sees(frame),
    };
  }

  /** The reader's nick in numerics: the welcomed one, else `*`. */
  get #client(): string {
    return this.#port.user?.nick ?? this.#nick ?? "*";
  }

  /** IRC clients speak first: nothing to say yet. */
  start(): void {}

  /** Lines are handled one by one; nothing waits for the end of a read. */
  endOfBatch(): void {}

  /** A client with draft/chathistory asks for history itself: no replay on JOIN (spec). */
  /** IRC lines wait for flood control instead of being refused (`SessionPort.hold`). */
  readonly delaysFlood = true;

  get replaysOnJoin(): boolean {
    return !this.#caps.has("draft/chathistory");
  }

  /**
   * A replayed message's bytes on this reader's wire (a line per line of text, each with the
   * sender's mask and tags), with room on each line for a labeled reply's `batch` tag.
   */
  replayBytes(out: Outgoing): number {
    let bytes = 0;
    for (const line of this.#renderer.lines(out.frame)) {
      bytes += utf8Length(encodeLine(line)) + REPLAY_BATCH_TAG_BYTES;
    }
    return bytes;
  }

  /** This reader's lines for `out`: the shared bytes of its cap profile when they serve. */
  render(out: Deliverable): Uint8Array {
    const shared = this.#profiles?.bytes(out, this.#sharing) ?? null;
    if (shared !== null) return shared;
    const frames: readonly ServerFrame[] = out instanceof Outgoing
      ? [out.frame]
      : out instanceof OutgoingBatch
      ? out.frames
      : [];
    let text = "";
    for (const frame of frames) {
      if (frame.type === "welcome") this.#welcomed(frame.nick);
      if (frame.type === "nick" && frame.old === this.#nick) this.#renamed(frame.new);
      const lines = [...this.#marks.before(frame), ...this.#renderer.lines(frame)];
      text += this.#labels.frame(frame, lines).map(encodeLine).join("");
      if (frame.type === "ack" && frame.ref !== undefined) this.#pending.delete(frame.ref);
    }
    return text === "" ? NOTHING : encoder.encode(text);
  }

  /**
   * The hub welcomed this client as `nick` (the user exists, though the login call has not
   * returned yet): from now on its lines carry USER's ident.
   */
  #welcomed(nick: string): void {
    this.#nick = nick;
    const user = this.#port.chat.user(nick);
    const ident = this.#registration.ident;
    if (user !== undefined && ident !== null) {
      setIdent(user, ident, this.#registration.realname);
      rememberProfile(user, ident, realnameOf(user));
    }
  }

  /** The hub renamed this client: WHOWAS will know it by the new nick once it leaves. */
  #renamed(nick: string): void {
    this.#nick = nick;
    const user = this.#port.user;
    const ident = this.#registration.ident;
    if (user !== null && ident !== null) rememberProfile(user, ident, realnameOf(user));
  }

  /** One line from the client; its labeled response (if any) goes out once it is done. */
  frame(bytes: Uint8Array): Awaitable<void> {
    const parsed = parseLine(bytes);
    this.#send(this.#labels.begin(parsed));
    return then(
      this.#line(parsed, bytes),
      () => {
        this.#send(this.#labels.reply(this.#marks.end()));
        this.#send(this.#labels.settle(this.#batches.openBatch));
      },
    );
  }

  #line(parsed: ParseResult, bytes: Uint8Array): Awaitable<void> {
    switch (parsed.kind) {
      case "empty":
        return;
      case "too_long":
        // Refused lines cost what any line costs: looping them must still meet Excess Flood.
        return then(this.#port.hold(bytes.length), (ok) => {
          if (ok) this.#reply(numeric.inputTooLong(this.#client));
        });
      case "invalid_utf8": {
        const command = this.#port.user === null ? "*" : parsed.message.command;
        return then(this.#port.hold(bytes.length), (ok) => {
          if (!ok) return;
          this.#reply(serverReply.standard(
            "FAIL",
            command,
            "INVALID_UTF8",
            [],
            "Message rejected, your message must be UTF-8",
          ));
        });
      }
      case "message":
        break;
    }
    const message = parsed.message;
    const { command } = message;
    // A draft/multiline batch's lines are charged together when it ends (commands/batch.ts).
    if (this.#caps.has("draft/multiline") && this.#port.user !== null) {
      const taken = this.#batches.take(this.#host, message, bytes.length);
      if (taken !== NOT_A_BATCH_LINE) return taken;
    }
    // PONG and QUIT cost nothing: an answer to our ping, and a goodbye. A labeled PONG does
    // (its answer is an ACK: looped, a free echo). Everything else waits for the flood guard:
    // an IRC client is slowed down, never has a line dropped.
    const free = command === "QUIT" || (command === "PONG" && !message.tags.has("label"));
    if (free) return this.#handle(message);
    return then(this.#port.hold(bytes.length), (ok) => ok ? this.#handle(message) : undefined);
  }

  /** A line flood control let through. */
  #handle(message: IrcMessage): Awaitable<void> {
    if (this.#port.user === null && !BEFORE_REGISTRATION.has(message.command)) {
      this.#reply(numeric.notRegistered(this.#client));
      return;
    }
    return this.#dispatch(message);
  }

  #dispatch(message: IrcMessage): Awaitable<void> {
    const { command, params } = message;
    const c = this.#client;
    const need = (n: number): boolean => {
      if (params.length >= n && (n === 0 || params[0] !== "")) return true;
      this.#reply(numeric.needMoreParams(c, command));
      return false;
    };
    switch (command) {
      case "CAP":
        return this.#cap(params);
      case "PING": {
        if (params.length === 0) {
          this.#reply(numeric.noOrigin(c));
          return;
        }
        const pong = () =>
          this.#reply(serverReply.pong(this.#info.serverName, params[params.length - 1]));
        // After the echoes of messages sent before it, which wait for the store's commit: a
        // client (and irctest) takes the PONG to mean that everything before was answered.
        const settled = this.#port.settled();
        if (!(settled instanceof Promise)) return pong();
        return settled.then(pong, pong);
      }
      case "PONG":
        return;
      case "PASS":
        if (this.#port.user !== null) this.#reply(numeric.alreadyRegistered(c));
        else if (need(1)) this.#registration.pass = params[0];
        return;
      case "NICK":
        if (params.length === 0 || params[0] === "") {
          this.#reply(numeric.noNicknameGiven(c));
          return;
        }
        // Kept after registration too: a refusal (433, 432) names the nick asked for.
        this.#registration.nick = params[0];
        if (this.#port.user !== null) {
          // A trailing `NICK :a b` would hand the core's /nick two words.
          if (spaced(params[0])) return this.#reply(numeric.erroneusNickname(c, params[0]));
          // A change to the nick one has, spelled the same, is a no-op: no reply (Modern NICK).
          if (params[0] === this.#port.user.nick) return;
          return this.#command(`/nick ${params[0]}`, "", this.#remember("NICK", params[0]));
        }
        return this.#tryLogin();
      case "USER":
        if (this.#port.user !== null) this.#reply(numeric.alreadyRegistered(c));
        else if (!this.#registration.user(params)) this.#reply(numeric.needMoreParams(c, command));
        else return this.#tryLogin();
        return;
      case "QUIT":
        return this.#quit(params[0] ?? "");
      case "AUTHENTICATE":
        if (!need(1)) return;
        if (!this.#caps.has("sasl") && this.#port.user === null) {
          this.#reply(numeric.saslFail(c));
          return;
        }
        return then(
          this.#registration.sasl.step(this.#saslHost(), params[0], this.#port.user !== null),
          () => this.#tryLogin(),
        );
      case "JOIN":
        if (!need(1)) return;
        return join(this.#host, params[0], params[1]);
      case "PART":
        if (!need(1)) return;
        return eachCharged(
          this.#host,
          params[0].split(","),
          (room) => part(this.#host, room, params[1]),
        );
      case "PRIVMSG":
      case "NOTICE":
        return sendMessage(this.#host, command, params);
      case "TOPIC":
        if (!need(1)) return;
        return topic(this.#host, params[0], params.length > 1 ? params[1] : undefined);
      case "NAMES":
        return names(this.#host, params[0]);
      case "MODE":
        if (!need(1)) return;
        return mode(this.#host, params);
      case "KICK":
        if (!need(2)) return;
        return kick(this.#host, params);
      case "WHO":
        if (!need(1)) return;
        this.#replies(whoLines(this.#query(), params[0], params[1] ?? "", Date.now()));
        return;
      case "WHOIS":
        if (params.length === 0 || params[0] === "") {
          this.#reply(numeric.noNicknameGiven(c));
          return;
        }
        this.#replies(whoisLines(this.#query(), params[params.length - 1], Date.now()));
        return;
      case "ISON":
        if (!need(1)) return;
        this.#replies(isonLines(this.#query(), params.flatMap((p) => p.split(" "))));
        return;
      case "OPER":
        if (!need(2)) return;
        // No secret configured: no OPER can work, whatever is sent (no lockout charged).
        if (!this.#port.chat.hasOperSecret) this.#reply(numeric.noOperHost(c));
        else this.#oper(params[1]);
        return;
      case "WHOWAS":
        if (params.length === 0 || params[0] === "") {
          this.#reply(numeric.noNicknameGiven(c));
          return;
        }
        this.#replies(whowasLines(this.#query(), params[0], params[1]));
        return;
      case "SETNAME": {
        const ident = this.#registration.ident ?? "u";
        setname({ port: this.#port, client: c, ident, reply: (l) => this.#reply(l) }, params[0]);
        return;
      }
      case "KILL":
        if (!need(1)) return;
        if (spaced(params[0])) return this.#reply(numeric.noSuchNick(c, params[0]));
        return this.#command(
          `/kill ${params[0]} ${params[1] ?? ""}`.trim(),
          "",
          this.#remember("KILL", params[0]),
        );
      case "NS":
      case "NICKSERV":
        return tellService(this.#host, "NickServ", params.join(" "));
      case "IDENTIFY":
        // irssi sends its `/identify [nick] password` raw: NickServ IDENTIFY, as NS is.
        return tellService(this.#host, "NickServ", ["IDENTIFY", ...params].join(" "));
      case "CS":
      case "CHANSERV":
        return tellService(this.#host, "ChanServ", params.join(" "));
      case "TAGMSG":
        return; // client-only tags are not relayed (CLIENTTAGDENY=*)
      case "LIST":
        this.#replies(listLines(this.#query(), MAX_ROOMS_LISTED));
        return;
      case "USERHOST":
        if (!need(1)) return;
        this.#replies(userhostLines(this.#query(), params));
        return;
      case "TIME":
        this.#reply(numeric.time(c, this.#info.serverName, new Date().toUTCString()));
        return;
      case "LUSERS":
        this.#replies(lusersLines(this.#query()));
        return;
      case "MOTD":
        this.#replies(motdLines(c, this.#info.serverName, this.#info.motd));
        return;
      case "VERSION":
        this.#reply(numeric.version(c, this.#info.version, this.#info.serverName, "sockchat"));
        return;
      case "INFO":
        this.#replies([numeric.info(c, `sockchat ${this.#info.version}`), numeric.endOfInfo(c)]);
        return;
      case "AWAY":
        return this.#away(params[0] ?? "");
      case "CHATHISTORY":
        return chathistory(this.#host, {
          caps: this.#caps,
          batchId: () => `h${(++this.#historyBatches).toString(36)}`,
        }, params);
      case "INVITE":
        if (!need(2)) return;
        if (spaced(params[0])) return this.#reply(numeric.noSuchNick(c, params[0]));
        if (!params[1].startsWith("#") || spaced(params[1])) {
          return this.#reply(numeric.noSuchChannel(c, params[1]));
        }
        {
          const refusal = inviteRefusal(this.#port.chat, c, params[0], params[1]);
          if (refusal !== null) return this.#reply(refusal);
        }
        return this.#command(
          `/invite ${params[0]} ${params[1]}`,
          "",
          this.#remember("INVITE", params[1], params[0]), // the nick, for 341
        );
      default:
        this.#reply(numeric.unknownCommand(c, command));
    }
  }

  /** `CAP LS|REQ|END|LIST` (contract §2.1). */
  #cap(params: readonly string[]): Awaitable<void> {
    const c = this.#client;
    const sub = (params[0] ?? "").toUpperCase();
    const registered = this.#port.user !== null;
    switch (sub) {
      case "LS":
        this.#capVersion = Math.max(this.#capVersion, capLsVersion(params[1]));
        if (this.#capVersion >= 302) this.#caps.add("cap-notify");
        if (!registered) this.#registration.negotiating = true;
        this.#replies(capLsLines(this.#info.serverName, c, this.#offer, this.#capVersion));
        return;
      case "REQ": {
        if (!registered) this.#registration.negotiating = true;
        const result = parseCapReq(params[1] ?? "", this.#offer, this.#capVersion);
        if (result.kind === "ack") {
          for (const cap of result.enable) this.#caps.add(cap);
          for (const cap of result.disable) this.#caps.delete(cap);
        }
        this.#reply(capReqReply(c, result));
        return;
      }
      case "LIST":
        this.#replies(capListLines(this.#info.serverName, c, this.#caps));
        return;
      case "END":
        if (registered) return;
        this.#registration.negotiating = false;
        return this.#tryLogin();
      default:
        this.#reply(numeric.invalidCapCmd(c, params[0] ?? "*"));
    }
  }

  /** Logs in once NICK and USER are in and CAP negotiation is over. */
  #tryLogin(): Awaitable<void> {
    const registration = this.#registration;
    if (!registration.ready || this.#port.user !== null) return;
    registration.sasl.abandon(this.#saslHost());
    const attempt = registration.attempt(this.#port.needsPassword);
    if (registration.sasl.account !== null && attempt.accountProof === undefined) {
      // SASL said 900, but the account's nick is held by another live session of the account
      // (433 came): this login is a guest's under the alternative nick, so the client is told
      // it is not logged in after all.
      const mask = `${attempt.nick}!~${registration.ident ?? "u"}@${cloakOf(this.#port.address)}`;
      this.#reply(numeric.loggedOut(attempt.nick, mask));
    }
    if (attempt.nick !== registration.nick) registration.nick = attempt.nick;
    registration.pending = true;
    return then(this.#port.login(attempt), () => {
      registration.pending = false;
    });
  }

  /** `QUIT [:msg]`: `ERROR`, then the core's goodbye to the rooms. */
  #quit(message: string): Awaitable<void> {
    const why = message === "" ? "Quit" : `Quit: ${message}`;
    this.#port.sendRaw(
      encoder.encode(encodeLine(serverReply.error(cloakOf(this.#port.address), why))),
    );
    if (this.#port.user === null) {
      this.#port.quit();
      return;
    }
    return then(this.#port.command(`/quit ${message}`, ""), () => {});
  }

  /**
   * A ref for a core call made for `command` on `target`, remembered (the oldest forgotten past
   * {@linkcode IRC_PENDING_REFS}); a message's text is kept, cleaned as the core cleans it, for
   * echo-message.
   */
  #remember(
    command: string,
    target: string,
    text = "",
    action = false,
    extras: EchoExtras = {},
  ): string {
    const ref = `i${++this.#refs}`;
    this.#labels.claim(ref, command === "PRIVMSG" || command === "NOTICE");
    if (this.#pending.size >= IRC_PENDING_REFS) {
      const oldest = this.#pending.keys().next().value;
      if (oldest !== undefined) this.#pending.delete(oldest);
    }
    this.#pending.set(ref, {
      target,
      text: sanitizeFormattedText(text),
      command,
      action,
      ...extras,
    });
    return ref;
  }

  /** `OPER <name> <secret>`: 381 and `MODE <me> :+o`, or 464 (the connection stays). */
  #oper(secret: string): void {
    const c = this.#client;
    const ref = this.#remember("OPER", c);
    const ok = this.#port.oper(secret, ref);
    this.#pending.delete(ref);
    const user = this.#port.user;
    if (!ok || user === null) return;
    this.#reply(numeric.youreOper(c));
    const mode: IrcLine = {
      source: hostmaskOf(user),
      command: "MODE",
      params: [c, "+o"],
      trailing: true,
    };
    this.#reply(mode);
  }

  /**
   * `AWAY [:msg]`: the core's /away or /back; its answer, tied to AWAY, is rendered as 306 or
   * 305, and a refusal (past AWAYLEN) as the error it is.
   */
  #away(message: string): Awaitable<void> {
    const line = message.trim() !== "" ? `/away ${message}` : "/back";
    return this.#command(line, "", this.#remember("AWAY", this.#client));
  }

  /** What the SASL exchange needs. */
  #saslHost(): SaslHost {
    // Before 001 the numerics name the NICK given so far (contract §5.10), not `*`.
    const c = this.#port.user === null ? this.#registration.nick ?? this.#client : this.#client;
    const ident = this.#registration.ident ?? "u";
    return {
      port: this.#port,
      client: c,
      mask: `${this.#registration.nick ?? "*"}!~${ident}@${cloakOf(this.#port.address)}`,
      replies: (lines) => this.#replies(lines),
      bare: (line) => this.#send([line]),
    };
  }

  /** What the read-only commands need. */
  #query(): QueryContext {
    const { chat } = this.#port;
    const multiPrefix = this.#caps.has("multi-prefix");
    return { chat, client: this.#client, serverName: this.#info.serverName, multiPrefix };
  }

  /** Runs a core slash command for the logged-in user, its answers tied to `ref`. */
  #command(line: string, room: string, ref: string): Awaitable<void> {
    // Its answers (errors included) came while it ran: the ref is done with.
    return then(this.#port.command(line, room, ref), () => void this.#pending.delete(ref));
  }

  #reply(line: IrcLine): void {
    this.#replies([line]);
  }

  #replies(lines: readonly IrcLine[]): void {
    const source = this.#info.serverName;
    const sourced = lines.map((line) => ({ source, ...line }));
    const standard = this.#caps.has("standard-replies");
    this.#send(this.#labels.reply(standardRepliesFor(sourced, this.#client, standard)));
  }

  /** Sends lines as they are (a labeled response's lines come here once it is done). */
  #send(lines: readonly IrcLine[]): void {
    if (lines.length > 0) this.#port.sendRaw(encoder.encode(lines.map(encodeLine).join("")));
  }
}

/**
 * True if an IRC parameter (a trailing one) has a space: put in a command line, it would be
 * several words.
 */
function spaced(param: string): boolean {
  return /\s/.test(param);
}
