/**
 * Holes an outside attack found (Hardening II), each pinned by a test that failed before the
 * fix: the accept loop, TLS sockets, history and resume costs, login storms, presence floods,
 * ignores, mutes and netcat rendering. Store and moderation findings are in
 * `store_bounds_test.ts` and `moderation_hardening_test.ts`.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { PRESENCE_BURST, PRESENCE_WINDOW_MS } from "../config/limits.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { PLAIN_MAX_BLANK_RUN, renderPlain } from "../protocol/plain/render.ts";
import { SqliteHistory } from "../store/sqlite/history.ts";
import { spawnServe } from "./helpers/cli.ts";
import {
  command,
  eventually,
  hello,
  JsonClient,
  LineSocket,
  testServer,
  within,
} from "./helpers/wire.ts";

/** Connects and resets before the server can accept (SO_LINGER 0, then close). */
function connectAndReset(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.resetAndDestroy();
      resolve();
    });
    socket.on("error", () => resolve());
  });
}

Deno.test("connect+reset floods before accept do not lock honest clients out", async () => {
  const serve = await spawnServe(["--max-conns-per-ip", "1000"]);
  try {
    // Stop the server so that every reset lands in its backlog before it is accepted: each
    // accept then fails (NotConnected). It used to back off up to 1 s per failure.
    serve.child.kill("SIGSTOP");
    for (let i = 0; i < 60; i++) await connectAndReset(serve.port);
    serve.child.kill("SIGCONT");
    const started = performance.now();
    const honest = await within(
      JsonClient.login({ addr: { port: serve.port } } as never, "honest"),
      "an honest login right after the flood",
      3000,
    );
    assert.ok(performance.now() - started < 3000);
    honest.close();
  } finally {
    serve.child.kill("SIGCONT");
    await serve.stop();
  }
});

const code = (frame: ServerFrame) => (frame.type === "error" ? frame.code : frame.type);

/** Fills #lobby with `count` messages of `size` bytes from `writer`. */
async function fill(writer: JsonClient, count: number, size: number): Promise<void> {
  let batch = "";
  for (let i = 0; i < count; i++) {
    batch += JSON.stringify({ type: "msg", text: `${i} ${"x".repeat(size)}` }) + "\n";
  }
  await writer.write(batch);
  for (let i = 0; i < count; i++) await writer.expect("ack", 20_000);
}

Deno.test("a history read stops at what it may send, reading newest first", () => {
  const store = new SqliteHistory({ path: ":memory:", retention: 10_000 });
  try {
    const messages = Array.from({ length: 500 }, (_, i) => ({
      id: i + 1,
      room: "#big",
      from: "w",
      text: "y".repeat(60_000),
      ts: i,
    }));
    store.append(messages);
    const slice = store.recent("#big", 500, 256 * 1024);
    // About 256 KiB read (4 rows and the one that crossed), not 500 x 60 KB = 30 MB.
    assert.ok(slice.bytes <= 256 * 1024 + 61_000, `read ${slice.bytes} bytes`);
    assert.deepEqual(slice.messages.map((m) => m.id), [497, 498, 499, 500]);
    assert.equal(slice.missed, 496);
  } finally {
    store.close();
  }
});

Deno.test("/history is charged to the address: past its budget it is refused, and others are not slowed", async () => {
  // 256 KiB a second, bursts of 1 MiB: the login's replay and a /history or two fit.
  const server = testServer({ flood: null, historyReadRate: 256 * 1024 });
  const writer = await JsonClient.login(server, "writer");
  await fill(writer, 100, 8_000);
  const reader = await JsonClient.login(server, "reader");
  const answers: string[] = [];
  for (let i = 0; i < 20; i++) {
    await reader.send({ type: "cmd", line: "/history 500", room: "#lobby", ref: `h${i}` });
    for (let f = await reader.next(); f !== null; f = await reader.next()) {
      if (f.type === "error" && f.ref === `h${i}`) {
        answers.push(f.code);
        break;
      }
      if (f.type === "info" && f.ref === `h${i}`) {
        answers.push("ok");
        break;
      }
    }
  }
  assert.equal(answers[0], "ok");
  assert.ok(answers.includes("rate_limited"), `answers: ${answers.join(" ")}`);
  // The writer is not held up by the reader's requests.
  assert.equal(code(await command(writer, "/who")), "who");
  for (const c of [writer, reader]) c.close();
  await server.shutdown();
});

Deno.test("a connect/resume/reset loop from one address reads its budget, then replays only a gap", async () => {
  const server = testServer({ flood: null, historyReadRate: 64 * 1024, maxConnsPerIp: 100 });
  const writer = await JsonClient.login(server, "writer");
  await fill(writer, 200, 4_000);
  const replayed: number[] = [];
  for (let i = 0; i < 8; i++) {
    const back = await hello(server.addr.port, { nick: `r${i}`, resume: { "#lobby": 0 } });
    await back.expect("welcome");
    let n = 0;
    let gap = 0;
    await back.send({ type: "cmd", line: "/who", room: "#lobby", ref: "end" });
    for (let f = await back.next(); f !== null && f.type !== "who"; f = await back.next()) {
      if (f.type === "msg" && f.history) n++;
      if (f.type === "gap") gap = f.missed;
    }
    assert.ok(gap > 0, "what was not replayed is announced");
    replayed.push(n);
    back.close();
  }
  assert.ok(replayed[0] > 0, "the first resume replays");
  assert.equal(replayed.at(-1), 0, `later ones replay nothing: ${replayed.join(" ")}`);
  writer.close();
  await server.shutdown();
});

