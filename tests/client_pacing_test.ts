/**
 * Pacing against the server's flood control: the welcome advertises the limits, a dropped frame's
 * `rate_limited` names its `ref`, and `sockchat join` fed more lines than a burst at once sends
 * every one of them, in order, at the server's rate, without a single refusal.
 */

import assert from "node:assert/strict";
import { Duplex, Writable } from "node:stream";
import { ChatClient, MAX_RATE_RETRIES } from "../client/chat_client.ts";
import { Palette } from "../client/colors.ts";
import { PACE_BURST_HEADROOM, Pacer } from "../client/pacer.ts";
import { Renderer } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { Session } from "../client/session.ts";
import { startEmbeddedChat } from "../client/embedded.ts";
import type { ClientUi, Status } from "../client/ui.ts";
import { createSockchatMetrics } from "../metrics/sockchat_metrics.ts";
import { runCli } from "./helpers/cli.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";

/** Low limits, so that a burst is soon spent and the test stays short. */
const FLOOD = { messagesPerSecond: 20, messageBurst: 20 } as const;

/** A front end that keeps what it is given. */
class RecordingUi implements ClientUi {
  readonly printed: string[] = [];
  pending: readonly string[] = [];
  print(text: string): void {
    this.printed.push(text);
  }
  fail(text: string): void {
    this.printed.push(text);
  }
  setStatus(_status: Status): void {}
  setPending(texts: readonly string[]): void {
    this.pending = texts;
  }
  async *inputs(): AsyncGenerator<string> {}
  close(): void {}
}

Deno.test("the welcome advertises the server's flood limits, and none when flood control is off", async () => {
  const server = testServer({ flood: { ...FLOOD, bytesPerSecond: 4096, byteBurst: 8192 } });
  const open = testServer({ flood: null });
  try {
    const wire = await JsonClient.login(server, "carol");
    wire.close();
    const client = await ChatClient.connect({
      host: "127.0.0.1",
      port: server.addr.port,
      nick: "alice",
    });
    assert.deepEqual(client.welcome.limits, {
      maxFrame: 65536,
      maxUsers: 1000,
      rate: 20,
      burst: 20,
      rateBytes: 4096,
      burstBytes: 8192,
    });
    assert.ok(client.paces, "the client paces itself by them");
    client.close();
    const unlimited = await ChatClient.connect({
      host: "127.0.0.1",
      port: open.addr.port,
      nick: "bob",
    });
    assert.deepEqual(unlimited.welcome.limits, { maxFrame: 65536, maxUsers: 1000 });
    assert.ok(!unlimited.paces, "no limits: nothing to pace by");
    unlimited.close();
  } finally {
    await server.shutdown();
    await open.shutdown();
  }
});

Deno.test("each frame flood control drops is refused rate_limited with its ref", async () => {
  const server = testServer({ flood: { messagesPerSecond: 1, messageBurst: 3 } });
  const flooder = await JsonClient.login(server, "flooder");
  try {
    // The hello spent one token of three: two messages pass, the next three are dropped.
    let batch = "";
    for (let i = 1; i <= 5; i++) {
      batch += JSON.stringify({ type: "msg", room: "#lobby", text: `m${i}`, ref: `r${i}` }) + "\n";
    }
    await flooder.write(batch);
    const answers: string[] = [];
    while (answers.length < 5) {
      const frame = await flooder.next("an answer");
      if (frame === null) break;
      if (frame.type === "ack") answers.push(`ack ${frame.ref}`);
      if (frame.type === "error") answers.push(`${frame.code} ${frame.ref}`);
    }
    // Refusals go at once; acks once the store has committed: compare without the order.
    assert.deepEqual(answers.sort(), [
      "ack r1",
      "ack r2",
      "rate_limited r3",
      "rate_limited r4",
      "rate_limited r5",
    ]);
  } finally {
    flooder.close();
    await server.shutdown();
  }
});

