import assert from "node:assert/strict";
import { JsonClient, testServer } from "./helpers/wire.ts";
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
