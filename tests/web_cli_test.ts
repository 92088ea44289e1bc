import assert from "node:assert/strict";
import { parseServeArgs } from "../cli/serve_args.ts";
import { UsageError } from "../cli/usage.ts";
import { spawnServe } from "./helpers/cli.ts";
import { eventually } from "./helpers/wire.ts";

Deno.test("serve --web-port 0 prints 'web listening on http://HOST:PORT/', serves the page, and frees the port on SIGTERM", async () => {
  const serve = await spawnServe(["--web-port", "0"]);
  let url = "";
  await eventually(
    () => {
      const match = /web listening on (http:\/\/127\.0\.0\.1:(\d+)\/)\n/.exec(serve.stdout());
      if (match !== null) url = match[1];
      return match !== null;
    },
    "the web listening line",
    20_000,
  );
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /role="log"/);
  const status = await serve.stop("SIGTERM");
  assert.equal(status.code, 0);
  const port = Number(new URL(url).port);
  const again = Deno.listen({ hostname: "127.0.0.1", port });
  again.close();
});

Deno.test("--web-port is off by default; --web-host defaults to --host; --web-origin takes a comma list of origins", () => {
  const off = parseServeArgs(["--db", ":memory:"]);
  assert.equal(off.webPort, undefined);
  const on = parseServeArgs([
    "--db",
    ":memory:",
    "--host",
    "127.0.0.2",
    "--web-port",
    "8080",
    "--web-origin",
    "https://chat.example.org, http://LOCALHOST:8080/",
  ]);
  assert.equal(on.webPort, 8080);
  assert.equal(on.webHost, "127.0.0.2");
  assert.deepEqual(on.webOrigins, ["https://chat.example.org", "http://localhost:8080"]);
  assert.throws(
    () => parseServeArgs(["--db", ":memory:", "--web-port", "0", "--web-origin", "chat.example"]),
    (error: unknown) =>
      error instanceof UsageError && /--web-origin wants origins/.test(error.message),
  );
  assert.throws(
    () => parseServeArgs(["--db", ":memory:", "--web-port", "0", "--web-origin", "https://a/b"]),
    UsageError,
  );
  assert.throws(
    () => parseServeArgs(["--db", ":memory:", "--web-origin", "https://chat.example.org"]),
    (error: unknown) => error instanceof UsageError && /goes with --web-port/.test(error.message),
  );
});
