import assert from "node:assert/strict";
import { makeTestPki } from "./helpers/certs.ts";
import { runCli, spawnServe } from "./helpers/cli.ts";
import { JsonClient } from "./helpers/wire.ts";

Deno.test("serve --tls-cert and join --tls --ca chat end to end; a bad certificate fails clearly", async () => {
  const pki = await makeTestPki();
  const server = await spawnServe(["--tls-cert", pki.leaf.certFile, "--tls-key", pki.leaf.keyFile]);
  try {
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port: server.port,
      caCerts: [pki.ca.cert],
    });
    const watcher = new JsonClient(conn);
    await watcher.send({ type: "hello", v: 1, nick: "watcher" });
    await watcher.expect("welcome");

    const ok = await runCli(
      ["join", `localhost:${server.port}`, "--name", "secure", "--ca", pki.ca.certFile],
      { stdin: "over TLS\n" },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await watcher.expect("msg")).text, "over TLS");

    // Trusting the wrong CA: one clear line, exit 1, no stack trace.
    const wrong = await runCli(
      ["join", `localhost:${server.port}`, "--name", "x", "--ca", pki.wrong.certFile],
      { stdin: "" },
    );
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
    assert.match(wrong.stderr, /certificate verify failed: unknown issuer/);

    // The system roots do not know the test CA either.
    const system = await runCli(["join", `localhost:${server.port}`, "--name", "y", "--tls"], {
      stdin: "",
    });
    assert.equal(system.code, 1);
    assert.match(system.stderr, /certificate verify failed/);

    // A name the certificate does not list.
    const otherName = await runCli(
      ["join", `127.0.0.2:${server.port}`, "--name", "z", "--ca", pki.ca.certFile],
      { stdin: "" },
    );
    assert.equal(otherName.code, 1);
    assert.match(otherName.stderr, /^sockchat: /);
    watcher.close();
  } finally {
    await server.stop();
    await pki.remove();
  }
});

Deno.test("serve refuses a certificate without its key, and join --ca with a missing file", async () => {
  const half = await runCli(["serve", "--port", "0", "--tls-cert", "/nonexistent.pem"]);
  assert.equal(half.code, 2);
  assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  const noCa = await runCli(["join", "localhost:1", "--name", "n", "--ca", "/nonexistent/ca.pem"], {
    stdin: "",
  });
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /^sockchat: .*\/nonexistent\/ca\.pem/);
});
