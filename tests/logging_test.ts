/**
 * The server's log (`--log-format json`): one JSON object per line, an event for every
 * connection, login, refusal, disconnect (with its reason), flood and moderation act, and never
 * a message body, a kick or ban reason, a password or a secret.
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../protocol/frames.ts";
import { spawnServe } from "./helpers/cli.ts";
import { JsonClient } from "./helpers/wire.ts";

/** Sends a command and returns the frame that answers it (by ref). */
async function command(client: JsonClient, line: string): Promise<ServerFrame> {
  const ref = `c${crypto.randomUUID().slice(0, 8)}`;
  await client.send({ type: "cmd", line, room: "#lobby", ref });
  while (true) {
    const frame = await client.next(`the answer to ${line}`);
    if (frame === null) throw new Error(`EOF waiting for the answer to ${line}`);
    if ("ref" in frame && frame.ref === ref) return frame;
  }
}

Deno.test("json logs tell what happened to whom, and never what was said or any secret", async () => {
  const unique = crypto.randomUUID().replaceAll("-", "");
  const secrets = {
    password: `PASSWORD${unique}`,
    operSecret: `OPERSECRET${unique}`,
    wrongPassword: `WRONGPASSWORD${unique}`,
    wrongOper: `WRONGOPER${unique}`,
  };
  const bodies = {
    message: `MESSAGE${unique}`,
    direct: `DIRECT${unique}`,
    flood: `FLOOD${unique}`,
    kickReason: `KICKREASON${unique}`,
    banReason: `BANREASON${unique}`,
    plain: `PLAINTEXT${unique}`,
  };
  const dir = await Deno.makeTempDir();
  const passwordFile = `${dir}/password`;
  const operFile = `${dir}/oper`;
  await Deno.writeTextFile(passwordFile, secrets.password, { mode: 0o600 });
  await Deno.writeTextFile(operFile, secrets.operSecret, { mode: 0o600 });
  const serve = await spawnServe([
    "--log-format",
    "json",
    "--log-level",
    "debug",
    "--password-file",
    passwordFile,
    "--oper-file",
    operFile,
  ], { captureStderr: true });
  const clients: JsonClient[] = [];
  const connect = async (nick: string, password: string) => {
    const client = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port: serve.port }));
    clients.push(client);
    await client.send({ type: "hello", v: 1, nick, password });
    return client;
  };
  try {
    const refused = await connect("intruder", secrets.wrongPassword);
    assert.equal((await refused.expect("error")).code, "bad_password");
    await refused.expectEof();

    const op = await connect("op", secrets.password);
    await op.expect("welcome");
    const victim = await connect("victim", secrets.password);
    await victim.expect("welcome");
    const troll = await connect("troll", secrets.password);
    await troll.expect("welcome");
    const spammer = await connect("spammer", secrets.password);
    await spammer.expect("welcome");

    assert.equal((await command(op, `/oper ${secrets.wrongOper}`)).type, "error");
    assert.equal((await command(op, `/oper ${secrets.operSecret}`)).type, "info");

    await victim.send({ type: "msg", text: bodies.message, ref: "m" });
    await victim.expect("ack");
    assert.equal((await command(victim, `/msg op ${bodies.direct}`)).type, "ack");

    // A flood past the default burst of 20 is rate limited.
    await spammer.write(
      `${JSON.stringify({ type: "msg", text: bodies.flood })}\n`.repeat(30),
    );
    assert.equal((await spammer.expect("error")).code, "rate_limited");

    await command(op, `/kick troll ${bodies.kickReason}`);
    assert.equal((await troll.expect("bye")).reason, "kicked");
    await command(op, `/ban spammer 1h ${bodies.banReason}`);
    assert.equal((await spammer.expect("bye")).reason, "banned");

    // A netcat user too: password, nick, a line, and /quit.
    const plain = new JsonClient(await Deno.connect({ hostname: "127.0.0.1", port: serve.port }));
    clients.push(plain);
    await plain.write(`${secrets.password}\nnetcat\n${bodies.plain}\n/quit\n`);
    await plain.expectEof();

    await victim.send({ type: "quit" });
    await victim.expectEof();
  } finally {
    const status = await serve.stop("SIGTERM");
    for (const client of clients) client.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0);
  }

  const log = serve.stderr();
  for (const [what, secret] of Object.entries(secrets)) {
    assert.ok(!log.includes(secret), `the ${what} leaked into the log`);
  }
  for (const [what, body] of Object.entries(bodies)) {
    assert.ok(!log.includes(body), `a ${what} leaked into the log`);
  }

  const lines = log.trimEnd().split("\n").map((line) => JSON.parse(line));
  for (const line of lines) {
    assert.equal(typeof line.time, "string");
    assert.ok(["debug", "info", "warn", "error"].includes(line.level), JSON.stringify(line));
    assert.equal(typeof line.event, "string");
  }
  assert.deepEqual(lines.filter((l) => l.level === "error"), [], "no errors");
  const events = (event: string) => lines.filter((line) => line.event === event);
  const one = (event: string, fields: Record<string, unknown>) => {
    const found = events(event).find((line) =>
      Object.entries(fields).every(([key, value]) => line[key] === value)
    );
    assert.ok(found, `no ${event} line with ${JSON.stringify(fields)} in:\n${log}`);
    return found;
  };

  one("listening", { host: "127.0.0.1", port: serve.port, tls: false });
  assert.ok(events("connect").length >= 6, "a connect line for every connection");
  assert.match(String(events("connect")[0].remote), /^127\.0\.0\.1:\d+$/);
  one("login_refused", { nick: "intruder", code: "bad_password" });
  for (const nick of ["op", "victim", "troll", "spammer"]) one("login", { nick, mode: "json" });
  one("login", { nick: "netcat", mode: "plain" });
  one("oper_failed", { nick: "op" });
  one("oper", { nick: "op" });
  one("rate_limited", { nick: "spammer", level: "warn" });
  one("kick", { by: "op", nick: "troll" });
  one("ban", { by: "op", kind: "nick", target: "spammer" });
  one("disconnect", { nick: "troll", reason: "kicked" });
  one("disconnect", { nick: "spammer", reason: "banned" });
  one("disconnect", { nick: "victim", reason: "quit" });
  one("disconnect", { nick: "netcat", reason: "quit" });
  one("disconnect", { nick: undefined, reason: "bad_password" }); // the refused intruder
  one("shutdown", {});
});
