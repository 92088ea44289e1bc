/**
 * Every numeric reply the IRC front end sends (contract Appendix A), as builders that put the
 * parameters in the order modern-irc documents and fill in the standard texts. A builder returns
 * an {@linkcode IrcLine} without source: the session adds `source: serverName` (and tags) and
 * passes it to `encodeLine`. `client` is always the reader's nick, or `*` before it has one.
 *
 * The fixed non-numeric replies (`PONG`, `ERROR`, `FAIL`/`WARN`/`NOTE`, `ACK`, `BATCH`) are in
 * {@linkcode serverReply} at the end, so one module holds every fixed reply format.
 *
 * @module
 */

import type { IrcLine } from "./line.ts";

/** The numeric codes by their modern-irc names. */
export const NUMERIC = {
  RPL_WELCOME: "001",
  RPL_YOURHOST: "002",
  RPL_CREATED: "003",
  RPL_MYINFO: "004",
  RPL_ISUPPORT: "005",
  RPL_UMODEIS: "221",
  RPL_LUSERCLIENT: "251",
  RPL_LUSEROP: "252",
  RPL_LUSERUNKNOWN: "253",
  RPL_LUSERCHANNELS: "254",
  RPL_LUSERME: "255",
  RPL_LOCALUSERS: "265",
  RPL_GLOBALUSERS: "266",
  RPL_AWAY: "301",
  RPL_USERHOST: "302",
  RPL_ISON: "303",
  RPL_UNAWAY: "305",
  RPL_NOWAWAY: "306",
  RPL_WHOISUSER: "311",
  RPL_WHOISSERVER: "312",
  RPL_WHOISOPERATOR: "313",
  RPL_WHOWASUSER: "314",
  RPL_ENDOFWHO: "315",
  RPL_WHOISIDLE: "317",
  RPL_ENDOFWHOIS: "318",
  RPL_WHOISCHANNELS: "319",
  RPL_LISTSTART: "321",
  RPL_LIST: "322",
  RPL_LISTEND: "323",
  RPL_CHANNELMODEIS: "324",
  RPL_CREATIONTIME: "329",
  RPL_WHOISACCOUNT: "330",
  RPL_NOTOPIC: "331",
  RPL_TOPIC: "332",
  RPL_TOPICWHOTIME: "333",
  RPL_INVITELIST: "336",
  RPL_ENDOFINVITELIST: "337",
  RPL_WHOISACTUALLY: "338",
  RPL_INVITING: "341",
  RPL_VERSION: "351",
  RPL_WHOREPLY: "352",
  RPL_NAMREPLY: "353",
  RPL_WHOSPCRPL: "354",
  RPL_ENDOFNAMES: "366",
  RPL_BANLIST: "367",
  RPL_ENDOFBANLIST: "368",
  RPL_ENDOFWHOWAS: "369",
  RPL_INFO: "371",
  RPL_MOTD: "372",
  RPL_ENDOFINFO: "374",
  RPL_MOTDSTART: "375",
  RPL_ENDOFMOTD: "376",
  RPL_YOUREOPER: "381",
  RPL_TIME: "391",
  ERR_NOSUCHNICK: "401",
  ERR_NOSUCHCHANNEL: "403",
  ERR_CANNOTSENDTOCHAN: "404",
  ERR_TOOMANYCHANNELS: "405",
  ERR_WASNOSUCHNICK: "406",
  ERR_TOOMANYTARGETS: "407",
  ERR_NOORIGIN: "409",
  ERR_INVALIDCAPCMD: "410",
  ERR_NORECIPIENT: "411",
  ERR_NOTEXTTOSEND: "412",
  ERR_INPUTTOOLONG: "417",
  ERR_UNKNOWNCOMMAND: "421",
  ERR_NOMOTD: "422",
  ERR_NONICKNAMEGIVEN: "431",
  ERR_ERRONEUSNICKNAME: "432",
  ERR_NICKNAMEINUSE: "433",
  ERR_USERNOTINCHANNEL: "441",
  ERR_NOTONCHANNEL: "442",
  ERR_USERONCHANNEL: "443",
  ERR_NOTREGISTERED: "451",
  ERR_NEEDMOREPARAMS: "461",
  ERR_ALREADYREGISTERED: "462",
  ERR_PASSWDMISMATCH: "464",
  ERR_YOUREBANNEDCREEP: "465",
  ERR_CHANNELISFULL: "471",
  ERR_UNKNOWNMODE: "472",
  ERR_INVITEONLYCHAN: "473",
  ERR_BANNEDFROMCHAN: "474",
  ERR_BADCHANNELKEY: "475",
  ERR_BADCHANMASK: "476",
  ERR_NEEDREGGEDNICK: "477",
  ERR_BANLISTFULL: "478",
  ERR_NOPRIVILEGES: "481",
  ERR_CHANOPRIVSNEEDED: "482",
  ERR_NOOPERHOST: "491",
  ERR_UMODEUNKNOWNFLAG: "501",
  ERR_USERSDONTMATCH: "502",
  RPL_WHOISSECURE: "671",
  ERR_INVALIDMODEPARAM: "696",
  RPL_LOGGEDIN: "900",
  RPL_LOGGEDOUT: "901",
  RPL_SASLSUCCESS: "903",
  ERR_SASLFAIL: "904",
  ERR_SASLTOOLONG: "905",
  ERR_SASLABORTED: "906",
  ERR_SASLALREADY: "907",
  RPL_SASLMECHS: "908",
} as const;

