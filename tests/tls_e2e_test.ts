import assert from "node:assert/strict";
import { createLogger } from "../log/logger.ts";
import { createSockchatMetrics, type SockchatMetrics } from "../metrics/sockchat_metrics.ts";
import type { ChatServer, ServerOptions } from "../server.ts";
import { connectTls, TlsError } from "../transport/tcp/tls.ts";
import { makeTestPki } from "./helpers/certs.ts";
import { runCli } from "./helpers/cli.ts";
import { eventually, JsonClient, LineSocket, testServer, within } from "./helpers/wire.ts";

const pki = await makeTestPki();
globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));

interface TlsServer {
  server: ChatServer;
  metrics: SockchatMetrics;
  /** Log lines so far, parsed from JSON. */
  log: Record<string, unknown>[];
}

function tlsServer(options: ServerOptions = {}): TlsServer {
  const metrics = createSockchatMetrics();
  const log: Record<string, unknown>[] = [];
  const server = testServer({
    tls: { cert: pki.leaf.cert, key: pki.leaf.key },
    metrics,
    logger: createLogger({ format: "json", write: (line) => log.push(JSON.parse(line)) }),
    ...options,
  });
  return { server, metrics, log };
}

/** Connects over TLS trusting the test CA, and logs in. */
async function tlsLogin(server: ChatServer, nick: string): Promise<JsonClient> {
  const conn = await connectTls({
    hostname: "localhost",
    port: server.addr.port,
    caCerts: [pki.ca.cert],
  });
  const client = new JsonClient(conn);
  await client.send({ type: "hello", v: 1, nick });
  await client.expect("welcome");
  return client;
}

