/**
 * The virtual `NickServ` and `ChanServ` (contract §0): what IRC users type to register nicks and
 * claim rooms, translated to the core's own commands (`/register`, `/identify`, `/unregister`,
 * `/op` …). Their answers come back as NOTICEs from the service (see `render.ts`).
 *
 * @module
 */

import type { Awaitable } from "../../../core/awaitable.ts";
import type { CommandHost } from "./host.ts";

/** The two service nicks, as IRC users write them (case-insensitive). */
export type ServiceName = "NickServ" | "ChanServ";

/**
 * The service `target` names, or null for any other nick.
 *
 * @example
 * ```ts
 * serviceOf("nickserv"); // "NickServ"
 * serviceOf("alice"); // null
 * ```
 */
export function serviceOf(target: string): ServiceName | null {
  switch (target.toLowerCase()) {
    case "nickserv":
      return "NickServ";
    case "chanserv":
      return "ChanServ";
    default:
      return null;
  }
}

/** HELP text of each service, one NOTICE a line. */
const HELP: Readonly<Record<ServiceName, string>> = {
  NickServ: "REGISTER <password> - make your nick yours\n" +
    "IDENTIFY [nick] <password> - prove a nick you registered\n" +
    "DROP [nick] - unregister your nick",
  ChanServ: "REGISTER <#room> - claim a room you are an operator of (needs a registered nick)\n" +
    "DROP <#room> - release a claim\n" +
    "OP|DEOP|VOICE|DEVOICE <#room> <nick> - room operator and voice",
};

/**
 * The core command for `text` sent to `service`, or null when it is not one it knows (then
 * {@linkcode serviceRefusal} answers).
 *
 * @example
 * ```ts
 * serviceCommand("ChanServ", "REGISTER #rust"); // "/register #rust"
 * serviceCommand("NickServ", "IDENTIFY pw"); // "/identify pw"
 * ```
 */
export function serviceCommand(service: ServiceName, text: string): string | null {
  const [verb = "", ...rest] = text.trim().split(/\s+/);
  const args = rest.join(" ");
  switch (`${service} ${verb.toUpperCase()}`) {
    case "NickServ REGISTER":
      return rest.length === 1 ? `/register ${args}` : null;
    case "NickServ IDENTIFY":
      return rest.length === 1 || rest.length === 2 ? `/identify ${args}` : null;
    case "NickServ GHOST":
    case "NickServ REGAIN":
    case "NickServ RECOVER":
      // Other networks' ways to take a nick back from a ghost: IDENTIFY nick password does it.
      return rest.length === 2 ? `/identify ${args}` : null;
    case "NickServ DROP":
      return rest.length <= 1 ? `/unregister ${args}`.trim() : null;
    case "ChanServ REGISTER":
      return rest.length === 1 && args.startsWith("#") ? `/register ${args}` : null;
    case "ChanServ DROP":
      return rest.length === 1 && args.startsWith("#") ? `/unregister ${args}` : null;
    case "ChanServ OP":
    case "ChanServ DEOP":
    case "ChanServ VOICE":
    case "ChanServ DEVOICE":
      // IRC habit is ROOM then NICK; the core's order is NICK then ROOM.
      return rest.length === 2 && rest[0].startsWith("#")
        ? `/${verb.toLowerCase()} ${rest[1]} ${rest[0]}`
        : null;
    default:
      return null;
  }
}

/**
 * The core's hints name sockchat's slash commands, which IRC clients do not have (irssi sends
 * `/register` raw, WeeChat refuses it): each becomes the service message that does the same.
 * Applied in order; `NICK` stands for the reader's nick.
 */
const IRC_HINTS: readonly (readonly [RegExp, string])[] = [
  // An IRC session has no key to register: only the password form is left.
  [/ ?\(or \/register binds it to your key\)/g, ""],
  [/\/register \(your key\) or \/register PASSWORD/g, "/msg NickServ REGISTER PASSWORD"],
  [/\/identify it\b/g, "/msg NickServ IDENTIFY NICK PASSWORD"],
  [/\/identify\b/g, "/msg NickServ IDENTIFY"],
  [/\/register (#\S+)/g, "/msg ChanServ REGISTER $1"],
  [/\/unregister (#\S+)/g, "/msg ChanServ DROP $1"],
  [/\/register first\b/g, "/msg NickServ REGISTER PASSWORD first"],
  [/\/register\b/g, "/msg NickServ REGISTER"],
  [/\/unregister\b/g, "/msg NickServ DROP"],
];

/**
 * A core sentence as an IRC user should read it: the sockchat commands it names (`/identify`,
 * `/register`, `/unregister`) become the NickServ or ChanServ messages that do the same, for
 * the reader `nick`. The core stays free of IRC words; only the IRC renderer calls this.
 *
 * @example
 * ```ts
 * ircHint('give its password (/identify alice PASSWORD once logged in)', "*");
 * // "give its password (/msg NickServ IDENTIFY alice PASSWORD once logged in)"
 * ```
 */
export function ircHint(text: string, nick: string): string {
  if (!text.includes("/")) return text;
  let out = text;
  for (const [pattern, replacement] of IRC_HINTS) {
    out = out.replace(pattern, replacement.replace("NICK", () => nick));
  }
  return out;
}

/** NickServ's verbs other networks use to take a nick back from a ghost (IDENTIFY here). */
const GHOST_VERBS: ReadonlySet<string> = new Set(["GHOST", "REGAIN", "RECOVER"]);

/**
 * What `service` answers to `text` it cannot run: its HELP when asked for it (or sent nothing),
 * else one sentence saying what was wrong and what to type instead.
 *
 * @example
 * ```ts
 * serviceRefusal("NickServ", "INFO dave");
 * // ["Unknown command INFO. /msg NickServ HELP for the commands"]
 * ```
 */
export function serviceRefusal(service: ServiceName, text: string): string[] {
  const [verb = "", ...rest] = text.trim().split(/\s+/);
  const upper = verb.toUpperCase();
  if (upper === "" || upper === "HELP") return HELP[service].split("\n");
  if (service === "NickServ" && GHOST_VERBS.has(upper)) {
    const nick = rest[0] ?? "NICK";
    return [
      `${upper} needs the nick and its password: /msg NickServ ${upper} ${nick} PASSWORD ` +
      `(the same as /msg NickServ IDENTIFY ${nick} PASSWORD, which takes the nick over from a ghost).`,
    ];
  }
  const usage = HELP[service].split("\n").find((line) => line.split(/[ |]/).includes(upper));
  if (usage !== undefined) return [`Usage: /msg ${service} ${usage}`];
  return [`Unknown command ${verb}. /msg ${service} HELP for the commands`];
}

/**
 * Runs `text` as a message to `service`: the core command it stands for, answered by NOTICEs
 * from the service; anything else gets {@linkcode serviceRefusal}.
 */
export function tellService(
  host: CommandHost,
  service: ServiceName,
  text: string,
): Awaitable<void> {
  const line = serviceCommand(service, text);
  if (line === null) {
    host.replies(
      serviceRefusal(service, text).map((help) => ({
        source: `${service}!service@services.sc`,
        command: "NOTICE",
        params: [host.client, help],
        trailing: true,
      })),
    );
    return;
  }
  return host.command(line, "", host.remember(service, service));
}
