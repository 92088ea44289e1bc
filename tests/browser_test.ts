import assert from "node:assert/strict";
import { eventually, JsonClient, LineSocket, testServer } from "./helpers/wire.ts";
import { ssh2Client, ssh2Shell, sshServer } from "./helpers/ssh.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { webAddr } from "./helpers/web.ts";
import { joinAs, logText, say, waitForLog, withBrowser } from "./helpers/browser.ts";

const WEB = { host: "127.0.0.1", port: 0, origins: [] };

Deno.test("browser: two Chromium pages and an NDJSON client chat in #lobby", async () => {
  const server = testServer({ web: WEB });
  const { hostname, port } = webAddr(server);
  const url = `http://${hostname}:${port}/`;
  await withBrowser(async (browser) => {
    const alice = await joinAs(browser, url, "alice");
    const bob = await joinAs(browser, url, "bob");
    const tcp = await JsonClient.login(server, "carol");
    await say(alice, "hello from alice");
    await waitForLog(bob, "hello from alice");
    const seen = await tcp.expect("msg");
    assert.equal(seen.from, "alice");
    assert.equal(seen.text, "hello from alice");
    await tcp.send({ type: "msg", room: "#lobby", text: "hi from the terminal" });
    await waitForLog(alice, "hi from the terminal");
    await waitForLog(bob, "hi from the terminal");
    assert.match(await logText(bob), /carol/);
    tcp.close();
  });
  await server.shutdown();
});

Deno.test("browser: a page chats with netcat, SSH and IRC users in the same room (the issue's 'done when')", async () => {
  const server = sshServer({
    web: WEB,
    irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" },
  });
  const { hostname, port } = webAddr(server);
  const nc = new LineSocket(await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  const dave = await ssh2Client(server.sshPort, "dave");
  const irc = await RawIrcClient.login(server, "erin");
  try {
    await nc.write("carol\n");
    const shell = await ssh2Shell(dave);
    await eventually(() => /Welcome to sockchat, dave/.test(shell.output()), "dave's welcome");
    await irc.send("JOIN #lobby");
    await irc.expect(/ 366 erin #lobby /);
    await withBrowser(async (browser) => {
      const alice = await joinAs(browser, `http://${hostname}:${port}/`, "alice");
      await say(alice, "from the web");
      await irc.expect(/:alice!\S+ PRIVMSG #lobby :from the web/);
      await eventually(() => /from the web/.test(shell.output()), "the SSH screen");
      while (!((await nc.readLine("netcat's copy")) ?? "").includes("from the web"));
      await irc.send("PRIVMSG #lobby :from irc");
      await nc.write("from netcat\n");
      shell.channel.write("from ssh\r");
      for (const text of ["from irc", "from netcat", "from ssh"]) await waitForLog(alice, text);
    });
  } finally {
    irc.close();
    nc.close();
    dave.end();
    await server.shutdown();
  }
});
