/**
 * Impersonation through lookalike letters, end to end over real sockets: nicks from scripts
 * outside the lookalike table (finding 8 of "Hardening II") and room names that imitate
 * existing rooms.
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../protocol/frames.ts";
import { type Ban, BanList } from "../core/moderation.ts";
import { command, hello, JsonClient, testServer } from "./helpers/wire.ts";

type Frame<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

Deno.test("lookalikes of Alice and bob cannot log in, real names in other scripts can", async () => {
  const server = testServer({ maxConnsPerIp: 100 });
  const alice = await JsonClient.login(server, "Alice");
  const bob = await JsonClient.login(server, "bob");
  const attempts: [string, "nick_invalid" | "nick_taken"][] = [
    ["\ua4eelice", "nick_invalid"], // ꓮlice, Lisu
    ["\u13aalice", "nick_invalid"], // Ꭺlice, Cherokee
    ["\u15c5lice", "nick_invalid"], // ᗅlice, Canadian Aboriginal
    ["\u2c81lice", "nick_invalid"], // ⲁlice, Coptic
    ["Alic\u212e", "nick_invalid"], // Alic℮, the estimated sign
    ["\ua4d0o\ua4d0", "nick_invalid"], // ꓐoꓐ, Lisu
    ["\u13f4ob", "nick_invalid"], // Ᏼob, Cherokee
    ["\u0430lice", "nick_invalid"], // Cyrillic а beside Latin
    ["\u0412\u041e\u0412", "nick_taken"], // ВОВ, all Cyrillic: the same skeleton as bob
    ["b\u101db", "nick_taken"], // Myanmar wa beside Latin is allowed, but it is an o
    ["A\u05d5ice", "nick_taken"], // Hebrew vav is an l
  ];
  // One connection tries them all: a refused hello may be followed by another.
  const imposter = await hello(server.addr.port, { nick: attempts[0][0] });
  for (const [i, [nick, code]] of attempts.entries()) {
    const error = await imposter.expect("error");
    assert.equal(error.code, code, nick);
    assert.notEqual(error.fatal, true);
    if (nick === "\u13f4ob") {
      assert.equal(
        error.message,
        "A nickname may not use Cherokee letters: only the scripts Unicode recommends for " +
          "identifiers are allowed.",
      );
    }
    await imposter.send({ type: "hello", v: 1, nick: attempts[i + 1]?.[0] ?? "Zoë" });
  }
  assert.equal((await imposter.expect("welcome")).nick, "Zoë");
  const names = [
    "José",
    "Дмитрий",
    "Αλέξης",
    "山田",
    "たなか",
    "김민수",
    "محمد",
    "राहुल",
    "tanaka山田",
  ];
  const others = await Promise.all(names.map((nick) => JsonClient.login(server, nick)));
  // A nick change is held to the same rules as a login.
  const renamed = await command(alice, "/nick \ua4d0o\ua4d0") as Frame<"error">;
  assert.deepEqual([renamed.type, renamed.code], ["error", "nick_invalid"]);
  for (const client of [alice, bob, imposter, ...others]) client.close();
  await server.shutdown();
});

Deno.test("#lоbby with a Cyrillic о is refused, and all-lookalike names are the room", async () => {
  const server = testServer();
  const alice = await JsonClient.login(server, "alice");
  const mixed = await command(alice, "/join #l\u043ebby") as Frame<"error">;
  assert.deepEqual(
    [mixed.type, mixed.code, mixed.message],
    [
      "error",
      "room_invalid",
      "A room name may not mix Latin and Cyrillic letters, which look alike; did you mean #lobby?",
    ],
  );
  await command(alice, "/join #dev");
  // Cyrillic ԁеѵ and small-capital ᴅᴇᴠ are not rooms of their own: they are #dev.
  for (const name of ["#\u0501\u0435\u0475", "#\u1d05\u1d07\u1d20"]) {
    const joined = await command(alice, `/join ${name}`) as Frame<"joined">;
    assert.deepEqual([joined.type, joined.room], ["joined", "#dev"], name);
  }
  alice.close();
  await server.shutdown();
});

Deno.test("aIice, ɑlice and al1ce cannot pass for a registered alice: at login, on /nick, and while she is online", async () => {
  const server = testServer({ maxConnsPerIp: 100 });
  const alice = await JsonClient.login(server, "alice");
  const registered = await command(alice, "/register hunter2hunter2");
  assert.notEqual(registered.type, "error", JSON.stringify(registered));
  const lookalikes = ["aIice", "\u0251lice", "al1ce"]; // capital I, Latin alpha, digit one
  // While alice is online, the registry refuses them as her nick.
  for (const nick of lookalikes) {
    const client = await hello(server.addr.port, { nick });
    const error = await client.expect("error");
    assert.ok(["nick_taken", "nick_registered"].includes(error.code), `${nick}: ${error.code}`);
    client.close();
  }
  alice.close();
  // Offline, her account refuses them.
  for (const nick of lookalikes) {
    const client = await hello(server.addr.port, { nick });
    const error = await client.expect("error");
    assert.equal(error.code, "nick_registered", nick);
    assert.equal(error.need, "password", nick);
    client.close();
  }
  // /nick to one of them is refused the same way.
  const mallory = await JsonClient.login(server, "mallory");
  for (const nick of lookalikes) {
    const renamed = await command(mallory, `/nick ${nick}`) as Frame<"error">;
    assert.deepEqual([renamed.type, renamed.code], ["error", "nick_registered"], nick);
  }
  mallory.close();
  await server.shutdown();
});

Deno.test("a nick ban saved under an older folding holds as nicks fold now, and lifts", () => {
  const deleted: string[] = [];
  // "al1ce" as a server that kept the digit one apart from i saved it.
  const saved: Ban = { kind: "nick", target: "al1ce", until: 0, reason: "spam", by: "op" };
  const bans = new BanList({
    bans: {
      load: () => [saved],
      save: () => {},
      delete: (_kind, target) => void deleted.push(target),
    },
  });
  assert.equal(bans.find("al1ce", "10.0.0.1", 1)?.reason, "spam");
  assert.equal(bans.find("aIice", "10.0.0.1", 1)?.reason, "spam");
  assert.equal(bans.covers(saved, "al1ce", "10.0.0.1"), true);
  assert.equal(bans.remove({ kind: "nick", nick: "al1ce" }, 1).value, true);
  assert.deepEqual(deleted, ["al1ce"], "the saved row is the one deleted");
  assert.equal(bans.find("al1ce", "10.0.0.1", 1), undefined);
});
