/**
 * Impersonation through lookalike letters, end to end over real sockets: nicks from scripts
 * outside the lookalike table (finding 8 of "Hardening II") and room names that imitate
 * existing rooms.
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../protocol/frames.ts";
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
