/**
 * `serve` binds several ports: when one cannot be bound, the error names that one's address and
 * the flag that moves it (not the native port's, and not --port for every listener).
 */

import assert from "node:assert/strict";
import { runCli } from "./helpers/cli.ts";
import { MetricsServerError, startMetricsServer } from "../metrics/http.ts";
import { MetricsRegistry } from "../metrics/registry.ts";

/** An address of TEST-NET-1 (RFC 5737): never one of this machine's. */
const FOREIGN_HOST = "192.0.2.1";

/** `serve` on loopback with an in-memory history, plus `extra`. */
function serve(extra: string[], env: Record<string, string> = {}) {
  return runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--db", ":memory:", ...extra], {
    env,
  });
}

Deno.test("serve with the web port in use names that port and --web-port, and exits 1", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = busy.addr.port;
  const result = await serve(["--web-port", String(port)]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    `sockchat: cannot listen on 127.0.0.1:${port}: the address is already in use (is another ` +
      "server running? pick another web port with --web-port).\n",
  );
});

Deno.test("serve with the SSH port in use names that port and --ssh-port", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = await Deno.makeTempDir({ prefix: "sockchat-test-state-" });
  try {
    const port = busy.addr.port;
    // The web port is asked for too: the message must name the one that failed, only.
    const result = await serve(["--ssh-port", String(port), "--web-port", "0"], {
      XDG_STATE_HOME: state,
    });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `sockchat: cannot listen on 127.0.0.1:${port}: the address is already in use (is ` +
        "another server running? pick another SSH port with --ssh-port).\n",
    );
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});

Deno.test("serve with a --web-host that is not this machine's names it and --web-host", async () => {
  const result = await serve(["--web-port", "0", "--web-host", FOREIGN_HOST]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    `sockchat: cannot listen on ${FOREIGN_HOST}:0: ${FOREIGN_HOST} is not an address of this ` +
      "machine (check --web-host; 0.0.0.0 listens on all of them).\n",
  );
});

Deno.test("serve with a --web-host name that cannot be looked up names it and --web-host", async () => {
  const result = await serve(["--web-port", "0", "--web-host", "no-such-host.invalid"]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^sockchat: cannot listen on no-such-host\.invalid:0: the host name no-such-host\.invalid cannot be looked up \(check --web-host\)\.\n$/,
  );
});

Deno.test("the metrics endpoint on a --metrics-host that is not this machine's names --metrics-host", () => {
  assert.throws(
    () => startMetricsServer({ registry: new MetricsRegistry(), port: 0, hostname: FOREIGN_HOST }),
    (error: unknown) =>
      error instanceof MetricsServerError &&
      error.message ===
        `Cannot serve metrics on ${FOREIGN_HOST}:0: ${FOREIGN_HOST} is not an address of this ` +
          "machine (check --metrics-host; 0.0.0.0 listens on all of them).",
  );
});