/** A numeric's modern-irc name (`RPL_WELCOME`, `ERR_NEEDMOREPARAMS`, …). */
export type NumericName = keyof typeof NUMERIC;

/** `<code> <client> <middle...> :<text>` — human text is always written trailing. */
function reply(
  name: NumericName,
  client: string,
  middle: readonly string[],
  text: string,
): IrcLine {
  return { command: NUMERIC[name], params: [client, ...middle, text], trailing: true };
}

/**
 * The core's sentence on a bad room name in IRC words ("channel" for "room"), or undefined.
 *
 * @example
 * ```ts
 * channelProblem("A room name needs 1 to 32 characters after the #.");
 * // "A channel name needs 1 to 32 characters after the #."
 * ```
 */
export function channelProblem(problem: string | undefined): string | undefined {
  return problem?.replace(
    /\b([Rr])oom( names?)\b/g,
    (_, r: string, rest: string) => (r === "R" ? "Channel" : "channel") + rest,
  );
}

/** `<code> <client> <params...>` — no human text, the last parameter written bare if it can be. */
function bare(name: NumericName, client: string, params: readonly string[]): IrcLine {
  return { command: NUMERIC[name], params: [client, ...params] };
}

/**
 * Builders for every numeric of contract Appendix A, named after the numeric (camel case, no
 * `RPL_`/`ERR_`). Each returns the line without source.
 *
 * @example
 * ```ts
 * import { numeric } from "./numerics.ts";
 * import { encodeLine } from "./line.ts";
 * encodeLine({ source: "irc.test", ...numeric.needMoreParams("alice", "JOIN") });
 * // ":irc.test 461 alice JOIN :Not enough parameters\r\n"
 * ```
 */
