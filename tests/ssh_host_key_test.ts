/**
 * The SSH host key through the real `sockchat serve`: generated on the first start under
 * `$XDG_STATE_HOME/sockchat/` (mode 600), the same across restarts, and what the server prints is
 * what `ssh-keyscan | ssh-keygen -lf -` shows. `--ssh-host-key` serves a key made by ssh-keygen
 * and refuses one it cannot use, in one sentence.
 */

import assert from "node:assert/strict";
import { denoArgs } from "./helpers/cli.ts";
import { fingerprintOf, makeKey, run } from "./helpers/ssh.ts";
import { within } from "./helpers/wire.ts";
import { loopbackServeArgs } from "../bench/launch_args.ts";
import { hostKeyFingerprint } from "../transport/ssh/host_key.ts";
import { generateHostKeyText } from "../transport/ssh/openssh_key.ts";

/** A `sockchat serve --ssh-port 0` subprocess, up to its start-up lines. */
interface SshServe {
  sshPort: number;
  fingerprint: string;
  /** Everything printed on stdout at start. */
  banner: string;
  stop(): Promise<void>;
}

async function serveWithSsh(env: Record<string, string>, extra: string[] = []): Promise<SshServe> {
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs(loopbackServeArgs("warn", ["--db", ":memory:", "--ssh-port", "0", ...extra])),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    const match = await within(
      (async () => {
        while (true) {
          const found = /ssh listening on .*:(\d+)\n(ssh host key (SHA256:\S+).*\n)/.exec(text);
          if (found) return found;
          const { value, done } = await reader.read();
          if (done) throw new Error(`serve exited before its ssh lines: ${text}`);
          text += value;
        }
      })(),
      "serve's ssh lines",
      20_000,
    );
    const drained = (async () => {
      while (!(await reader.read()).done) { /* discard */ }
    })();
    return {
      sshPort: Number(match[1]),
      fingerprint: match[3],
      banner: text,
      async stop() {
        child.kill("SIGTERM");
        await within(child.status, "serve to exit", 20_000);
        await drained;
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel().catch(() => {});
    throw error;
  }
}

/** What `ssh-keyscan -p PORT 127.0.0.1 | ssh-keygen -lf -` prints for the ed25519 key. */
async function scannedFingerprint(port: number): Promise<string> {
  const scan = await run("ssh-keyscan", ["-t", "ed25519", "-p", String(port), "127.0.0.1"]);
  assert.equal(scan.code, 0, scan.stderr);
  const listed = await run("ssh-keygen", ["-lf", "-"], { stdin: scan.stdout });
  const match = /SHA256:\S+/.exec(listed.stdout);
  assert.ok(match, `ssh-keygen -lf - printed: ${listed.stdout}${listed.stderr}`);
  return match[0];
}

Deno.test("ssh host key: generated once under XDG_STATE_HOME (mode 600), kept across restarts, and the printed fingerprint is ssh-keyscan's", async () => {
  const state = await Deno.makeTempDir({ prefix: "sockchat-state-" });
  const env = { XDG_STATE_HOME: state, NO_COLOR: "1" };
  try {
    const first = await serveWithSsh(env);
    let scanned: string;
    try {
      assert.match(first.banner, /^listening on [^\n]+\nssh listening on 127\.0\.0\.1:\d+\n/);
      assert.match(first.banner, /\(new, saved to /);
      scanned = await scannedFingerprint(first.sshPort);
    } finally {
      await first.stop();
    }
    assert.equal(scanned, first.fingerprint);
    const path = `${state}/sockchat/ssh_host_ed25519_key`;
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await fingerprintOf(path), first.fingerprint);

    const second = await serveWithSsh(env);
    try {
      assert.equal(second.fingerprint, first.fingerprint);
      assert.doesNotMatch(second.banner, /\(new/);
      assert.equal(await scannedFingerprint(second.sshPort), first.fingerprint);
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});

Deno.test("ssh host key: --ssh-host-key serves a key from ssh-keygen, and refuses one readable by others, an RSA key and a public key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-hostkey-" });
  const env = { XDG_STATE_HOME: `${dir}/state`, NO_COLOR: "1" };
  try {
    const key = await makeKey(dir, "host");
    const server = await serveWithSsh(env, ["--ssh-host-key", key.path]);
    try {
      assert.equal(server.fingerprint, key.fingerprint);
      assert.equal(await scannedFingerprint(server.sshPort), key.fingerprint);
    } finally {
      await server.stop();
    }
    // Nothing was generated: the given key is the only one.
    await assert.rejects(Deno.stat(`${dir}/state`), Deno.errors.NotFound);

    const serve = (file: string) =>
      run(
        Deno.execPath(),
        denoArgs(loopbackServeArgs("warn", [
          "--db",
          ":memory:",
          "--ssh-port",
          "0",
          "--ssh-host-key",
          file,
        ])),
      );
    await Deno.chmod(key.path, 0o644);
    const open = await serve(key.path);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /readable by other users.*chmod 600/);

    const rsa = `${dir}/rsa`;
    await run("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa]);
    const wrongType = await serve(rsa);
    assert.equal(wrongType.code, 1);
    assert.match(wrongType.stderr, /is ssh-rsa; sockchat serves ed25519 host keys/);

    await Deno.chmod(`${key.path}.pub`, 0o600);
    const publicOnly = await serve(`${key.path}.pub`);
    assert.equal(publicOnly.code, 1);
    assert.match(publicOnly.stderr, /is a public key; --ssh-host-key takes the private key file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ssh host key: every generated key is a valid OpenSSH key (ssh2's own generator drops a leading zero byte once in 256)", async () => {
  // 2,000 keys hold a public key starting with 0x00 about 8 times: each must still parse.
  for (let i = 0; i < 2000; i++) {
    const text = generateHostKeyText();
    assert.match(hostKeyFingerprint(text, "generated"), /^SHA256:[A-Za-z0-9+/]{43}$/);
  }
  const dir = await Deno.makeTempDir({ prefix: "sockchat-genkey-" });
  try {
    const path = `${dir}/key`;
    await Deno.writeTextFile(path, generateHostKeyText("check"), { mode: 0o600 });
    // ssh-keygen derives the public key from the private part: the file is what it would write.
    const derived = await run("ssh-keygen", ["-y", "-f", path]);
    assert.equal(derived.code, 0, derived.stderr);
    assert.match(derived.stdout, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+ check\n$/);
    assert.equal(
      await fingerprintOf(path),
      hostKeyFingerprint(await Deno.readTextFile(path), path),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
