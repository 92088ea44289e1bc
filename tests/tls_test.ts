import assert from "node:assert/strict";
import { makeTestPki, type TestCert } from "./helpers/certs.ts";
import {
  connectTls,
  describeTlsError,
  loadCaCerts,
  loadTlsCredentials,
  TlsError,
} from "../transport/tcp/tls.ts";
import { acceptTls, serverTlsContext, type TlsAcceptResult } from "../transport/tcp/tls_server.ts";

/** The ends of a TLS server test, without the link (which the echo loop consumes). */
type HandshakeResult = { ok: true } | Exclude<TlsAcceptResult, { ok: true }>;

const pki = await makeTestPki();
globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A TLS echo server for one connection; `served` tells how its handshake went. */
async function echoServer(server: TestCert) {
  const context = serverTlsContext(await loadTlsCredentials(server.certFile, server.keyFile));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served: Promise<HandshakeResult> = (async () => {
    const accepted = await acceptTls(await listener.accept(), context);
    if (!accepted.ok) return accepted;
    const conn = accepted.link;
    const result = { ok: true } as const;
    const buffer = new Uint8Array(1024);
    try {
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        await conn.write(buffer.subarray(0, n));
      }
    } catch {
      // The client hung up without close_notify.
    }
    await conn.closeWrite().catch(() => {});
    conn.close();
    return result;
  })();
  return {
    port: listener.addr.port,
    async finish(): Promise<HandshakeResult> {
      const result = await served;
      listener.close();
      return result;
    },
  };
}

async function connectError(promise: Promise<Deno.TlsConn>): Promise<string> {
  const outcome = await promise.then((conn) => {
    conn.close();
    return null;
  }, (error: unknown) => error);
  assert.ok(outcome instanceof TlsError, `expected a TlsError, got ${outcome}`);
  return outcome.message;
}

Deno.test("echo over TLS works when the client trusts the CA, by name or by IP", async () => {
  const caCerts = await loadCaCerts(pki.ca.certFile);
  for (const hostname of ["localhost", "127.0.0.1"]) {
    const server = await echoServer(pki.leaf);
    const conn = await connectTls({ hostname, port: server.port, caCerts });
    await conn.write(encoder.encode("ping\n"));
    const buffer = new Uint8Array(16);
    let got = "";
    while (!got.endsWith("\n")) {
      const n = await conn.read(buffer);
      assert.notEqual(n, null, "EOF before the echo");
      got += decoder.decode(buffer.subarray(0, n ?? 0));
    }
    assert.equal(got, "ping\n");
    // The server reads our close_notify as EOF and hangs up. (Over node:tls it cannot answer
    // after that: a client that half-closes first gets no more data, see tls_server.ts.)
    await conn.closeWrite();
    await conn.read(buffer).catch(() => null);
    conn.close();
    assert.deepEqual(await server.finish(), { ok: true });
  }
});

Deno.test("without a CA, or with the wrong one, the client says: unknown issuer", async () => {
  const wrongCa = await loadCaCerts(pki.wrong.certFile);
  for (const caCerts of [undefined, wrongCa]) {
    const server = await echoServer(pki.leaf);
    const message = await connectError(
      connectTls({ hostname: "localhost", port: server.port, caCerts }),
    );
    assert.equal(
      message,
      `Cannot connect to localhost:${server.port} securely: certificate verify failed: ` +
        "unknown issuer (the server's certificate is not signed by a CA you trust; " +
        "pass --ca with the file of the CA that signed it).",
    );
    const served = await server.finish();
    assert.equal(served.ok, false);
    // Usually the client's alert; a reset if the client closed with our records unread.
    assert.match(
      served.ok ? "" : served.reason,
      /client refused the TLS handshake \(UnknownCA; does it trust the server's CA\?\)|reset/,
    );
  }
});

Deno.test("a server certificate its CA did not sign is refused as unknown issuer", async () => {
  const server = await echoServer(pki.wrong);
  const caCerts = await loadCaCerts(pki.ca.certFile);
  const message = await connectError(
    connectTls({ hostname: "localhost", port: server.port, caCerts }),
  );
  assert.match(message, /certificate verify failed: unknown issuer/);
  await server.finish();
});

Deno.test("a certificate for another host, or an expired one, is named as such", async () => {
  const caCerts = await loadCaCerts(pki.ca.certFile);
  const other = await echoServer(pki.otherHost);
  assert.match(
    await connectError(connectTls({ hostname: "localhost", port: other.port, caCerts })),
    /certificate verify failed: the certificate is not valid for localhost \(it is for elsewhere\.invalid; connect using a name it lists\)\.$/,
  );
  await other.finish();
  const expired = await echoServer(pki.expired);
  assert.match(
    await connectError(connectTls({ hostname: "localhost", port: expired.port, caCerts })),
    /certificate verify failed: the certificate has expired/,
  );
  await expired.finish();
});

Deno.test("a server that does not speak TLS is named as such", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    await conn.write(encoder.encode("Welcome to sockchat. What is your nickname?\n"));
    const buffer = new Uint8Array(1024);
    try {
      while (await conn.read(buffer) !== null) { /* wait for the client to give up */ }
    } catch {
      // reset by the client
    }
    conn.close();
  })();
  const message = await connectError(
    connectTls({ hostname: "127.0.0.1", port: listener.addr.port }),
  );
  assert.match(message, /securely: the server did not answer in TLS/);
  await served;
  listener.close();
});

