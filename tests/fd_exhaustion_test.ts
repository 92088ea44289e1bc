import assert from "node:assert/strict";
import { denoArgs } from "./helpers/cli.ts";
import { JsonClient, within } from "./helpers/wire.ts";

Deno.test("a server out of file descriptors backs off and keeps serving once some are freed", async () => {
  // ulimit -n 64 leaves the server room for a few dozen sockets; 100 connections exhaust it.
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      'ulimit -n 64 && exec "$0" "$@"',
      Deno.execPath(),
      ...denoArgs([
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--db",
        ":memory:",
        "--max-conns-per-ip",
        "1000",
        "--max-logins-per-minute",
        "0",
        "--log-level",
        "error",
      ]),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const port = await within(
    (async () => {
      while (!/listening on .*:(\d+)/.test(out)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("serve exited");
        out += value;
      }
      return Number(/listening on .*:(\d+)/.exec(out)?.[1]);
    })(),
    "serve to listen",
    20_000,
  );
  const held: Deno.Conn[] = [];
  for (let i = 0; i < 100; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
  for (const conn of held) conn.close();
  // Once descriptors are free again, the same server logs people in as before.
  const after = await within(
    (async () => {
      while (true) {
        try {
          return await JsonClient.login({ addr: { port } } as never, "after");
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    })(),
    "a login after the exhaustion",
    15_000,
  );
  after.close();
  child.kill("SIGTERM");
  const status = await child.status;
  await reader.cancel();
  assert.equal(status.code, 0, "it shut down cleanly, not because the listener failed");
  assert.match(await stderr, /accept_failed .*Too many open files.*retry_ms=/);
});
