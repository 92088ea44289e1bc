/**
 * `sockchat serve --motd-file` (issue 12): the file is read once at start, at most
 * MOTD_MAX_BYTES bytes of UTF-8, and shown to each user after the welcome and with /motd; a
 * file that cannot be used is refused in one sentence with exit 1, before the server listens.
 */

import assert from "node:assert/strict";
import { MOTD_MAX_BYTES } from "../config/limits.ts";
import { loadMotd, MotdError } from "../config/server_config.ts";
import { runCli, spawnServe } from "./helpers/cli.ts";
import { command, JsonClient } from "./helpers/wire.ts";

/** A temporary file holding `bytes`; removed by the returned function. */
async function tempFile(bytes: Uint8Array | string): Promise<[string, () => Promise<void>]> {
  const path = await Deno.makeTempFile({ suffix: ".motd" });
  if (typeof bytes === "string") await Deno.writeTextFile(path, bytes);
  else await Deno.writeFile(path, bytes);
  return [path, () => Deno.remove(path)];
}

Deno.test("motd: serve --help lists --motd-file with its byte cap", async () => {
  const result = await runCli(["serve", "--help"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, new RegExp(`--motd-file FILE .*at most ${MOTD_MAX_BYTES} bytes`));
});

Deno.test("motd: a file of exactly MOTD_MAX_BYTES is shown after the welcome and by /motd", async () => {
  const text = `Be kind.\n${"x".repeat(MOTD_MAX_BYTES - "Be kind.\n".length - 1)}\n`;
  assert.equal(new TextEncoder().encode(text).length, MOTD_MAX_BYTES);
  const [path, remove] = await tempFile(text);
  const server = await spawnServe(["--motd-file", path]);
  const client = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
  try {
    await client.send({ type: "hello", v: 1, nick: "alice" });
    assert.equal((await client.next())?.type, "welcome");
    const motd = await client.next();
    assert.deepEqual(motd, { type: "info", text: text.trimEnd() });
    // Read once at start: changing the file changes nothing.
    await Deno.writeTextFile(path, "changed");
    const again = await command(client, "/motd");
    assert.equal(again.type === "info" && again.text, text.trimEnd());
  } finally {
    client.close();
    assert.equal((await server.stop()).code, 0);
    await remove();
  }
});

Deno.test("motd: a server without --motd-file has none", async () => {
  const server = await spawnServe();
  const client = await JsonClient.login({ addr: { port: server.port } } as never, "bob");
  try {
    const answer = await command(client, "/motd");
    assert.equal(answer.type === "info" && answer.text, "* No message of the day.");
  } finally {
    client.close();
    await server.stop();
  }
});

Deno.test("motd: a file too big, missing or not UTF-8 is refused in one sentence, exit 1", async () => {
  const [big, removeBig] = await tempFile("x".repeat(MOTD_MAX_BYTES + 1));
  const [binary, removeBinary] = await tempFile(new Uint8Array([0x48, 0xff, 0xfe, 0x0a]));
  try {
    for (
      const [path, why] of [
        [big, `is larger than ${MOTD_MAX_BYTES} bytes`],
        [`${big}.missing`, "cannot read --motd-file"],
        [binary, "is not UTF-8 text"],
      ]
    ) {
      const result = await runCli([
        "serve",
        "--port",
        "0",
        "--db",
        ":memory:",
        "--motd-file",
        path,
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.ok(result.stderr.startsWith("sockchat: "), result.stderr);
      assert.ok(result.stderr.includes(why), result.stderr);
      assert.ok(!result.stdout.includes("listening"), "refused before listening");
    }
  } finally {
    await removeBig();
    await removeBinary();
  }
});

Deno.test("motd: loadMotd cleans control characters and trailing blank lines", async () => {
  const [path, remove] = await tempFile("\x1b[31mRed\x1b[0m rules\u202E\n\n\n");
  try {
    assert.equal(await loadMotd(path), "Red rules");
    await assert.rejects(() => loadMotd(Deno.cwd()), MotdError, "a directory is not a file");
  } finally {
    await remove();
  }
});