Deno.test("a handshake that never finishes times out on both sides", async () => {
  // Client side: a TCP server that accepts and says nothing.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held = silent.accept();
  const message = await connectError(
    connectTls({ hostname: "127.0.0.1", port: silent.addr.port, handshakeTimeoutMs: 50 }),
  );
  assert.match(message, /securely: the TLS handshake did not finish within 50 ms\.$/);
  (await held).close();
  silent.close();

  // Server side: a TCP client that connects to a TLS server and says nothing. The server's
  // socket is closed by the deadline: the silent client reads EOF.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const mute = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const result = await acceptTls(await listener.accept(), serverTlsContext(pki.leaf), 50);
  assert.ok(!result.ok);
  assert.deepEqual([result.reason, result.timedOut], ["handshake not finished within 50 ms", true]);
  assert.equal(await mute.read(new Uint8Array(16)), null, "the server hung up");
  mute.close();
  listener.close();
});

Deno.test("certificate, key and CA files are checked for what they hold", async () => {
  const { leaf, ca, dir } = pki;
  const error = async (promise: Promise<unknown>) => {
    const e = await promise.then(() => null, (x: unknown) => x);
    assert.ok(e instanceof TlsError, `expected a TlsError, got ${e}`);
    return e.message;
  };
  assert.equal(
    await error(loadTlsCredentials(`${dir}/nope.pem`, leaf.keyFile)),
    `The certificate file ${dir}/nope.pem does not exist.`,
  );
  assert.match(
    await error(loadTlsCredentials(leaf.keyFile, leaf.keyFile)),
    /certificate file .* holds no PEM certificate/,
  );
  assert.match(
    await error(loadTlsCredentials(leaf.certFile, leaf.certFile)),
    /key file .* holds no PEM private key/,
  );
  const encrypted = `${dir}/encrypted.key`;
  await Deno.writeTextFile(encrypted, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nxx\n");
  assert.match(await error(loadTlsCredentials(leaf.certFile, encrypted)), /is encrypted/);
  assert.match(await error(loadCaCerts(leaf.keyFile)), /CA file .* holds no PEM certificate/);
  assert.match(await error(loadCaCerts(dir)), /is a directory/);
  assert.deepEqual(await loadCaCerts(ca.certFile), [ca.cert]);
  assert.throws(
    () => serverTlsContext({ cert: leaf.cert, key: pki.wrong.key }),
    (e: unknown) =>
      e instanceof TlsError &&
      e.message === "The TLS key does not belong to the certificate; check --tls-key.",
  );
});

Deno.test("unknown TLS errors are still reported in words", () => {
  assert.equal(
    describeTlsError(new Error("invalid peer certificate: BadSignature")),
    "certificate verify failed: BadSignature",
  );
  assert.equal(describeTlsError("weird"), "TLS failed: weird");
  assert.match(
    describeTlsError(new Error("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))")),
    /presents a CA certificate as its own/,
  );
});
