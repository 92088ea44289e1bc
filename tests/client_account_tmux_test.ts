/**
 * Issue 13, `sockchat join` in a real terminal (tmux) for a nick registered to a password
 * account: it asks `Password for NICK:` without echo, again after a wrong one, then the chat
 * runs as usual.
 */

import assert from "node:assert/strict";
import { denoArgs } from "./helpers/cli.ts";
import { command, JsonClient, testServer } from "./helpers/wire.ts";

const decoder = new TextDecoder();
const PANE_WAIT_MS = 20_000;

/** A private tmux server (its own socket), so the test never touches anyone's sessions. */
class Tmux {
  readonly socket = `sockchat-account-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, "-f", "/dev/null", ...args],
    }).output();
    if (!out.success) {
      throw new Error(`tmux ${args.join(" ")}: ${decoder.decode(out.stderr).trim()}`);
    }
    return decoder.decode(out.stdout);
  }

  async screen(): Promise<string[]> {
    const text = await this.run("capture-pane", "-p", "-J", "-t", "chat");
    const lines = text.split("\n").map((l) => l.trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
  }

  async waitFor(what: string, check: (lines: string[]) => boolean): Promise<string[]> {
    const deadline = Date.now() + PANE_WAIT_MS;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      lines = await this.screen();
      if (check(lines)) return lines;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${what}; the screen was:\n${lines.join("\n")}`);
  }
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

Deno.test("join in a terminal asks a password account's password without echo, again after a wrong one", async () => {
  const server = testServer();
  const dir = await Deno.makeTempDir({ prefix: "sockchat-account-tmux-" });
  const tmux = new Tmux();
  try {
    const owner = await JsonClient.login(server, "carol");
    assert.notEqual((await command(owner, "/register correcthorse")).type, "error");
    await owner.send({ type: "quit" });
    await owner.expectEof();
    owner.close();

    const join = [
      "env",
      "-u",
      "NO_COLOR",
      `XDG_CONFIG_HOME=${dir}`,
      Deno.execPath(),
      ...denoArgs(["join", `127.0.0.1:${server.addr.port}`, "-n", "carol"]),
    ].map(shellQuote).join(" ");
    await tmux.run("new-session", "-d", "-s", "chat", "-x", "100", "-y", "30", join);
    await tmux.waitFor("the password prompt", (l) => l.at(-1) === "Password for carol:");
    await tmux.run("send-keys", "-t", "chat", "-l", "not-this-one");
    await tmux.run("send-keys", "-t", "chat", "Enter");
    await tmux.waitFor(
      "the prompt again",
      (l) => l.at(-1) === "Wrong password. Password for carol:",
    );
    await tmux.run("send-keys", "-t", "chat", "-l", "correcthorse");
    await tmux.run("send-keys", "-t", "chat", "Enter");
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
      await tmux.run("send-keys", "-t", "chat", "-l", "typed after the password");
      await tmux.run("send-keys", "-t", "chat", "Enter");
      const said = await watcher.expect("msg");
      assert.equal(said.from, "carol");
      assert.equal(said.text, "typed after the password");
    } finally {
      watcher.close();
    }
  } finally {
    await tmux.run("kill-server").catch(() => {});
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