Deno.test("logins per address per minute are capped at the door", async () => {
  const server = testServer({ maxLoginsPerMinute: 5, maxConnsPerIp: 100 });
  for (let i = 0; i < 5; i++) (await JsonClient.login(server, `ok${i}`)).close();
  const sixth = await LineSocket.connect(server);
  const refusal = JSON.parse((await sixth.readLine()) ?? "{}");
  assert.equal(refusal.code, "too_many_connections");
  assert.match(refusal.message, /in the last minute; try again in \d+ s\./);
  sixth.close();
  await server.shutdown();
});

Deno.test("a login storm reaches the room as a handful of lines, not one per login", async () => {
  const server = testServer({ flood: null, maxConnsPerIp: 1000, maxLoginsPerMinute: 0 });
  const watcher = await JsonClient.login(server, "watcher");
  for (let i = 0; i < 60; i++) (await JsonClient.login(server, `storm${i}`)).close();
  await eventually(() => server.hub.userCount === 1, "the storm to leave");
  // Let any held presence be told (window plus a sweep), then count what the watcher heard.
  await new Promise((resolve) => setTimeout(resolve, PRESENCE_WINDOW_MS + 1500));
  await watcher.send({ type: "cmd", line: "/who", room: "#lobby", ref: "end" });
  let lines = 0;
  for (let f = await watcher.next(); f !== null && f.type !== "who"; f = await watcher.next()) {
    if (f.type === "join" || f.type === "leave" || (f.type === "info" && f.room)) lines++;
  }
  // 120 changes: a burst told at once, then at most a summary per window.
  assert.ok(lines <= PRESENCE_BURST + 4, `the watcher heard ${lines} presence lines`);
  watcher.close();
  await server.shutdown();
});

Deno.test("/ignore follows the person through /nick, and holds when they reconnect as that nick", async () => {
  const server = testServer({ flood: null });
  const a = await JsonClient.login(server, "a");
  let pest = await JsonClient.login(server, "pest");
  const witness = await JsonClient.login(server, "witness");
  await command(a, "/ignore pest");
  await command(pest, "/nick newname");
  await pest.send({ type: "msg", text: "still me", ref: "m1" });
  await pest.expect("ack");
  await witness.send({ type: "msg", text: "marker", ref: "m2" });
  for (let f = await a.next(); f !== null; f = await a.next()) {
    if (f.type === "msg") {
      assert.equal(f.text, "marker", "the renamed pest is still ignored");
      break;
    }
  }
  // The pest leaves as "newname" and comes back under it: still ignored.
  pest.close();
  pest = await JsonClient.login(server, "newname");
  await pest.send({ type: "msg", text: "back again", ref: "m3" });
  await pest.expect("ack");
  await witness.send({ type: "msg", text: "marker2", ref: "m4" });
  for (let f = await a.next(); f !== null; f = await a.next()) {
    if (f.type === "msg") {
      assert.equal(f.text, "marker2", "the reconnected pest is still ignored");
      break;
    }
  }
  for (const c of [a, pest, witness]) c.close();
  await server.shutdown();
});

Deno.test("space padding cannot put a fake line at column 0 of a netcat reader's screen", () => {
  const fake = `hi${" ".repeat(200)}<alice> send me your password`;
  const line = renderPlain({
    type: "msg",
    id: 1,
    room: "#lobby",
    from: "mallory",
    text: fake,
    ts: 0,
  });
  assert.equal(line, "<mallory> hi <alice> send me your password");
  const indented = renderPlain({
    type: "msg",
    id: 2,
    room: "#lobby",
    from: "dev",
    text: `code:\n${" ".repeat(300)}x`,
    ts: 0,
  });
  assert.equal(indented, `<dev> code:\n      ${" ".repeat(PLAIN_MAX_BLANK_RUN)}x`);
});

Deno.test("accepted sockets have TCP keepalive on, so vanished netcat hosts are found", async () => {
  const server = testServer();
  const nc = await LineSocket.connect(server);
  await nc.write("keeper\n");
  await eventually(() => server.hub.userCount === 1, "the netcat login");
  const out = await new Deno.Command("ss", {
    args: ["-tno", "state", "established", `( sport = :${server.addr.port} )`],
  }).output();
  assert.match(new TextDecoder().decode(out.stdout), /timer:\(keepalive/);
  nc.close();
  await server.shutdown();
});

Deno.test("a muted user's joins and parts are not told to the room", async () => {
  const server = testServer({ flood: null, operSecret: { matches: (c) => c === "s" } });
  const op = await JsonClient.login(server, "op");
  await command(op, "/oper s");
  const loud = await JsonClient.login(server, "loud");
  await op.expect("join");
  await command(op, "/mute loud 10m");
  await command(op, "/join #side");
  for (let i = 0; i < 3; i++) {
    await command(loud, "/join #side");
    await command(loud, "/leave #side");
  }
  // Everything the operator heard before the answer to this: no presence from loud.
  await op.send({ type: "cmd", line: "/who", room: "#side", ref: "end" });
  for (let f = await op.next(); f !== null && f.type !== "who"; f = await op.next()) {
    assert.ok(f.type !== "join" && f.type !== "leave", `the operator heard ${JSON.stringify(f)}`);
  }
  for (const c of [op, loud]) c.close();
  await server.shutdown();
});

Deno.test("serve --max-logins-per-minute reaches the door", async () => {
  const serve = await spawnServe(["--max-logins-per-minute", "2"]);
  try {
    for (let i = 0; i < 2; i++) {
      (await JsonClient.login({ addr: { port: serve.port } } as never, `n${i}`)).close();
    }
    const third = await LineSocket.connect(serve.port);
    assert.equal(JSON.parse((await third.readLine()) ?? "{}").code, "too_many_connections");
    third.close();
  } finally {
    await serve.stop();
  }
});