Deno.test("join fed 100 lines at once delivers all of them, in order, at the server's rate: none refused, exit 0", async () => {
  const metrics = createSockchatMetrics();
  const server = testServer({ flood: FLOOD, metrics });
  const reader = await JsonClient.login(server, "reader");
  try {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`);
    const started = performance.now();
    const joined = runCli(["join", `127.0.0.1:${server.addr.port}`, "-n", "bot"], {
      stdin: lines.join("\n") + "\n",
    });
    const seen: string[] = [];
    while (seen.length < lines.length) {
      const frame = await reader.next("the bot's lines");
      if (frame === null) break;
      if (frame.type === "msg" && frame.from === "bot") seen.push(frame.text);
    }
    const result = await joined;
    assert.deepEqual(seen, lines, "every line, in order");
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /rate_limited|too fast|Flooding/);
    assert.equal(metrics.rateLimited.value, 0, "the server dropped nothing");
    // A burst's worth at once, then the rest at (a little under) the server's rate.
    const paced = lines.length - (FLOOD.messageBurst - PACE_BURST_HEADROOM);
    assert.ok(performance.now() - started >= 1000 * paced / FLOOD.messagesPerSecond);
  } finally {
    reader.close();
    await server.shutdown();
  }
});

/** An SSH session channel: what is typed goes in, what the chat draws is kept. */
class TestChannel extends Duplex {
  drawn = "";
  override _read(): void {}
  override _write(chunk: Uint8Array, _encoding: string, callback: () => void): void {
    this.drawn += new TextDecoder().decode(chunk);
    callback();
  }
}

/** A channel's stderr, kept. */
class Collect extends Writable {
  text = "";
  override _write(chunk: Uint8Array, _encoding: string, callback: () => void): void {
    this.text += new TextDecoder().decode(chunk);
    callback();
  }
}

Deno.test("over SSH, 30 lines pasted into a terminal without bracketed paste all reach the room, in order", async () => {
  const server = testServer({ flood: FLOOD });
  const reader = await JsonClient.login(server, "reader");
  const channel = new TestChannel();
  const stderr = new Collect();
  const chat = startEmbeddedChat({
    dial: () => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    nick: "alice",
    channel,
    stderr,
    pty: { columns: 80, rows: 24, env: { TERM: "xterm-256color" } },
  });
  try {
    const joined = await reader.expect("join");
    assert.equal(joined.nick, "alice");
    const lines = Array.from({ length: 30 }, (_, i) => `pasted ${i + 1}`);
    // Without bracketed paste a paste is keys: each line ends in Enter, all in one read.
    channel.push(lines.map((l) => `${l}\r`).join(""));
    const seen: string[] = [];
    while (seen.length < lines.length) {
      const frame = await reader.next("the pasted lines");
      if (frame === null) break;
      if (frame.type === "msg" && frame.from === "alice") seen.push(frame.text);
    }
    assert.deepEqual(seen, lines);
    assert.doesNotMatch(channel.drawn + stderr.text, /rate_limited|too fast|Flooding/);
  } finally {
    chat.close();
    await within(chat.done, "the chat to end");
    reader.close();
    await server.shutdown();
  }
});

Deno.test("a line waiting its turn is pending, and input waits for it to go out", async () => {
  const server = testServer({ flood: { messagesPerSecond: 10, messageBurst: 4 } });
  const client = await ChatClient.connect({
    host: "127.0.0.1",
    port: server.addr.port,
    nick: "al",
  });
  const state = new RoomState("al");
  const ui = new RecordingUi();
  const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
  const s = new Session({ ui, state, renderer, json: false, showOwn: true, target: "test" });
  s.attach(client, false);
  const pumping = s.pump(client);
  try {
    // A burst of 4 less the headroom: two go at once, the third waits its turn.
    assert.equal(s.submit("one"), "ok");
    assert.equal(s.submit("two"), "ok");
    const third = s.submit("three");
    assert.ok(third instanceof Promise, "input waits for the third line's turn");
    assert.deepEqual(ui.pending, ["three"]);
    await within(third, "the third line to go out");
    await within(client.whenSettled(), "every line acknowledged");
    assert.deepEqual(ui.pending, []);
    assert.equal(s.refused, 0);
    assert.deepEqual(ui.printed.filter((l) => /rate_limited|too fast/.test(l)), []);
  } finally {
    await client.quit();
    await within(pumping, "the end of the connection");
    client.close();
    await server.shutdown();
  }
});

Deno.test("a paced line refused rate_limited anyway is sent again, and counts as refused only once every try is", async () => {
  // A server whose flood control refuses what its welcome said it would take (its limits were
  // lowered, another program spends them): every message is refused, naming its ref.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tries: string[] = [];
  const serving = (async () => {
    const conn = new JsonClient(await listener.accept());
    try {
      await conn.readLine("the hello");
      await conn.send({
        type: "welcome",
        v: 1,
        nick: "bot",
        server: "strict",
        rooms: [{ room: "#lobby", topic: "", members: ["bot"], count: 1 }],
        limits: {
          maxFrame: 65536,
          maxUsers: 10,
          rate: 1000,
          burst: 20,
          rateBytes: 1e6,
          burstBytes: 1e6,
        },
      });
      for (
        let line = await conn.readLine("a frame");
        line !== null;
        line = await conn.readLine("a frame")
      ) {
        const frame = JSON.parse(line);
        if (frame.type === "quit") break;
        tries.push(`${frame.text} ${frame.ref}`);
        await conn.send({
          type: "error",
          code: "rate_limited",
          message: "Too fast.",
          ref: frame.ref,
        });
      }
    } finally {
      conn.close();
    }
  })();
  const client = await ChatClient.connect({
    host: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
    nick: "bot",
  });
  const state = new RoomState("bot");
  const ui = new RecordingUi();
  const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
  const s = new Session({ ui, state, renderer, json: false, showOwn: false, target: "test" });
  s.attach(client, false);
  const pumping = s.pump(client);
  try {
    assert.equal(s.submit("hello"), "ok");
    await within(client.whenSettled(), "the last refusal");
    assert.deepEqual(tries, Array(1 + MAX_RATE_RETRIES).fill("hello 1"));
    assert.equal(s.refused, 1, "refused once, when the last try was");
    assert.equal(ui.printed.filter((l) => /Too fast/.test(l)).length, 1, ui.printed.join("\n"));
  } finally {
    await client.quit();
    await within(pumping, "the end of the connection");
    client.close();
    await serving;
    listener.close();
  }
});

Deno.test("the pacer sends a refused frame again before those still waiting, once its buckets refill", async () => {
  const sent: string[] = [];
  let t = 0;
  const encoder = new TextEncoder();
  const pacer = new Pacer({
    limits: { rate: 10, burst: 4, rateBytes: 1e6, burstBytes: 1e6 },
    write: (bytes) => sent.push(new TextDecoder().decode(bytes).trim()),
    now: () => t,
  });
  try {
    for (const [ref, text] of [["1", "a"], ["2", "b"], ["3", "c"]]) {
      pacer.send(ref, encoder.encode(`${text}\n`));
    }
    assert.deepEqual(sent, ["a", "b"], "the burst less the headroom");
    pacer.retry("2", encoder.encode("b\n"));
    assert.ok(pacer.holds("2") && pacer.holds("3"));
    t += 1000 / 9 + 1; // one token, at 90% of 10 a second
    await within(pacer.released("2"), "the retry to go out");
    assert.deepEqual(sent, ["a", "b", "b"]);
    assert.ok(pacer.holds("3"), "c waits for the next token");
  } finally {
    pacer.close();
  }
});
