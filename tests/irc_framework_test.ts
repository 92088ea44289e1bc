import assert from "node:assert/strict";
// @ts-types="./helpers/irc_framework.d.ts"
import { Client } from "irc-framework";
import { JsonClient, testServer, within } from "./helpers/wire.ts";

// irc-framework 4.14.0, the library Kiwi IRC is built on, as a real client: it negotiates CAP
// 302, registers, joins and talks, and must close cleanly under the sanitizers.

Deno.test("irc-framework registers with CAP, joins a room and chats with an NDJSON client", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const client = new Client();
  const events: string[] = [];
  try {
    const registered = new Promise<{ nick: string }>((resolve) =>
      client.once("registered", resolve)
    );
    client.connect({
      host: "127.0.0.1",
      port: server.addresses.irc?.port,
      nick: "kiwi",
      username: "kiwi",
      gecos: "Kiwi user",
      auto_reconnect: false,
      ping_interval: 0,
    });
    assert.equal((await within(registered, "registered")).nick, "kiwi");
    const joined = new Promise((resolve) => client.once("join", resolve));
    client.join("#chat");
    await within(joined, "join");
    const names = new Promise<{ users: { nick: string }[] }>((resolve) =>
      client.once("userlist", resolve)
    );
    client.raw("NAMES #chat");
    assert.deepEqual((await within(names, "userlist")).users.map((u) => u.nick), ["kiwi"]);

    const json = await JsonClient.login(server, "nora");
    try {
      await json.send({ type: "cmd", line: "/join #chat", room: "#lobby" });
      await json.expect("joined");
      const heard = new Promise<
        { nick: string; target: string; message: string; tags: Record<string, string> }
      >(
        (resolve) =>
          client.on(
            "message",
            (
              event: {
                nick: string;
                target: string;
                message: string;
                tags: Record<string, string>;
              },
            ) => {
              events.push(event.message);
              resolve(event);
            },
          ),
      );
      await json.send({ type: "msg", room: "#chat", text: "hello kiwi" });
      const message = await within(heard, "message");
      assert.deepEqual([message.nick, message.target, message.message], [
        "nora",
        "#chat",
        "hello kiwi",
      ]);
      assert.match(message.tags.time ?? "", /Z$/); // server-time was negotiated
      client.say("#chat", "hi nora");
      const said = await json.expect("msg");
      assert.deepEqual([said.from, said.text], ["kiwi", "hi nora"]);
    } finally {
      json.close();
    }
  } finally {
    const closed = new Promise((resolve) => client.once("close", resolve));
    client.quit("done");
    await within(closed, "close");
    await server.shutdown();
  }
});

Deno.test("irc-framework logs in to an account with SASL PLAIN", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const owner = await JsonClient.login(server, "lia");
  await owner.send({ type: "cmd", line: "/register correct-horse", room: "#lobby" });
  await owner.expect("info");
  owner.close();
  const client = new Client();
  try {
    const loggedIn = new Promise<{ account: string }>((resolve) =>
      client.once("loggedin", resolve)
    );
    const registered = new Promise<{ nick: string }>((resolve) =>
      client.once("registered", resolve)
    );
    client.connect({
      host: "127.0.0.1",
      port: server.addresses.irc?.port,
      nick: "guest",
      username: "lia",
      gecos: "Lia",
      account: { account: "lia", password: "correct-horse" },
      auto_reconnect: false,
      ping_interval: 0,
    });
    assert.equal((await within(loggedIn, "loggedin")).account, "lia");
    assert.equal((await within(registered, "registered")).nick, "lia");
  } finally {
    const closed = new Promise((resolve) => client.once("close", resolve));
    client.quit("done");
    await within(closed, "close");
    await server.shutdown();
  }
});
