/**
 * The client's session driven directly against a real server on port 0 (issue 12): what the
 * user sees when in no room, and what offline sends look like until they are acknowledged.
 */

import assert from "node:assert/strict";
import { ChatClient } from "../client/chat_client.ts";
import { Palette } from "../client/colors.ts";
import { NO_ROOM, promptText } from "../client/prompt.ts";
import { Renderer } from "../client/render.ts";
import { RoomState } from "../client/room_state.ts";
import { NOT_IN_A_ROOM, Session } from "../client/session.ts";
import type { ClientUi, Status } from "../client/ui.ts";
import { testServer, within } from "./helpers/wire.ts";

/** A front end that keeps what it is given. */
class RecordingUi implements ClientUi {
  readonly printed: string[] = [];
  status: Status | null = null;
  print(text: string): void {
    this.printed.push(text);
  }
  fail(text: string): void {
    this.printed.push(text);
  }
  setStatus(status: Status): void {
    this.status = status;
  }
  async *inputs(): AsyncGenerator<string> {}
  close(): void {}
}

function session(state: RoomState, ui: ClientUi): Session {
  const renderer = new Renderer(state, { palette: new Palette(false), timestamps: "none" });
  return new Session({ ui, state, renderer, json: false, showOwn: true, target: "test" });
}

Deno.test("after leaving every room the prompt says so, and text is not sent but says how to join", async () => {
  const server = testServer();
  const client = await ChatClient.connect({
    host: "127.0.0.1",
    port: server.addr.port,
    nick: "alice",
  });
  const state = new RoomState("alice");
  const ui = new RecordingUi();
  const s = session(state, ui);
  s.attach(client, false);
  const pumping = s.pump(client);
  try {
    const left = s.submit("/leave #lobby");
    assert.ok(left instanceof Promise);
    await within(left, "the answer to /leave");
    assert.equal(state.room, null);
    assert.equal(ui.status?.room, null);
    const prompt = promptText(ui.status as Status, [], new Palette(false), 80);
    assert.equal(prompt, `[${NO_ROOM}] alice> `);

    ui.printed.length = 0;
    assert.equal(s.submit("hello?"), "ok");
    assert.equal(client.pendingCount, 0, "nothing was sent");
    assert.deepEqual(ui.printed, [NOT_IN_A_ROOM]);
    assert.match(NOT_IN_A_ROOM, /\/join #lobby/);

    const joined = s.submit("/join #rust");
    assert.ok(joined instanceof Promise);
    await within(joined, "the answer to /join");
    assert.equal(state.room, "#rust");
    assert.equal(ui.status?.room, "#rust");
  } finally {
    await client.quit();
    await within(pumping, "the end of the connection");
    client.close();
    await server.shutdown();
  }
});
