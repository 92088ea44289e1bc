/**
 * `--ssh-host-key PATH` where there is no file: serve still refuses (a mistyped path must not
 * quietly give the server a new key, which clients would take for an impostor), and says how to
 * make one at that path, or to leave the flag out.
 */

import assert from "node:assert/strict";
import { runCli } from "./helpers/cli.ts";
import { run } from "./helpers/ssh.ts";
import { HostKeyError, loadHostKey } from "../transport/ssh/host_key.ts";

Deno.test("serve --ssh-host-key with no such file: exit 1, and the ssh-keygen line that makes it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-test-hostkey-" });
  try {
    const path = `${dir}/host_key`;
    const result = await runCli([
      "serve",
      ...["--host", "127.0.0.1", "--port", "0", "--db", ":memory:"],
      ...["--ssh-port", "0", "--ssh-host-key", path],
    ]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `sockchat: There is no SSH host key at ${path}. Make one with: ssh-keygen -t ed25519 -N "" ` +
        `-f ${path} (or leave out --ssh-host-key, and sockchat makes one and keeps it in its ` +
        "state directory).\n",
    );
    await assert.rejects(Deno.lstat(path), Deno.errors.NotFound, "nothing was made in its place");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the ssh-keygen line given for a missing host key, pasted into a shell, makes a key serve takes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-test-hostkey-" });
  try {
    // A space and a quote: the path in the command must be quoted for the shell.
    const path = `${dir}/bob's host key`;
    const message = await loadHostKey(path).then(
      () => assert.fail("a missing key was loaded"),
      (error: unknown) => {
        assert.ok(error instanceof HostKeyError, String(error));
        return error.message;
      },
    );
    const command = /Make one with: (ssh-keygen .*) \(or leave out/.exec(message)?.[1];
    assert.ok(command !== undefined, message);
    const made = await run("sh", ["-c", `${command} -q`]);
    assert.equal(made.code, 0, made.stderr);
    assert.match((await loadHostKey(path)).fingerprint, /^SHA256:/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
