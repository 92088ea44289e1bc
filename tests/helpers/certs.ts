/**
 * Test helper: a throwaway PKI made with `openssl` in a temporary directory. EC P-256 keys
 * keep it fast (a few milliseconds per certificate).
 *
 * Server certificates carry `basicConstraints=critical,CA:FALSE` (Deno refuses a CA
 * certificate used as a server's own) and `subjectAltName=DNS:localhost,IP:127.0.0.1`.
 *
 * @module
 */

/** One certificate with its key, as files and as PEM text. */
export interface TestCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A CA, certificates it signed, and one it did not. */
export interface TestPki {
  /** The temporary directory holding every file. */
  dir: string;
  /** The test CA (`CA:TRUE`); trust `ca.certFile` with `--ca`. */
  ca: TestCert;
  /** Signed by the CA, for localhost and 127.0.0.1: the one that works. */
  leaf: TestCert;
  /** Signed by the CA, but only for `elsewhere.invalid`. */
  otherHost: TestCert;
  /** Signed by the CA for localhost, but already expired. */
  expired: TestCert;
  /** Self-signed for localhost: no CA vouches for it. Doubles as a wrong `--ca`. */
  wrong: TestCert;
  /** Deletes the directory. */
  remove(): Promise<void>;
}

const SERVER_EXTENSIONS = [
  "basicConstraints=critical,CA:FALSE",
  "subjectAltName=DNS:localhost,IP:127.0.0.1",
  "keyUsage=critical,digitalSignature",
  "extendedKeyUsage=serverAuth",
];

const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"];

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    throw new Error(`openssl ${args.join(" ")} failed (exit ${out.code}): ${stderr}`);
  }
}

async function load(dir: string, name: string): Promise<TestCert> {
  const certFile = `${dir}/${name}.pem`;
  const keyFile = `${dir}/${name}.key`;
  return {
    certFile,
    keyFile,
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
  };
}

/** Creates a key and a certificate for it, signed by the test CA in `dir`. */
async function signed(
  dir: string,
  name: string,
  serial: number,
  extensions: string[],
  days: number,
): Promise<TestCert> {
  await Deno.writeTextFile(`${dir}/${name}.ext`, extensions.join("\n") + "\n");
  await openssl(dir, [
    "req",
    "-new",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-set_serial",
    String(serial),
    "-days",
    String(days),
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
  return await load(dir, name);
}

async function selfSigned(dir: string, name: string, extensions: string[]): Promise<TestCert> {
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    ...extensions.flatMap((extension) => ["-addext", extension]),
  ]);
  return await load(dir, name);
}

/** Makes a fresh {@linkcode TestPki}; call `remove()` when done. Needs --allow-run for openssl. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_pki_" });
  try {
    const ca = await selfSigned(dir, "ca", [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    const leaf = await signed(dir, "leaf", 2, SERVER_EXTENSIONS, 2);
    const otherHost = await signed(dir, "other", 3, [
      "basicConstraints=critical,CA:FALSE",
      "subjectAltName=DNS:elsewhere.invalid",
    ], 2);
    // A negative validity ends a day before it starts: expired from the moment it exists.
    const expired = await signed(dir, "expired", 4, SERVER_EXTENSIONS, -1);
    const wrong = await selfSigned(dir, "wrong", SERVER_EXTENSIONS.slice(0, 2));
    return {
      dir,
      ca,
      leaf,
      otherHost,
      expired,
      wrong,
      remove: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}
