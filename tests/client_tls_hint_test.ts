/**
 * A plain `sockchat join` that reaches a TLS port is told to add `--tls` (issue 12), whether the
 * server closes the connection without a word or answers with a TLS record; a plain server that
 * closes during login gets no such hint.
 */

import assert from "node:assert/strict";
import { readServerFrames } from "../client/frame_reader.ts";
import { ClientError } from "../client/client_error.ts";
import { speaksTls, TLS_PORT_HINT } from "../client/tls_probe.ts";
import { makeTestPki } from "./helpers/certs.ts";
import { runCli, spawnServe } from "./helpers/cli.ts";
import { testServer } from "./helpers/wire.ts";

Deno.test("plain join on sockchat's TLS port: one line that suggests --tls, exit 1", async () => {
  const pki = await makeTestPki();
  const server = await spawnServe(["--tls-cert", pki.leaf.certFile, "--tls-key", pki.leaf.keyFile]);
  try {
    const result = await runCli(["join", `localhost:${server.port}`, "-n", "plain"], {
      stdin: "hi\n",
    });
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.ok(result.stderr.includes(TLS_PORT_HINT), result.stderr);
    assert.equal(
      TLS_PORT_HINT,
      "This looks like a TLS port: try join --tls (and --ca FILE for a private CA).",
    );
  } finally {
    await server.stop();
  }
});

Deno.test("a first answer that is a TLS record (an alert) stops the reader with the --tls hint", async () => {
  const alert = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]);
  let sent = false;
  const source = {
    read(buffer: Uint8Array): Promise<number | null> {
      if (sent) return Promise.resolve(null);
      sent = true;
      buffer.set(alert);
      return Promise.resolve(alert.length);
    },
  };
  await assert.rejects(
    async () => {
      for await (const _ of readServerFrames(source, { target: "h:1" })) {
        // nothing comes
      }
    },
    (error: unknown) => error instanceof ClientError && error.message.includes(TLS_PORT_HINT),
  );
});

Deno.test("the TLS probe tells a TLS port from a plain one and from a closed one", async () => {
  const pki = await makeTestPki();
  const tls = await spawnServe(["--tls-cert", pki.leaf.certFile, "--tls-key", pki.leaf.keyFile]);
  const plain = testServer();
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = closed.addr.port;
  closed.close();
  try {
    assert.equal(await speaksTls("localhost", tls.port), true, "certificate not trusted: TLS");
    assert.equal(await speaksTls("127.0.0.1", plain.addr.port), false, "NDJSON, not TLS");
    assert.equal(await speaksTls("127.0.0.1", closedPort), false, "nothing listening");
  } finally {
    await tls.stop();
    await plain.shutdown();
  }
});

Deno.test("a plain server that closes during login gets no --tls hint", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closing = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(1024)).catch(() => null);
      conn.close();
    }
  })();
  try {
    const result = await runCli(["join", `127.0.0.1:${listener.addr.port}`, "-n", "x"], {
      stdin: "",
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /closed the connection during login/);
    assert.ok(!result.stderr.includes("--tls"), result.stderr);
  } finally {
    listener.close();
    await closing;
  }
});
