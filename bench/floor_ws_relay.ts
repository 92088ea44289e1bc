/**
 * The floor under the WebSocket scenarios: the least a Deno server can do to relay one message
 * to everyone else when each client is a WebSocket on `/ws` and each NDJSON frame is one text
 * message, as sockchat's web port speaks it. Like `bench/floor_relay.ts` (its TCP twin) it has
 * none of sockchat: no validation, history, limits or flood control. It parses each message,
 * acks it, builds the relayed frame once as a string and hands that same string to every other
 * member's `send`; join notices go out as one summary per member every
 * {@linkcode PRESENCE_FLUSH_MS}. What it costs per delivery is what Deno's WebSocket costs: one
 * `send` (an op, a frame header, a write) per message per recipient.
 *
 * It keeps the one thing a relay cannot do without: back-pressure, the same as sockchat's web
 * link (`transport/ws/ws_link.ts`, whose two constants it borrows). Deno's `send` never refuses
 * a message, so a relay that sent everything at once would hold a pipelined burst for every
 * member in Deno's buffers (over 700 MiB in the headline load, and more CPU per delivery than
 * sockchat). Past {@linkcode WEB_SEND_BUFFER_BYTES} of `bufferedAmount`, a member's messages
 * wait in an array, re-tried every {@linkcode WEB_DRAIN_POLL_MS}: Deno has no drain event.
 *
 * ```sh
 * deno run --allow-net bench/floor_ws_relay.ts   # prints its port twice, as serve --web-port does
 * ```
 *
 * @module
 */

import { WEB_DRAIN_POLL_MS, WEB_SEND_BUFFER_BYTES } from "../config/web_limits.ts";

/** As in `bench/floor_relay.ts`: summaries of joins, so that a login storm stays cheap. */
const PRESENCE_FLUSH_MS = 250;

/** One WebSocket that has said hello. */
interface Member {
  socket: WebSocket;
  nick: string;
  /** Logins counted before this member's own: the joins it has been told of start here. */
  joinsKnown: number;
  /** Messages waiting for its `bufferedAmount` to fall, oldest first from `next`. */
  pending: string[];
  next: number;
  drainTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Relays every message from one WebSocket to all the others until the process is killed. */
function serveWsFloor(): void {
  const members = new Set<Member>();
  let nextId = 1;
  let logins = 0;
  let presenceTimer: ReturnType<typeof setTimeout> | undefined;

  const drain = (member: Member) => {
    member.drainTimer = undefined;
    const { socket, pending } = member;
    if (socket.readyState !== WebSocket.OPEN) return;
    while (member.next < pending.length && socket.bufferedAmount <= WEB_SEND_BUFFER_BYTES) {
      socket.send(pending[member.next++]);
    }
    if (member.next < pending.length) {
      member.drainTimer = setTimeout(() => drain(member), WEB_DRAIN_POLL_MS);
      return;
    }
    member.pending = [];
    member.next = 0;
  };
  const send = (member: Member, text: string) => {
    const { socket } = member;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (member.pending.length === 0 && socket.bufferedAmount <= WEB_SEND_BUFFER_BYTES) {
      socket.send(text);
      return;
    }
    member.pending.push(text);
    member.drainTimer ??= setTimeout(() => drain(member), WEB_DRAIN_POLL_MS);
  };
  const flushPresence = () => {
    presenceTimer = undefined;
    for (const member of members) {
      const news = logins - member.joinsKnown;
      if (news === 0) continue;
      member.joinsKnown = logins;
      send(member, JSON.stringify({ type: "info", text: `* ${news} joined #lobby` }));
    }
  };
  const accept = (socket: WebSocket) => {
    const member: Member = {
      socket,
      nick: "",
      joinsKnown: 0,
      pending: [],
      next: 0,
      drainTimer: undefined,
    };
    const leave = () => {
      members.delete(member);
      clearTimeout(member.drainTimer);
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      const frame = JSON.parse(event.data) as Record<string, string>;
      if (frame.type === "hello") {
        member.nick = frame.nick;
        member.joinsKnown = ++logins;
        members.add(member);
        send(member, JSON.stringify({ type: "welcome", v: 1, nick: member.nick }));
        presenceTimer ??= setTimeout(flushPresence, PRESENCE_FLUSH_MS);
        return;
      }
      if (frame.type === "pong") return;
      const id = nextId++;
      const ts = Date.now();
      send(member, JSON.stringify({ type: "ack", id, room: "#lobby", ts, ref: frame.ref }));
      const msg = JSON.stringify({
        type: "msg",
        id,
        room: "#lobby",
        from: member.nick,
        text: frame.text,
        ts,
      });
      for (const other of members) if (other !== member) send(other, msg);
    };
    socket.onclose = leave;
    socket.onerror = leave;
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    if (new URL(request.url).pathname !== "/ws") {
      return new Response("not found\n", { status: 404 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    accept(socket);
    return response;
  });
  const { port } = server.addr;
  // Both of serve's lines, so the bench finds this relay's port as it finds sockchat's web port.
  console.log(`listening on 127.0.0.1:${port}\nweb listening on http://127.0.0.1:${port}/`);
}

if (import.meta.main) serveWsFloor();
