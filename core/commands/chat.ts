/**
 * Slash commands, defined once: each entry has its name, usage, help and handler, and `/help`
 * is generated from this table, so it cannot drift from what runs. The server runs them, so
 * NDJSON and plain-text users get the same commands.
 *
 * @module
 */

import { type Awaitable, then } from "../awaitable.ts";
import { MAX_ROOMS_LISTED } from "../../config/limits.ts";
import { shown } from "../text.ts";
import type { User } from "../user.ts";
import { MODERATION_COMMANDS } from "./moderation.ts";
import { PEOPLE_COMMANDS } from "./people.ts";
import { IDENTITY_COMMANDS } from "./identity.ts";
import { SERVER_INFO_COMMANDS } from "./server_info.ts";
import { HISTORY_COMMAND } from "./history.ts";
import { ROOM_COMMANDS } from "./rooms.ts";
import { roomMarks } from "../rooms.ts";
import {
  firstWord,
  nothing,
  oneWord,
  optionalWord,
  reasonText,
  roomArg,
  someText,
  taking,
} from "./arguments.ts";
import type { ChatCommands, CommandContext, CommandOutcome, CommandSpec } from "./spec.ts";

// The table's types live in spec.ts; the transports import them from here.
export type { ChatCommands, CommandContext, CommandOutcome, CommandSpec };

/**
 * The room a command names, with the `#` assumed when it was left out (`/join lobby` joins
 * #lobby): nicks may not start with `#`, so a bare word after a room command can only mean one.
 */
function roomName(word: string): string {
  return word.startsWith("#") ? word : `#${word}`;
}

/** `#room [KEY]`, for /join. */
function roomAndKey(args: string): { name: string; key?: string } | null {
  const [name, key, extra] = args.split(/\s+/);
  if (!name || extra !== undefined) return null;
  return key === undefined ? { name } : { name, key };
}

/**
 * A command's outcome once the hub has done `event`: the session reads the connection's next
 * line only then, so replies come in the order the commands were sent (an IRC client's TOPIC
 * then PING must see the TOPIC first, while the topic is saved).
 */
function settled(event: Awaitable<unknown>): Awaitable<CommandOutcome> {
  return then(event, () => ({}));
}

/** The everyday commands. */
const CHAT_COMMANDS: readonly CommandSpec[] = [
  {
    name: "join",
    usage: "/join #room [KEY]",
    help: "join a room (created if new: you are its operator) and make it current; KEY for a " +
      "room with a key (+k)",
    run: taking(roomAndKey, (ctx, { name, key }) =>
      then(
        ctx.hub.join(ctx.user, roomName(name), ctx.ref, key),
        (room): CommandOutcome => (room === null ? {} : { room: room.name }),
      )),
  },
  {
    name: "leave",
    usage: "/leave [#room [message]]",
    help: "leave a room (default: the current one); its members see your message",
    run(ctx) {
      const [name, message] = firstWord(ctx.args);
      return settled(
        ctx.hub.part(ctx.user, name ? roomName(name) : ctx.room, ctx.ref, reasonText(message)),
      );
    },
  },
  {
    name: "rooms",
    usage: "/rooms",
    help: "list rooms with their member counts and topics",
    run: taking(nothing, (ctx) => {
      const busiest = ctx.hub.busiestRooms(MAX_ROOMS_LISTED);
      const rooms = busiest.rooms.map((r) => ({
        room: r.name,
        members: r.members.size,
        topic: r.topic,
      }));
      const more = busiest.total - rooms.length;
      ctx.hub.send(ctx.user, { type: "rooms", rooms, ref: ctx.ref, ...(more > 0 ? { more } : {}) });
      return {};
    }),
  },
  {
    name: "who",
    usage: "/who [#room]",
    help: "list who is in a room (default: the current one)",
    run: taking(optionalWord, (ctx, name) => {
      const room = roomArg(ctx, name ? roomName(name) : ctx.room);
      if (room !== null) {
        const members = [...room.members].map((u) => u.nick);
        const verified = [...room.members].filter((u) => u.verified).map((u) => u.nick);
        ctx.hub.send(ctx.user, {
          type: "who",
          room: room.name,
          members,
          ...(verified.length > 0 ? { verified } : {}),
          ...roomMarks(room),
          ref: ctx.ref,
        });
        // Nicks only, never their messages: the line is no longer than the list above. No
        // `ref`: the who frame is the command's one answer; this follows it as a notice.
        const away = [...room.members].filter((u) => u.away !== null).map((u) => u.nick);
        if (away.length > 0) {
          const text = `* Away in ${room.name}: ${away.join(", ")} (/whois NICK for why)`;
          ctx.hub.send(ctx.user, { type: "info", text });
        }
      }
      return {};
    }),
  },
  {
    name: "topic",
    usage: "/topic [text]",
    help: "show the current room's topic, or set it",
    run(ctx) {
      const room = roomArg(ctx, ctx.room);
      if (room === null) return {};
      if (ctx.args === "") {
        ctx.hub.send(ctx.user, {
          type: "topic",
          room: room.name,
          topic: room.topic,
          by: "",
          ts: ctx.hub.now(),
          ref: ctx.ref,
        });
        return {};
      }
      return settled(ctx.hub.setTopic(ctx.user, room, ctx.args, ctx.ref));
    },
  },
  {
    name: "nick",
    usage: "/nick NEW",
    help: "change your nickname",
    run: taking(oneWord, (ctx, wanted) => {
      return settled(ctx.hub.rename(ctx.user, wanted, ctx.ref));
    }),
  },
  {
    name: "me",
    usage: "/me action",
    help: "say what you are doing, as in: * alice waves",
    run: taking(someText, (ctx, action) => {
      ctx.hub.say(ctx.user, ctx.room, action, ctx.ref, "action");
      return {};
    }),
  },
  {
    name: "msg",
    usage: "/msg NICK text",
    help: "send a direct message that only NICK sees",
    run(ctx) {
      const [nick, text] = firstWord(ctx.args);
      if (nick === "" || text === "") return false;
      return settled(ctx.hub.direct(ctx.user, nick, text, ctx.ref));
    },
  },
  HISTORY_COMMAND,
  {
    name: "help",
    usage: "/help",
    help: "list the commands",
    run(ctx) {
      ctx.hub.send(ctx.user, { type: "info", text: helpText(), ref: ctx.ref });
      return {};
    },
  },
  {
    name: "quit",
    usage: "/quit [reason]",
    help: "leave the chat (your rooms see the reason)",
    run(ctx) {
      // Logged out here, where the reason is known; the transport's own logout, when it closes
      // the connection, then finds the user gone and does nothing.
      ctx.hub.logout(ctx.user, "quit", reasonText(ctx.args));
      return { quit: true };
    },
  },
];

