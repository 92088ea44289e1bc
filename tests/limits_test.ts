/**
 * The named limits not covered elsewhere, each at its boundary: rooms per user, room name and
 * topic length, /history size, ref length, and wrong /oper attempts.
 */

import assert from "node:assert/strict";
import {
  MAX_HISTORY_REQUEST,
  MAX_OPER_FAILURES,
  MAX_REF_LENGTH,
  MAX_ROOMS_PER_USER,
  ROOM_NAME_MAX_LENGTH,
  TOPIC_MAX_LENGTH,
} from "../config/limits.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";

const code = (frame: ServerFrame) => (frame.type === "error" ? frame.code : frame.type);

Deno.test("rooms per user, room name length, topic length and /history size are enforced", async () => {
  const server = testServer({ flood: null });
  const a = await JsonClient.login(server, "a");
  for (let i = 1; i < MAX_ROOMS_PER_USER; i++) {
    assert.equal(code(await command(a, `/join #r${i}`)), "joined");
  }
  assert.equal(code(await command(a, "/join #one-too-many")), "too_many_rooms");
  await command(a, "/leave #r1");
  assert.equal(code(await command(a, `/join #${"n".repeat(ROOM_NAME_MAX_LENGTH)}`)), "joined");
  assert.equal(
    code(await command(a, `/join #${"n".repeat(ROOM_NAME_MAX_LENGTH + 1)}`)),
    "room_invalid",
  );
  assert.equal(code(await command(a, `/topic ${"t".repeat(TOPIC_MAX_LENGTH)}`)), "topic");
  assert.equal(code(await command(a, `/topic ${"t".repeat(TOPIC_MAX_LENGTH + 1)}`)), "bad_command");
  assert.equal(code(await command(a, `/history ${MAX_HISTORY_REQUEST}`)), "info");
  assert.equal(code(await command(a, `/history ${MAX_HISTORY_REQUEST + 1}`)), "bad_command");
  a.close();
  await server.shutdown();
});

Deno.test("a ref longer than the limit is a bad frame", async () => {
  const server = testServer();
  const a = await JsonClient.login(server, "a");
  await a.send({ type: "msg", text: "ok", ref: "r".repeat(MAX_REF_LENGTH) });
  assert.equal((await a.expect("ack")).ref, "r".repeat(MAX_REF_LENGTH));
  await a.send({ type: "msg", text: "no", ref: "r".repeat(MAX_REF_LENGTH + 1) });
  assert.equal((await a.expect("error")).code, "bad_frame");
  a.close();
  await server.shutdown();
});

Deno.test("too many wrong operator secrets close the connection", async () => {
  const server = testServer({ operSecret: { matches: (c) => c === "right" } });
  const a = await JsonClient.login(server, "a");
  for (let i = 1; i < MAX_OPER_FAILURES; i++) {
    assert.equal(code(await command(a, "/oper wrong")), "not_operator");
  }
  await a.send({ type: "cmd", line: "/oper wrong", room: "#lobby" });
  await a.expectEof();
  a.close();
  await server.shutdown();
});