export const numeric = {
  welcome: (c: string, network: string, nick: string): IrcLine =>
    reply("RPL_WELCOME", c, [], `Welcome to the ${network} Network, ${nick}`),
  yourHost: (c: string, server: string, version: string): IrcLine =>
    reply("RPL_YOURHOST", c, [], `Your host is ${server}, running version ${version}`),
  created: (c: string, datetime: string): IrcLine =>
    reply("RPL_CREATED", c, [], `This server was created ${datetime}`),
  myInfo: (
    c: string,
    server: string,
    version: string,
    userModes: string,
    channelModes: string,
    paramModes: string,
  ): IrcLine => bare("RPL_MYINFO", c, [server, version, userModes, channelModes, paramModes]),
  /** One `005` line; `tokens` must be 1–13 (see `isupport.ts`, which splits them). */
  isupport: (c: string, tokens: readonly string[]): IrcLine =>
    reply("RPL_ISUPPORT", c, tokens, "are supported by this server"),
  uModeIs: (c: string, modes: string): IrcLine => bare("RPL_UMODEIS", c, [modes]),
  luserClient: (c: string, users: number, invisible: number, servers: number): IrcLine =>
    reply(
      "RPL_LUSERCLIENT",
      c,
      [],
      `There are ${users} users and ${invisible} invisible on ${servers} servers`,
    ),
  luserOp: (c: string, ops: number): IrcLine =>
    reply("RPL_LUSEROP", c, [String(ops)], "operator(s) online"),
  luserUnknown: (c: string, connections: number): IrcLine =>
    reply("RPL_LUSERUNKNOWN", c, [String(connections)], "unknown connection(s)"),
  luserChannels: (c: string, channels: number): IrcLine =>
    reply("RPL_LUSERCHANNELS", c, [String(channels)], "channels formed"),
  luserMe: (c: string, clients: number, servers: number): IrcLine =>
    reply("RPL_LUSERME", c, [], `I have ${clients} clients and ${servers} servers`),
  localUsers: (c: string, u: number, m: number): IrcLine =>
    reply("RPL_LOCALUSERS", c, [String(u), String(m)], `Current local users ${u}, max ${m}`),
  globalUsers: (c: string, u: number, m: number): IrcLine =>
    reply("RPL_GLOBALUSERS", c, [String(u), String(m)], `Current global users ${u}, max ${m}`),
  away: (c: string, nick: string, message: string): IrcLine =>
    reply("RPL_AWAY", c, [nick], message),
  /** `replies`: `nick[*]=<+|->~ident@host` each (`*` operator, `-` away). */
  userhost: (c: string, replies: readonly string[]): IrcLine =>
    reply("RPL_USERHOST", c, [], replies.join(" ")),
  ison: (c: string, nicks: readonly string[]): IrcLine => reply("RPL_ISON", c, [], nicks.join(" ")),
  unaway: (c: string): IrcLine =>
    reply("RPL_UNAWAY", c, [], "You are no longer marked as being away"),
  nowAway: (c: string): IrcLine =>
    reply("RPL_NOWAWAY", c, [], "You have been marked as being away"),
  whoisUser: (c: string, nick: string, user: string, host: string, realname: string): IrcLine =>
    reply("RPL_WHOISUSER", c, [nick, user, host, "*"], realname),
  whoisServer: (c: string, nick: string, server: string, info: string): IrcLine =>
    reply("RPL_WHOISSERVER", c, [nick, server], info),
  whoisOperator: (c: string, nick: string): IrcLine =>
    reply("RPL_WHOISOPERATOR", c, [nick], "is an IRC operator"),
  whowasUser: (c: string, nick: string, user: string, host: string, realname: string): IrcLine =>
    reply("RPL_WHOWASUSER", c, [nick, user, host, "*"], realname),
  /** `mask` exactly as the client sent it (irctest). */
  endOfWho: (c: string, mask: string): IrcLine =>
    reply("RPL_ENDOFWHO", c, [mask], "End of WHO list"),
  whoisIdle: (c: string, nick: string, idleSeconds: number, signonUnix: number): IrcLine =>
    reply(
      "RPL_WHOISIDLE",
      c,
      [nick, String(idleSeconds), String(signonUnix)],
      "seconds idle, signon time",
    ),
  endOfWhois: (c: string, nick: string): IrcLine =>
    reply("RPL_ENDOFWHOIS", c, [nick], "End of /WHOIS list"),
  /** `channels` already prefixed (`@#rust`). */
  whoisChannels: (c: string, nick: string, channels: readonly string[]): IrcLine =>
    reply("RPL_WHOISCHANNELS", c, [nick], channels.join(" ")),
  listStart: (c: string): IrcLine => reply("RPL_LISTSTART", c, ["Channel"], "Users  Name"),
  list: (c: string, channel: string, count: number, topic: string): IrcLine =>
    reply("RPL_LIST", c, [channel, String(count)], topic),
  listEnd: (c: string): IrcLine => reply("RPL_LISTEND", c, [], "End of /LIST"),
  channelModeIs: (c: string, channel: string, modes: string, args: readonly string[]): IrcLine =>
    bare("RPL_CHANNELMODEIS", c, [channel, modes, ...args]),
  creationTime: (c: string, channel: string, createdUnix: number): IrcLine =>
    bare("RPL_CREATIONTIME", c, [channel, String(createdUnix)]),
  whoisAccount: (c: string, nick: string, account: string): IrcLine =>
    reply("RPL_WHOISACCOUNT", c, [nick, account], "is logged in as"),
  noTopic: (c: string, channel: string): IrcLine =>
    reply("RPL_NOTOPIC", c, [channel], "No topic is set"),
  topic: (c: string, channel: string, topic: string): IrcLine =>
    reply("RPL_TOPIC", c, [channel], topic),
  topicWhoTime: (c: string, channel: string, setter: string, setAtUnix: number): IrcLine =>
    bare("RPL_TOPICWHOTIME", c, [channel, setter, String(setAtUnix)]),
  inviteList: (c: string, channel: string): IrcLine => bare("RPL_INVITELIST", c, [channel]),
  endOfInviteList: (c: string): IrcLine =>
    reply("RPL_ENDOFINVITELIST", c, [], "End of /INVITE list"),
  whoisActually: (c: string, nick: string, ip: string): IrcLine =>
    reply("RPL_WHOISACTUALLY", c, [nick, ip], "Is actually using host"),
  inviting: (c: string, nick: string, channel: string): IrcLine =>
    bare("RPL_INVITING", c, [nick, channel]),
  version: (c: string, version: string, server: string, comments: string): IrcLine =>
    reply("RPL_VERSION", c, [version, server], comments),
  info: (c: string, text: string): IrcLine => reply("RPL_INFO", c, [], text),
  endOfInfo: (c: string): IrcLine => reply("RPL_ENDOFINFO", c, [], "End of INFO list"),
  /** `flags`: `H|G`, then `*` for an operator, then `@`/`+` (all with multi-prefix). */
  whoReply: (
    c: string,
    r: {
      readonly channel: string;
      readonly user: string;
      readonly host: string;
      readonly server: string;
      readonly nick: string;
      readonly flags: string;
      readonly realname: string;
    },
  ): IrcLine =>
    reply(
      "RPL_WHOREPLY",
      c,
      [r.channel, r.user, r.host, r.server, r.nick, r.flags],
      `0 ${r.realname}`,
    ),
  /** `names`: prefixed nicks; the caller packs them so the line fits 512 bytes. */
  namReply: (c: string, channel: string, names: readonly string[]): IrcLine =>
    reply("RPL_NAMREPLY", c, ["=", channel], names.join(" ")),
  /**
   * WHOX reply: `fields` are the requested values in canonical order (t c u i h s n f d l a o),
   * `realname` is given when `r` was requested and is written trailing.
   */
  whoSpcRpl: (c: string, fields: readonly string[], realname?: string): IrcLine =>
    realname === undefined
      ? bare("RPL_WHOSPCRPL", c, fields)
      : reply("RPL_WHOSPCRPL", c, fields, realname),
  endOfNames: (c: string, channel: string): IrcLine =>
    reply("RPL_ENDOFNAMES", c, [channel], "End of /NAMES list"),
  banList: (c: string, channel: string, mask: string, setter: string, setAtUnix: number): IrcLine =>
    bare("RPL_BANLIST", c, [channel, mask, setter, String(setAtUnix)]),
  endOfBanList: (c: string, channel: string): IrcLine =>
    reply("RPL_ENDOFBANLIST", c, [channel], "End of channel ban list"),
  endOfWhowas: (c: string, nick: string): IrcLine =>
    reply("RPL_ENDOFWHOWAS", c, [nick], "End of WHOWAS"),
  /** One MOTD line; the builder adds the customary `- ` in front. */
  motd: (c: string, line: string): IrcLine => reply("RPL_MOTD", c, [], `- ${line}`),
  motdStart: (c: string, server: string): IrcLine =>
    reply("RPL_MOTDSTART", c, [], `- ${server} Message of the day - `),
  endOfMotd: (c: string): IrcLine => reply("RPL_ENDOFMOTD", c, [], "End of /MOTD command."),
  youreOper: (c: string): IrcLine => reply("RPL_YOUREOPER", c, [], "You are now an IRC operator"),
  time: (c: string, server: string, human: string): IrcLine =>
    reply("RPL_TIME", c, [server], human),
  noSuchNick: (c: string, nick: string): IrcLine =>
    reply("ERR_NOSUCHNICK", c, [nick], "No such nick/channel"),
  /**
   * 403; `problem`: why the name can be no channel's (`roomProblem`), said instead of the bare
   * "No such channel" (the numeric stays 403: 479 means other things on other servers).
   */
  noSuchChannel: (c: string, channel: string, problem?: string): IrcLine =>
    reply("ERR_NOSUCHCHANNEL", c, [channel], channelProblem(problem) ?? "No such channel"),
  /** `text`: the core's sentence for +m, mute or ban; the standard text otherwise. */
  cannotSendToChan: (c: string, channel: string, text = "Cannot send to channel"): IrcLine =>
    reply("ERR_CANNOTSENDTOCHAN", c, [channel], text),
  tooManyChannels: (c: string, channel: string): IrcLine =>
    reply("ERR_TOOMANYCHANNELS", c, [channel], "You have joined too many channels"),
  /** More targets in one line than ISUPPORT `TARGMAX` allows: nothing was sent. */
  tooManyTargets: (c: string, target: string): IrcLine =>
    reply("ERR_TOOMANYTARGETS", c, [target], "Too many targets"),
  wasNoSuchNick: (c: string, nick: string): IrcLine =>
    reply("ERR_WASNOSUCHNICK", c, [nick], "There was no such nickname"),
  noOrigin: (c: string): IrcLine => reply("ERR_NOORIGIN", c, [], "No origin specified"),
  invalidCapCmd: (c: string, sub: string): IrcLine =>
    reply("ERR_INVALIDCAPCMD", c, [sub], "Invalid CAP command"),
  noRecipient: (c: string, command: string): IrcLine =>
    reply("ERR_NORECIPIENT", c, [], `No recipient given (${command})`),
  noTextToSend: (c: string): IrcLine => reply("ERR_NOTEXTTOSEND", c, [], "No text to send"),
  inputTooLong: (c: string): IrcLine => reply("ERR_INPUTTOOLONG", c, [], "Input line was too long"),
  unknownCommand: (c: string, command: string): IrcLine =>
    reply("ERR_UNKNOWNCOMMAND", c, [command], "Unknown command"),
  noMotd: (c: string): IrcLine => reply("ERR_NOMOTD", c, [], "MOTD File is missing"),
  noNicknameGiven: (c: string): IrcLine => reply("ERR_NONICKNAMEGIVEN", c, [], "No nickname given"),
  erroneusNickname: (c: string, nick: string): IrcLine =>
    reply("ERR_ERRONEUSNICKNAME", c, [nick], "Erroneous nickname"),
  /** `lookalike`: the holder's spelling when only the folded keys match. */
  nicknameInUse: (c: string, nick: string, lookalike?: string): IrcLine =>
    reply(
      "ERR_NICKNAMEINUSE",
      c,
      [nick],
      lookalike === undefined
        ? "Nickname is already in use"
        : `Nickname is already in use (looks the same as ${lookalike})`,
    ),
  /**
   * 433 for a nick registered to an account this connection has not proven (`nick_registered`);
   * `need`: what proves it, a password saying how to give it.
   */
  nicknameReserved: (c: string, nick: string, need?: string): IrcLine =>
    reply(
      "ERR_NICKNAMEINUSE",
      c,
      [nick],
      need === "password"
        ? `Nickname is registered: /msg NickServ IDENTIFY ${nick} PASSWORD`
        : "Nickname is registered to a different account",
    ),
  userNotInChannel: (c: string, nick: string, channel: string): IrcLine =>
    reply("ERR_USERNOTINCHANNEL", c, [nick, channel], "They aren't on that channel"),
  notOnChannel: (c: string, channel: string): IrcLine =>
    reply("ERR_NOTONCHANNEL", c, [channel], "You're not on that channel"),
  userOnChannel: (c: string, nick: string, channel: string): IrcLine =>
    reply("ERR_USERONCHANNEL", c, [nick, channel], "is already on channel"),
  notRegistered: (c: string): IrcLine =>
    reply("ERR_NOTREGISTERED", c, [], "You have not registered"),
  needMoreParams: (c: string, command: string): IrcLine =>
    reply("ERR_NEEDMOREPARAMS", c, [command], "Not enough parameters"),
  alreadyRegistered: (c: string): IrcLine =>
    reply("ERR_ALREADYREGISTERED", c, [], "You may not reregister"),
  passwdMismatch: (c: string): IrcLine => reply("ERR_PASSWDMISMATCH", c, [], "Password incorrect"),
  youreBannedCreep: (c: string): IrcLine =>
    reply("ERR_YOUREBANNEDCREEP", c, [], "You are banned from this server."),
  channelIsFull: (c: string, channel: string): IrcLine =>
    reply("ERR_CHANNELISFULL", c, [channel], "Cannot join channel (+l)"),
  unknownMode: (c: string, modeChar: string): IrcLine =>
    reply("ERR_UNKNOWNMODE", c, [modeChar], "is unknown mode char to me"),
  inviteOnlyChan: (c: string, channel: string): IrcLine =>
    reply("ERR_INVITEONLYCHAN", c, [channel], "Cannot join channel (+i)"),
  bannedFromChan: (c: string, channel: string): IrcLine =>
    reply("ERR_BANNEDFROMCHAN", c, [channel], "Cannot join channel (+b)"),
  badChannelKey: (c: string, channel: string): IrcLine =>
    reply("ERR_BADCHANNELKEY", c, [channel], "Cannot join channel (+k)"),
  badChanMask: (c: string, channel: string): IrcLine =>
    reply("ERR_BADCHANMASK", c, [channel], "Bad Channel Mask"),
  /** `sentence`: the core's explanation; the text adds `(account required)`. */
  needReggedNick: (c: string, channel: string, sentence: string): IrcLine =>
    reply("ERR_NEEDREGGEDNICK", c, [channel], `${sentence} (account required)`),
  banListFull: (c: string, channel: string, modeChar: string): IrcLine =>
    reply("ERR_BANLISTFULL", c, [channel, modeChar], "Channel list is full"),
  noPrivileges: (c: string): IrcLine =>
    reply("ERR_NOPRIVILEGES", c, [], "Permission Denied- You're not an IRC operator"),
  chanOPrivsNeeded: (c: string, channel: string): IrcLine =>
    reply("ERR_CHANOPRIVSNEEDED", c, [channel], "You're not channel operator"),
  noOperHost: (c: string): IrcLine => reply("ERR_NOOPERHOST", c, [], "No O-lines for your host"),
  uModeUnknownFlag: (c: string): IrcLine =>
    reply("ERR_UMODEUNKNOWNFLAG", c, [], "Unknown MODE flag"),
  usersDontMatch: (c: string): IrcLine =>
    reply("ERR_USERSDONTMATCH", c, [], "Can't change mode for other users"),
  whoisSecure: (c: string, nick: string): IrcLine =>
    reply("RPL_WHOISSECURE", c, [nick], "is using a secure connection"),
  invalidModeParam: (
    c: string,
    target: string,
    modeChar: string,
    param: string,
    description: string,
  ): IrcLine => reply("ERR_INVALIDMODEPARAM", c, [target, modeChar, param], description),
  /** `mask`: `nick!~ident@cloak` (nick `*` before NICK). */
  loggedIn: (c: string, mask: string, account: string): IrcLine =>
    reply("RPL_LOGGEDIN", c, [mask, account], `You are now logged in as ${account}`),
  loggedOut: (c: string, mask: string): IrcLine =>
    reply("RPL_LOGGEDOUT", c, [mask], "You are now logged out"),
  saslSuccess: (c: string): IrcLine =>
    reply("RPL_SASLSUCCESS", c, [], "SASL authentication successful"),
  saslFail: (c: string): IrcLine => reply("ERR_SASLFAIL", c, [], "SASL authentication failed"),
  saslTooLong: (c: string): IrcLine => reply("ERR_SASLTOOLONG", c, [], "SASL message too long"),
  saslAborted: (c: string): IrcLine =>
    reply("ERR_SASLABORTED", c, [], "SASL authentication aborted"),
  saslAlready: (c: string): IrcLine =>
    reply("ERR_SASLALREADY", c, [], "You have already authenticated using SASL"),
  saslMechs: (c: string, mechanisms: string): IrcLine =>
    reply("RPL_SASLMECHS", c, [mechanisms], "are available SASL mechanisms"),
} as const;

