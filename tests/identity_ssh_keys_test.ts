import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import {
  AuthorizedKeysError,
  blobFromOpenSsh,
  ed25519Blob,
  ed25519PublicFromOpenSsh,
  fingerprintOfBlob,
  parseAuthorizedKeys,
  weakEd25519Point,
  weakEd25519Signature,
  weakSshKey,
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
    // A line cut short in copying: the RSA modulus is missing most of its bytes.
    ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 x\n", /^Line 1: the ssh-rsa key is cut short/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(() => parseAuthorizedKeys(text), (error: unknown) => {
      assert.ok(error instanceof AuthorizedKeysError);
      assert.match(error.message, expected);
      return true;
    });
  }
});

/** Every encoding of a small-order point, and non-canonical encodings (y >= p). */
const WEAK_POINTS: readonly string[] = [
  // the 8 small-order points, each with both values of the sign bit
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000080",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  // non-canonical: y = p, p + 1, p + 18 (2^255 - 1), with and without the sign bit
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

Deno.test("ssh keys: small-order and non-canonical ed25519 keys are refused on every parse path", async () => {
  const real = await sshKeygen("ed25519");
  const realRaw = ed25519PublicFromOpenSsh(real.line);
  assert.ok(realRaw !== null);
  assert.equal(weakEd25519Point(realRaw), null);
  assert.equal(weakSshKey(ed25519Blob(realRaw)), null);
  for (const hex of WEAK_POINTS) {
    const raw = Uint8Array.fromHex(hex);
    const line = `ssh-ed25519 ${ed25519Blob(raw).toBase64()} weak`;
    assert.notEqual(weakEd25519Point(raw), null, hex);
    assert.equal(ed25519PublicFromOpenSsh(line), null, hex);
    assert.match(weakSshKey(ed25519Blob(raw)) ?? "", /small order|canonical/, hex);
    assert.throws(
      () => parseAuthorizedKeys(`${real.line}\n${line}\n`),
      /Line 2: .*small order|Line 2: .*canonical/,
      hex,
    );
  }
});

Deno.test("ssh keys: an ed25519 signature with S >= L or a small-order R is refused before verifying", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const message = new TextEncoder().encode("message");
  const good = new Uint8Array(sign(null, message, privateKey));
  assert.equal(weakEd25519Signature(good), null);
  // S + L: the same signature, malleated.
  const order = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(good[i]);
  s += order;
  const malleated = good.slice();
  for (let i = 32; i < 64; i++, s >>= 8n) malleated[i] = Number(s & 0xffn);
  assert.match(weakEd25519Signature(malleated) ?? "", /S is not below the group order/);
  // All zeros: R is the small-order point (0, ...), S = 0; what a weak key's forgery looks like.
  assert.match(weakEd25519Signature(new Uint8Array(64)) ?? "", /R is a point of small order/);
  for (const hex of WEAK_POINTS) {
    const sig = new Uint8Array(64);
    sig.set(Uint8Array.fromHex(hex));
    assert.notEqual(weakEd25519Signature(sig), null, hex);
  }
  assert.equal(weakEd25519Signature(good.subarray(0, 63)), "not 64 bytes long");
  // weakSshKey checks the signature too when given one.
  const x = publicKey.export({ format: "jwk" }).x;
  assert.ok(x !== undefined);
  const raw = Uint8Array.fromBase64(x, { alphabet: "base64url" });
  assert.equal(weakSshKey(ed25519Blob(raw), good), null);
  assert.match(weakSshKey(ed25519Blob(raw), malleated) ?? "", /signature's S/);
});
