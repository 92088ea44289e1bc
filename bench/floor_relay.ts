/**
 * The floor under every load scenario: the least a Deno server can do to relay one line to
 * everyone else, with none of sockchat (no validation, history, limits or flood control). It
 * speaks just enough of the protocol for the load generator: a welcome on hello, join notices,
 * an ack for each message, the message to everyone else. Whatever it costs is the runtime's and
 * the harness's, not sockchat's, so the bench reports sockchat's figures as ratios against it.
 *
 * It is a competent relay, not a naive one: each message is encoded once, and what waits for a
 * connection goes out in one write, the next one starting when the last is done. Join notices
 * are summarised (`* N joined #lobby`) every {@linkcode PRESENCE_FLUSH_MS}, so that thousands of
 * logins cost O(n) writes per flush, not one write per member per login. A quarter second is
 * slow for people but keeps the relay's login storm below sockchat's, as a floor should be.
 *
 * ```sh
 * deno run --allow-net bench/floor_relay.ts   # prints "listening on 127.0.0.1:PORT"
 * ```
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** As small as sockchat's idle read buffer, so that the idle floor compares like with like. */
const READ_BYTES = 1024;
/** How often pending join notices go out as one summary per member (a 25 ms flush cost
 * 4 s of CPU over 5,000 logins, more than sockchat). */
const PRESENCE_FLUSH_MS = 250;

/** One connection and the bytes waiting for it. */
interface Member {
  conn: Deno.TcpConn;
  nick: string;
  /** Chunks not yet written, in order. */
  pending: Uint8Array[];
  pendingBytes: number;
  writing: boolean;
  /** Logins counted before this member's own: the joins it has been told of start here. */
  joinsKnown: number;
  closed: boolean;
}

/** Relays every line from one connection to all the others until the process is killed. */
async function serveFloor(): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  const members = new Set<Member>();
  const dirty = new Set<Member>();
  let nextId = 1;
  let logins = 0;
  let presenceTimer: ReturnType<typeof setTimeout> | undefined;

  const queue = (member: Member, bytes: Uint8Array) => {
    if (member.closed) return;
    member.pending.push(bytes);
    member.pendingBytes += bytes.length;
    dirty.add(member);
  };
  const write = (member: Member) => {
    if (member.writing || member.pendingBytes === 0 || member.closed) return;
    const out = member.pending.length === 1
      ? member.pending[0]
      : new Uint8Array(member.pendingBytes);
    if (member.pending.length > 1) {
      let at = 0;
      for (const chunk of member.pending) {
        out.set(chunk, at);
        at += chunk.length;
      }
    }
    member.pending = [];
    member.pendingBytes = 0;
    member.writing = true;
    writeAll(member.conn, out).then(
      () => {
        member.writing = false;
        write(member);
      },
      () => drop(member),
    );
  };
  const flush = () => {
    for (const member of dirty) write(member);
    dirty.clear();
  };
  const flushPresence = () => {
    presenceTimer = undefined;
    for (const member of members) {
      const news = logins - member.joinsKnown;
      if (news === 0) continue;
      member.joinsKnown = logins;
      const text = `* ${news} joined #lobby`;
      queue(member, encoder.encode(JSON.stringify({ type: "info", text }) + "\n"));
    }
    flush();
  };
  const drop = (member: Member) => {
    member.closed = true;
    members.delete(member);
    dirty.delete(member);
    try {
      member.conn.close();
    } catch {
      // already closed
    }
  };

  const handle = async (conn: Deno.TcpConn) => {
    conn.setNoDelay(true);
    const member: Member = {
      conn,
      nick: "",
      pending: [],
      pendingBytes: 0,
      writing: false,
      joinsKnown: 0,
      closed: false,
    };
    const buf = new Uint8Array(READ_BYTES);
    let carry = "";
    try {
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        carry += decoder.decode(buf.subarray(0, n), { stream: true });
        for (let nl = carry.indexOf("\n"); nl !== -1; nl = carry.indexOf("\n")) {
          const frame = JSON.parse(carry.slice(0, nl)) as Record<string, string>;
          carry = carry.slice(nl + 1);
          if (frame.type === "hello") {
            member.nick = frame.nick;
            member.joinsKnown = ++logins;
            members.add(member);
            queue(
              member,
              encoder.encode(JSON.stringify({ type: "welcome", v: 1, nick: member.nick }) + "\n"),
            );
            presenceTimer ??= setTimeout(flushPresence, PRESENCE_FLUSH_MS);
            continue;
          }
          if (frame.type === "pong") continue;
          const id = nextId++;
          const ts = Date.now();
          queue(
            member,
            encoder.encode(
              JSON.stringify({ type: "ack", id, room: "#lobby", ts, ref: frame.ref }) + "\n",
            ),
          );
          const msg = encoder.encode(
            JSON.stringify({
              type: "msg",
              id,
              room: "#lobby",
              from: member.nick,
              text: frame.text,
              ts,
            }) + "\n",
          );
          for (const other of members) if (other !== member) queue(other, msg);
        }
        flush();
      }
    } catch {
      // the peer went away
    }
    drop(member);
  };
  for await (const conn of listener) void handle(conn);
}

/** Writes all of `bytes`. */
async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

if (import.meta.main) await serveFloor();