/** A standard reply's kind (IRCv3 standard-replies). */
export type StandardReplyKind = "FAIL" | "WARN" | "NOTE";

/**
 * The non-numeric replies the server sends, without source (add `source: serverName`, except
 * for `error`, which is sent without one).
 *
 * @example
 * ```ts
 * import { serverReply } from "./numerics.ts";
 * import { encodeLine } from "./line.ts";
 * encodeLine({ source: "irc.test", ...serverReply.pong("irc.test", "abc") });
 * // ":irc.test PONG irc.test :abc\r\n"
 * encodeLine({ source: "irc.test", ...serverReply.standard("FAIL", "BATCH", "MULTILINE_MAX_LINES", ["100"], "Too many lines") });
 * // ":irc.test FAIL BATCH MULTILINE_MAX_LINES 100 :Too many lines\r\n"
 * ```
 */
export const serverReply = {
  /** `PONG <server> :<token>` (`PING :` → empty token). */
  pong: (server: string, token: string): IrcLine => ({
    command: "PONG",
    params: [server, token],
    trailing: true,
  }),
  /** `ERROR :Closing Link: <host> (<reason>)`, the last line before the server closes. */
  error: (host: string, reason: string): IrcLine => ({
    command: "ERROR",
    params: [`Closing Link: ${host} (${reason})`],
    trailing: true,
  }),
  /** `FAIL|WARN|NOTE <command> <code> [context...] :<description>`; command `*` for none. */
  standard: (
    kind: StandardReplyKind,
    command: string,
    code: string,
    context: readonly string[],
    description: string,
  ): IrcLine => ({
    command: kind,
    params: [command, code, ...context, description],
    trailing: true,
  }),
  /** `ACK`: a labeled command that produced no reply (labeled-response). */
  ack: (): IrcLine => ({ command: "ACK", params: [] }),
  /** `BATCH +<id> <type> [params...]`. */
  batchStart: (id: string, type: string, params: readonly string[] = []): IrcLine => ({
    command: "BATCH",
    params: [`+${id}`, type, ...params],
  }),
  /** `BATCH -<id>`. */
  batchEnd: (id: string): IrcLine => ({ command: "BATCH", params: [`-${id}`] }),
} as const;
