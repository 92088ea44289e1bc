/**
 * The floor under "RSS per idle connection": what a bare Deno server pays for one accepted TCP
 * connection holding one pending 1 KiB read (sockchat's smallest read buffer), with none of
 * sockchat. Clients connect from a subprocess, so only the server side is counted.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/idle_floor.ts [CONNECTIONS]   # default 5000
 * ```
 *
 * @module
 */

const CLIENT = `
const [port, n] = Deno.args.map(Number);
const held = [];
for (let i = 0; i < n; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
console.log("ready");
setInterval(() => {}, 60_000); // stay up until killed
`;

/** Connections to hold; bounded so the run stays well inside `ulimit -n` and a few seconds. */
const connections = Math.min(Number(Deno.args[0] ?? 5000), 20_000);

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const held: Deno.Conn[] = [];
(async () => {
  for await (const conn of listener) {
    held.push(conn);
    conn.read(new Uint8Array(1024)).catch(() => {});
  }
})();
gc();
const before = Deno.memoryUsage();
const client = new Deno.Command(Deno.execPath(), {
  args: ["eval", CLIENT, String((listener.addr as Deno.NetAddr).port), String(connections)],
  stdout: "piped",
}).spawn();
await client.stdout.getReader().read();
const deadline = Date.now() + 60_000;
while (held.length < connections && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
await new Promise((resolve) => setTimeout(resolve, 300));
gc();
const after = Deno.memoryUsage();
const kib = (bytes: number) => (bytes / held.length / 1024).toFixed(1);
console.log(
  `idle floor: ${held.length} bare Deno connections with a pending 1 KiB read: ` +
    `RSS ${kib(after.rss - before.rss)} KiB, JS heap ${
      kib(after.heapUsed - before.heapUsed)
    } KiB ` +
    "per connection",
);
try {
  client.kill();
} catch {
  // already gone
}
await client.status;
Deno.exit(0);
