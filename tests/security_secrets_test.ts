import assert from "node:assert/strict";
import { MAX_SECRET_FILE_BYTES } from "../config/security_limits.ts";
import {
  loadSecret,
  loadServerSecrets,
  OPER_SECRET_ENV,
  PASSWORD_ENV,
  readSecretFile,
  Secret,
  SecretError,
  secretModeProblem,
  trimOneNewline,
} from "../security/secrets.ts";

/** Runs `body` with a fresh temp directory, removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat_secrets_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeSecret(path: string, data: string | Uint8Array, mode = 0o600) {
  if (typeof data === "string") await Deno.writeTextFile(path, data);
  else await Deno.writeFile(path, data);
  await Deno.chmod(path, mode);
}

const noEnv = () => undefined;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

async function secretError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => null, (e: unknown) => e);
  assert.ok(error instanceof SecretError, `expected a SecretError, got ${error}`);
  return error.message;
}

Deno.test("a secret matches only its exact value", () => {
  const secret = new Secret("hunter2", "test");
  assert.ok(secret.matches("hunter2"));
  assert.equal(secret.matches("hunter"), false);
  assert.equal(secret.matches("hunter2 "), false);
  assert.equal(secret.matches("Hunter2"), false);
  assert.equal(secret.matches(""), false);
  assert.equal(secret.matches(undefined), false);
  assert.ok(new Secret("pässwörd 🔑", "test").matches("pässwörd 🔑"));
});

Deno.test("a secret prints as [secret] however it is logged", () => {
  const secret = new Secret("hunter2", "environment variable X");
  assert.equal(`${secret}`, "[secret]");
  assert.equal(String(secret), "[secret]");
  assert.equal(JSON.stringify({ password: secret }), '{"password":"[secret]"}');
  const inspected = Deno.inspect({ password: secret }, { depth: 5, showHidden: true });
  assert.ok(!inspected.includes("hunter2"), inspected);
  assert.equal(secret.source, "environment variable X");
});

Deno.test("a secret file loses one trailing newline and nothing else", async () => {
  await inTempDir(async (dir) => {
    const cases: [string, string][] = [
      ["pw\n", "pw"],
      ["pw\r\n", "pw"],
      ["pw", "pw"],
      ["pw\n\n", "pw\n"],
      [" pw \n", " pw "],
    ];
    for (const [i, [content, expected]] of cases.entries()) {
      const path = `${dir}/s${i}`;
      await writeSecret(path, content);
      const secret = await readSecretFile(path, "server password");
      assert.ok(secret.matches(expected), JSON.stringify(content));
      assert.equal(secret.source, `file ${path}`);
    }
  });
  assert.equal(trimOneNewline("a\r\n"), "a");
  assert.equal(trimOneNewline("a\r"), "a\r");
});

Deno.test("secret files open to other users or writable by the group are refused", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/password`;
    await writeSecret(path, "pw\n", 0o644);
    const message = await secretError(readSecretFile(path, "server password"));
    assert.equal(
      message,
      `The server password file ${path} is readable by other users (mode 0644). ` +
        `Run "chmod 600 ${path}" and start again.`,
    );
    await Deno.chmod(path, 0o660);
    assert.match(
      await secretError(readSecretFile(path, "x")),
      /writable by its group \(mode 0660\)/,
    );
    await Deno.chmod(path, 0o640);
    assert.ok((await readSecretFile(path, "x")).matches("pw"), "group read is allowed");
    await Deno.chmod(path, 0o400);
    assert.ok((await readSecretFile(path, "x")).matches("pw"));
  });
  assert.equal(secretModeProblem(null), null, "no mode bits (Windows): nothing to check");
  assert.equal(secretModeProblem(0o100600), null);
  assert.match(secretModeProblem(0o602) ?? "", /writable by other users/);
  assert.match(secretModeProblem(0o601) ?? "", /usable by other users/);
});

Deno.test("empty, oversized, binary, missing and directory secret files are refused", async () => {
  await inTempDir(async (dir) => {
    await writeSecret(`${dir}/empty`, "\n");
    assert.match(await secretError(readSecretFile(`${dir}/empty`, "operator secret")), /is empty/);
    await writeSecret(`${dir}/big`, "x".repeat(MAX_SECRET_FILE_BYTES + 1));
    assert.match(await secretError(readSecretFile(`${dir}/big`, "x")), /larger than 4096 bytes/);
    await writeSecret(`${dir}/max`, "x".repeat(MAX_SECRET_FILE_BYTES));
    assert.ok((await readSecretFile(`${dir}/max`, "x")).matches("x".repeat(4096)));
    await writeSecret(`${dir}/bin`, new Uint8Array([0x70, 0xff, 0x0a]));
    assert.match(await secretError(readSecretFile(`${dir}/bin`, "x")), /not UTF-8 text/);
    assert.equal(
      await secretError(readSecretFile(`${dir}/nope`, "operator secret")),
      `The operator secret file ${dir}/nope cannot be opened: no such file.`,
    );
    await Deno.mkdir(`${dir}/sub`, { mode: 0o700 });
    assert.match(await secretError(readSecretFile(`${dir}/sub`, "x")), /is a directory/);
  });
});

Deno.test("the environment is used when no file is given, and an empty value is an error", async () => {
  const options = { label: "server password", envVar: PASSWORD_ENV };
  assert.equal(await loadSecret({ ...options, getEnv: noEnv }), null);
  const fromEnv = await loadSecret({ ...options, getEnv: envOf({ [PASSWORD_ENV]: "pw" }) });
  assert.ok(fromEnv?.matches("pw"));
  assert.equal(fromEnv?.source, "environment variable SOCKCHAT_PASSWORD");
  assert.equal(
    await secretError(loadSecret({ ...options, getEnv: envOf({ [PASSWORD_ENV]: "" }) })),
    "SOCKCHAT_PASSWORD is set but empty. Unset it to run without a server password, " +
      "or give it a value.",
  );
});

Deno.test("a file flag wins over the environment; both secrets load independently", async () => {
  await inTempDir(async (dir) => {
    await writeSecret(`${dir}/oper`, "from-file\n");
    const getEnv = envOf({ [PASSWORD_ENV]: "env-pw", [OPER_SECRET_ENV]: "env-oper" });
    const secrets = await loadServerSecrets({ operFile: `${dir}/oper`, getEnv });
    assert.ok(secrets.password?.matches("env-pw"));
    assert.ok(secrets.operSecret?.matches("from-file"));
    assert.equal(secrets.operSecret?.matches("env-oper"), false);
    const none = await loadServerSecrets({ getEnv: noEnv });
    assert.deepEqual(none, { password: null, operSecret: null });
  });
});

Deno.test("the real environment is read by default", async () => {
  Deno.env.set(OPER_SECRET_ENV, "from-real-env");
  try {
    const secret = await loadSecret({ label: "operator secret", envVar: OPER_SECRET_ENV });
    assert.ok(secret?.matches("from-real-env"));
  } finally {
    Deno.env.delete(OPER_SECRET_ENV);
  }
});
