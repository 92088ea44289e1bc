import assert from "node:assert/strict";
import {
  AuthorizedKeysError,
  blobFromOpenSsh,
  ed25519PublicFromOpenSsh,
  fingerprintOfBlob,
  parseAuthorizedKeys,
} from "../security/ssh_keys.ts";

/** A fresh key from ssh-keygen: its public line and the fingerprint `ssh-keygen -lf` prints. */
async function sshKeygen(type: "ed25519" | "rsa"): Promise<{ line: string; fingerprint: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_sshkeys_" });
  try {
    const path = `${dir}/key`;
    const made = await new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", type, "-N", "", "-C", "test key", "-f", path],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
    const listed = await new Deno.Command("ssh-keygen", {
      args: ["-lf", `${path}.pub`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(listed.code, 0, new TextDecoder().decode(listed.stderr));
    // "256 SHA256:... test key (ED25519)"
    const fingerprint = new TextDecoder().decode(listed.stdout).split(" ")[1];
    const line = (await Deno.readTextFile(`${path}.pub`)).trim();
    return { line, fingerprint };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ssh keys: the fingerprint of an ssh-keygen ed25519 key matches ssh-keygen -lf", async () => {
  const { line, fingerprint } = await sshKeygen("ed25519");
  assert.match(fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  const blob = blobFromOpenSsh(line);
  assert.ok(blob !== null);
  assert.equal(fingerprintOfBlob(blob), fingerprint);
  const [parsed] = parseAuthorizedKeys(`${line}\n`);
  assert.deepEqual(parsed, { fingerprint, type: "ssh-ed25519", comment: "test key" });
});

Deno.test("ssh keys: an RSA key's fingerprint matches ssh-keygen -lf too", async () => {
  const { line, fingerprint } = await sshKeygen("rsa");
  assert.equal(parseAuthorizedKeys(line)[0].fingerprint, fingerprint);
});

Deno.test("ssh keys: the raw ed25519 key is the 32 bytes at the end of the blob", async () => {
  const { line } = await sshKeygen("ed25519");
  const raw = ed25519PublicFromOpenSsh(line);
  assert.ok(raw !== null);
  assert.equal(raw.length, 32);
  const blob = blobFromOpenSsh(line);
  assert.ok(blob !== null);
  assert.deepEqual(raw, blob.subarray(blob.length - 32));
  // The base64 blob alone is accepted too.
  assert.deepEqual(ed25519PublicFromOpenSsh(line.split(" ")[1]), raw);
});

Deno.test("ssh keys: ed25519PublicFromOpenSsh refuses what is not one ed25519 key", async () => {
  const rsa = await sshKeygen("rsa");
  assert.equal(ed25519PublicFromOpenSsh(rsa.line), null);
  assert.equal(ed25519PublicFromOpenSsh(""), null);
  assert.equal(ed25519PublicFromOpenSsh("ssh-ed25519 not*base64"), null);
  // A blob that says ssh-ed25519 but holds 31 bytes.
  const short = new Uint8Array([
    0,
    0,
    0,
    11,
    ...new TextEncoder().encode("ssh-ed25519"),
    0,
    0,
    0,
    31,
    ...new Uint8Array(31),
  ]);
  assert.equal(
    ed25519PublicFromOpenSsh(`ssh-ed25519 ${btoa(String.fromCharCode(...short))}`),
    null,
  );
  // Trailing bytes after the key.
  const long = new Uint8Array([
    0,
    0,
    0,
    11,
    ...new TextEncoder().encode("ssh-ed25519"),
    0,
    0,
    0,
    32,
    ...new Uint8Array(33),
  ]);
  assert.equal(ed25519PublicFromOpenSsh(`ssh-ed25519 ${btoa(String.fromCharCode(...long))}`), null);
});

Deno.test("ssh keys: authorized_keys skips comments and blanks, accepts options, keeps comments", async () => {
  const a = await sshKeygen("ed25519");
  const b = await sshKeygen("ed25519");
  const text = [
    "# operators",
    "",
    `   ${a.line}`,
    `from="10.0.0.1,10.0.0.2",no-pty ${b.line}`,
    `command="echo a b" ${b.line.split(" ").slice(0, 2).join(" ")}`,
  ].join("\r\n");
  const keys = parseAuthorizedKeys(text);
  assert.deepEqual(keys.map((key) => key.fingerprint), [
    a.fingerprint,
    b.fingerprint,
    b.fingerprint,
  ]);
  assert.deepEqual(keys.map((key) => key.comment), ["test key", "test key", ""]);
});

Deno.test("ssh keys: a bad authorized_keys line is named in the error", async () => {
  const a = await sshKeygen("ed25519");
  const cases: [string, RegExp][] = [
    [`${a.line}\nnot a key\n`, /^Line 2: no key type/],
    [`# c\nssh-ed25519\n`, /^Line 2: ssh-ed25519 is not followed by a key/],
    [`ssh-ed25519 @@@@\n`, /^Line 1: the key is not valid base64/],
    [`ssh-rsa ${a.line.split(" ")[1]}\n`, /^Line 1: the key's data says ssh-ed25519, not ssh-rsa/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(() => parseAuthorizedKeys(text), (error: unknown) => {
      assert.ok(error instanceof AuthorizedKeysError);
      assert.match(error.message, expected);
      return true;
    });
  }
});
