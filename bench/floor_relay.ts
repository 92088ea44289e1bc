/**
 * The floor of the latency measurement: the least a Deno server can do to relay one line to
 * everyone else, with none of sockchat (no validation, history, queues or limits). It speaks
 * just enough of the protocol for the load generator: welcome on hello, join notices, ack, msg.
 * Whatever latency this shows is the harness's and the runtime's, not sockchat's.
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

/** Relays every line from one connection to all the others until the process is killed. */
async function serveFloor(): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  const members = new Set<Deno.TcpConn>();
  let nextId = 1;
  const send = (conn: Deno.TcpConn, frame: Record<string, unknown>) =>
    conn.write(encoder.encode(JSON.stringify(frame) + "\n")).catch(() => members.delete(conn));
  const handle = async (conn: Deno.TcpConn) => {
    conn.setNoDelay(true);
    const buf = new Uint8Array(READ_BYTES);
    let carry = "";
    let nick = "";
    try {
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        carry += decoder.decode(buf.subarray(0, n), { stream: true });
        for (let nl = carry.indexOf("\n"); nl !== -1; nl = carry.indexOf("\n")) {
          const frame = JSON.parse(carry.slice(0, nl)) as Record<string, string>;
          carry = carry.slice(nl + 1);
          if (frame.type === "hello") {
            nick = frame.nick;
            for (const other of members) send(other, { type: "join", room: "#lobby", nick, ts: 0 });
            members.add(conn);
            send(conn, { type: "welcome", v: 1, nick });
            continue;
          }
          const id = nextId++;
          const ts = Date.now();
          send(conn, { type: "ack", id, room: "#lobby", ts, ref: frame.ref });
          const msg = encoder.encode(
            JSON.stringify({ type: "msg", id, room: "#lobby", from: nick, text: frame.text, ts }) +
              "\n",
          );
          for (const other of members) {
            if (other !== conn) other.write(msg).catch(() => members.delete(other));
          }
        }
      }
    } catch {
      // the peer went away
    }
    members.delete(conn);
    conn.close();
  };
  for await (const conn of listener) void handle(conn);
}

if (import.meta.main) await serveFloor();
