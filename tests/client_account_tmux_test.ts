/**
 * Issue 13, `sockchat join` in a real terminal (tmux) for a nick registered to a password
 * account: it asks `Password for NICK:` without echo, again after a wrong one, then the chat
 * runs as usual.
 */

import assert from "node:assert/strict";
import { registerPassword } from "./helpers/accounts.ts";
import { denoArgs } from "./helpers/cli.ts";
import { shellQuote, Tmux } from "./helpers/tmux.ts";
import { JsonClient, testServer } from "./helpers/wire.ts";

Deno.test("join in a terminal asks a password account's password without echo, again after a wrong one", async () => {
  const server = testServer();
  const dir = await Deno.makeTempDir({ prefix: "sockchat-account-tmux-" });
  const tmux = new Tmux("sockchat-account");
  try {
    await registerPassword(server, "carol", "correcthorse");

    const join = [
      "env",
      "-u",
      "NO_COLOR",
      `XDG_CONFIG_HOME=${dir}`,
      Deno.execPath(),
      ...denoArgs(["join", `127.0.0.1:${server.addr.port}`, "-n", "carol"]),
    ].map(shellQuote).join(" ");
    await tmux.open(join, { columns: 100 });
    await tmux.waitFor("the password prompt", (l) => l.at(-1) === "Password for carol:");
    await tmux.typeLine("not-this-one");
    await tmux.waitFor(
      "the prompt again",
      (l) => l.at(-1) === "Wrong password. Password for carol:",
    );
    await tmux.typeLine("correcthorse");
    const lines = await tmux.waitFor(
      "the chat prompt",
      (l) => l.at(-1) === "[#lobby] carol>",
    );
    const screen = lines.join("\n");
    assert.match(screen, /Welcome to sockchat, carol!/);
    assert.match(screen, /Your nick is registered to you: proven by its account password\./);
    assert.doesNotMatch(screen, /not-this-one|correcthorse/, "nothing typed was echoed");
    // The chat works after the prompt gave the terminal back.
    const watcher = await JsonClient.login(server, "dave");
    try {
      await tmux.typeLine("typed after the password");
      const said = await watcher.expect("msg");
      assert.equal(said.from, "carol");
      assert.equal(said.text, "typed after the password");
    } finally {
      watcher.close();
    }
  } finally {
    await tmux.kill();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
