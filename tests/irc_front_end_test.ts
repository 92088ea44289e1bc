import assert from "node:assert/strict";
import { parseServeArgs } from "../cli/serve_args.ts";
import { SERVE_HELP, UsageError } from "../cli/usage.ts";
import { spawnServe } from "./helpers/cli.ts";
import { makeTestPki } from "./helpers/certs.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { LineSocket, testServer } from "./helpers/wire.ts";

const parse = (args: string[]) => parseServeArgs(["--db", ":memory:", ...args], () => undefined);

Deno.test("serve: IRC flags are off by default and parse with their defaults", () => {
  const off = parse([]);
  assert.equal(off.ircPort, undefined);
  assert.equal(off.ircTlsPort, undefined);
  const on = parse(["--host", "127.0.0.1", "--irc-port", "6667", "--server-name", "irc.example"]);
  assert.equal(on.ircPort, 6667);
  assert.equal(on.ircHost, "127.0.0.1"); // defaults to --host
  assert.equal(on.serverName, "irc.example");
  const host = parseServeArgs(
    ["--db", ":memory:", "--irc-port", "0"],
    (name) => name === "HOSTNAME" ? "box.lan" : undefined,
  );
  assert.equal(host.serverName, "box.lan"); // the host name by default
  for (const flag of ["--irc-port", "--irc-tls-port", "--irc-host", "--server-name"]) {
    assert.match(SERVE_HELP, new RegExp(`${flag} `));
  }
});

Deno.test("serve: IRC flags refuse what cannot work", () => {
  const refused = (args: string[], pattern: RegExp) =>
    assert.throws(
      () => parse(args),
      (e: unknown) => e instanceof UsageError && pattern.test(e.message),
    );
  refused(["--irc-tls-port", "6697"], /--irc-tls-port serves TLS with --tls-cert and --tls-key/);
  refused(["--server-name", "x"], /--server-name goes with --irc-port/);
  refused(["--irc-host", "::1"], /--irc-host goes with --irc-port/);
  refused(["--irc-port", "0", "--server-name", "my server"], /one word of printable ASCII/);
  refused(["--irc-port", "0", "--server-name", "a".repeat(64)], /at most 63 bytes/);
  refused(["--irc-port", "70000"], /--irc-port/);
});

Deno.test("serve --irc-port prints 'irc listening on HOST:PORT' and serves IRC there", async () => {
  const serve = await spawnServe(["--irc-port", "0", "--server-name", "irc.cli.test"]);
  try {
    const port = Number(
      (await (async () => {
        while (!/irc listening on .*:(\d+)\n/.test(serve.stdout())) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return /irc listening on 127\.0\.0\.1:(\d+)\n/.exec(serve.stdout());
      })())?.[1],
    );
    assert.ok(port > 0);
    const irc = new RawIrcClient(await Deno.connect({ hostname: "127.0.0.1", port }));
    await irc.send("PING :x");
    assert.equal(await irc.expect(/PONG/), ":irc.cli.test PONG irc.cli.test :x");
    irc.close();
  } finally {
    assert.equal((await serve.stop()).code, 0);
  }
});

Deno.test("the door's per-address cap covers the IRC port with the native one", async () => {
  const server = testServer({
    maxConnsPerIp: 2,
    irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" },
  });
  const native = await LineSocket.connect(server);
  const irc = await RawIrcClient.open(server);
  const third = await RawIrcClient.open(server);
  try {
    await irc.send("PING :ok");
    await irc.expect(/PONG/);
    // The third connection from this address is refused at the door, in IRC terms.
    assert.match(await third.expect(/^ERROR/), /^ERROR :Closing Link: \* \(.*[Tt]oo many/);
    await third.expectEof();
  } finally {
    native.close();
    irc.close();
    third.close();
    await server.shutdown();
  }
});

Deno.test("the IRC port is rebindable right after the server stops", async () => {
  const first = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const port = first.addresses.irc?.port ?? 0;
  const client = await RawIrcClient.login(first, "zed");
  await first.shutdown();
  await client.expectEof();
  client.close();
  const second = testServer({ irc: { host: "127.0.0.1", port, serverName: "irc.test" } });
  assert.equal(second.addresses.irc?.port, port);
  await second.shutdown();
});

Deno.test("--irc-tls-port serves IRC over TLS with the server's certificate", async () => {
  const pki = await makeTestPki();
  const server = testServer({
    tls: { cert: pki.leaf.cert, key: pki.leaf.key },
    irc: { host: "127.0.0.1", tlsPort: 0, serverName: "irc.tls.test" },
  });
  try {
    assert.equal(server.addresses.irc, undefined);
    const port = server.addresses.ircTls?.port ?? 0;
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port,
      caCerts: [await Deno.readTextFile(pki.ca.certFile)],
    });
    const irc = new RawIrcClient(conn);
    await irc.send("NICK tls", "USER t 0 * :T");
    await irc.expect(/^:irc\.tls\.test 001 tls /);
    await irc.send("QUIT");
    await irc.expect(/^ERROR/);
    await irc.expectEof();
    irc.close();
  } finally {
    await server.shutdown();
    await Deno.remove(pki.dir, { recursive: true });
  }
});