/** Every command, in /help order: the one table /help and the dispatcher read. */
export const COMMANDS: readonly CommandSpec[] = [
  ...CHAT_COMMANDS,
  ...PEOPLE_COMMANDS,
  ...IDENTITY_COMMANDS,
  ...ROOM_COMMANDS,
  ...SERVER_INFO_COMMANDS,
  ...MODERATION_COMMANDS,
];

const BY_NAME = new Map<string, CommandSpec>(
  COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])].map((name) => [name, c])),
);

/**
 * What a guest may run on a server that requires accounts (`--require-account`): reading, and
 * becoming registered. Everything else is refused with `account_required`.
 */
const GUEST_COMMANDS: ReadonlySet<string> = new Set([
  "join",
  "leave",
  "rooms",
  "who",
  "nick",
  "history",
  "help",
  "quit",
  "whois",
  "users",
  "register",
  "identify",
  "unregister",
  "ignore",
  "unignore",
  "motd",
  "uptime",
  "version",
]);

/** /help's text, generated from {@linkcode COMMANDS}. */
export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    "* Commands:",
    ...COMMANDS.map((c) => `*   ${c.usage.padEnd(width)}  ${c.help}`),
    "* Start a message with // to send a line that begins with /.",
  ].join("\n");
}

/** Parses and runs one command line from `user`, replying on bad input. */
export function runCommand(
  hub: ChatCommands,
  user: User,
  line: string,
  room: string,
  ref?: string,
): Awaitable<CommandOutcome> {
  user.lastActive = hub.now();
  const [word, rest] = firstWord(line.slice(1));
  const spec = BY_NAME.get(word.toLowerCase());
  if (spec === undefined) {
    hub.reply(user, "unknown_command", `Unknown command /${shown(word)}. Try /help.`, ref);
    return {};
  }
  if (!GUEST_COMMANDS.has(spec.name) && hub.needsAccount(user)) {
    const why = `Only registered users can use /${spec.name} here: /register PASSWORD, or ` +
      "/identify NICK PASSWORD if you have an account.";
    hub.reply(user, "account_required", why, ref);
    return {};
  }
  const outcome = spec.run({ hub, user, room, args: rest.trim(), ref });
  if (outcome === false) {
    hub.reply(user, "bad_command", `Usage: ${spec.usage}`, ref);
    return {};
  }
  return outcome;
}