/** `openssl s_client` as a person would use it: lines in on stdin, the chat on stdout. */
function sClient(port: number) {
  const child = new Deno.Command("openssl", {
    args: [
      "s_client",
      "-quiet",
      "-connect",
      `127.0.0.1:${port}`,
      "-CAfile",
      pki.ca.certFile,
      "-verify_return_error",
      "-verify_ip",
      "127.0.0.1",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  let seen = "";
  return {
    async type(line: string): Promise<void> {
      await writer.write(new TextEncoder().encode(line + "\n"));
    },
    /** Reads stdout until `text` has appeared (after what earlier calls consumed). */
    async waitFor(text: string): Promise<void> {
      await within(
        (async () => {
          while (!seen.includes(text)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`s_client ended before ${JSON.stringify(text)}: ${seen}`);
            seen += value;
          }
          seen = seen.slice(seen.indexOf(text) + text.length);
        })(),
        `s_client to print ${JSON.stringify(text)}`,
      );
    },
    /** Closes stdin, reads stdout to its end, and returns the exit status and stderr. */
    async finish(): Promise<{ code: number; stderr: string }> {
      await writer.close().catch(() => {});
      while (!(await reader.read()).done);
      const status = await within(child.status, "s_client to exit");
      return { code: status.code, stderr: await stderr };
    },
  };
}

Deno.test("openssl s_client chats in plain text over TLS with an NDJSON TLS client", async () => {
  const { server, metrics } = tlsServer();
  const person = sClient(server.addr.port);
  try {
    await person.type("carol");
    await person.waitFor("/quit leaves.\r\n");
    const bob = await tlsLogin(server, "bob");
    await bob.send({ type: "msg", text: "hello over TLS", ref: "m1" });
    await bob.expect("ack");
    await person.waitFor("<bob> hello over TLS\r\n");
    await person.type("hi bob, from a terminal");
    const heard = await bob.expect("msg");
    assert.deepEqual([heard.from, heard.text], ["carol", "hi bob, from a terminal"]);
    await person.type("/quit");
    const leave = await bob.expect("leave");
    assert.deepEqual([leave.nick, leave.reason], ["carol", "quit"]);
    const { stderr } = await person.finish();
    assert.match(stderr, /verify return:1/, "s_client verified the server against the CA");
    assert.equal(metrics.rejectedConnections.value("tls_handshake"), 0);
    bob.close();
  } finally {
    await person.finish();
    await server.shutdown();
  }
});

Deno.test("a client trusting the wrong CA fails clearly; the server counts it and carries on", async () => {
  const { server, metrics, log } = tlsServer();
  try {
    const error = await connectTls({
      hostname: "localhost",
      port: server.addr.port,
      caCerts: [pki.wrong.cert],
    }).then((conn) => {
      conn.close();
      return null;
    }, (e: unknown) => e);
    assert.ok(error instanceof TlsError, `expected a TlsError, got ${error}`);
    assert.equal(
      error.message,
      `Cannot connect to localhost:${server.addr.port} securely: certificate verify failed: ` +
        "unknown issuer (the server's certificate is not signed by a CA you trust; pass --ca " +
        "with the file of the CA that signed it).",
    );
    await eventually(
      () => metrics.rejectedConnections.value("tls_handshake") === 1,
      "the refused handshake to be counted",
    );
    const refused = log.find((line) => line.event === "refused");
    assert.equal(refused?.reason, "tls_handshake");
    assert.match(String(refused?.detail), /client refused the TLS handshake \(UnknownCA|reset/);
    const fine = await tlsLogin(server, "fine");
    fine.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("plain text sent to the TLS port is refused at once, and logged as such", async () => {
  const { server, metrics, log } = tlsServer();
  try {
    const confused = await LineSocket.connect(server);
    await confused.write("alice\n");
    await confused.expectEof(); // after a TLS alert, which is all a plain client can get
    confused.close();
    await eventually(
      () => metrics.rejectedConnections.value("tls_handshake") === 1,
      "the refusal to be counted",
    );
    const refused = log.find((line) => line.event === "refused");
    assert.equal(refused?.detail, "the client did not speak TLS (plain text to a TLS port?)");
    await eventually(() => server.connections.size === 0, "nothing left open");
  } finally {
    await server.shutdown();
  }
});

/**
 * File descriptors this process has open now (both ends of loopback sockets count), from
 * `/proc/PID/fd`, listed by `ls`: reading /proc/self directly needs --allow-all.
 */
function openFds(): number {
  const out = new Deno.Command("ls", { args: [`/proc/${Deno.pid}/fd`] }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "").length;
}

Deno.test("a peer that never finishes the TLS handshake is cut off by the deadline, and its socket and slot are freed", async () => {
  const { server, metrics, log } = tlsServer({ handshakeTimeoutMs: 300, maxConnsPerIp: 2 });
  try {
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const started = performance.now();
    await eventually(
      () => metrics.rejectedConnections.value("tls_handshake") === 1,
      "the handshake deadline",
    );
    assert.ok(performance.now() - started < 2000, "the deadline is the handshake timeout");
    assert.equal(
      log.find((line) => line.event === "refused")?.detail,
      "handshake not finished within 300 ms",
    );
    assert.equal(server.connections.size, 0, "it never became a chat connection");
    assert.equal(await silent.read(new Uint8Array(16)), null, "the server closed its socket");
    silent.close();
    await eventually(() => metrics.connections.value === 0, "nothing left open");
    // Its per-address slot is free again: two logins fit within --max-conns-per-ip 2.
    const a = await tlsLogin(server, "a");
    const b = await tlsLogin(server, "b");
    for (const c of [a, b]) c.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("hundreds of silent TLS peers from one address hold no server sockets past the deadline", async () => {
  // (No login rate limit here: the honest login below comes from the same address.)
  const { server, metrics } = tlsServer({ handshakeTimeoutMs: 300, maxLoginsPerMinute: 0 });
  try {
    const before = openFds();
    const silent: Deno.Conn[] = [];
    for (let i = 0; i < 200; i++) {
      silent.push(await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
    }
    // Most are refused at the door (8 per address), the rest time out in their handshake:
    // either way the server's end must be closed by the deadline, leaving only our 200 ends.
    await eventually(() => openFds() <= before + silent.length, "the server's sockets to close");
    // The gauge follows a moment after the last close (the TLS layer reports it on a later turn).
    await eventually(() => metrics.connections.value === 0, "the connection gauge to reach 0");
    // An honest TLS client logs in straight away.
    const honest = await tlsLogin(server, "honest");
    honest.close();
    for (const conn of silent) conn.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("over TLS, a client that never logs in is closed by the handshake timeout", async () => {
  const { server, metrics } = tlsServer({ handshakeTimeoutMs: 300 });
  try {
    const conn = await connectTls({
      hostname: "localhost",
      port: server.addr.port,
      caCerts: [pki.ca.cert],
    });
    const lurker = new JsonClient(conn);
    await lurker.write('{"type":"hel'); // and then nothing
    const error = await lurker.expect("error", 3000);
    assert.deepEqual([error.code, error.fatal], ["handshake_timeout", true]);
    await lurker.expectEof();
    lurker.close();
    assert.equal(metrics.rejectedConnections.value("handshake_timeout"), 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serve refuses unusable TLS files with one sentence and exit 1", async () => {
  const serve = (cert: string, key: string) =>
    runCli(["serve", "--port", "0", "--db", ":memory:", "--tls-cert", cert, "--tls-key", key]);
  const missing = await serve(`${pki.dir}/missing.pem`, pki.leaf.keyFile);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    `sockchat: The certificate file ${pki.dir}/missing.pem does not exist.\n`,
  );
  const swapped = await serve(pki.leaf.keyFile, pki.leaf.certFile);
  assert.equal(swapped.code, 1);
  assert.match(swapped.stderr, /^sockchat: The certificate file .* holds no PEM certificate/);
  const mismatched = await serve(pki.leaf.certFile, pki.wrong.keyFile);
  assert.equal(mismatched.code, 1);
  assert.equal(
    mismatched.stderr,
    "sockchat: The TLS key does not belong to the certificate; check --tls-key.\n",
  );
});
