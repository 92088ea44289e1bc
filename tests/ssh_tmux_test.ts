/**
 * The SSH front end with a pty, in a real terminal: tmux runs OpenSSH's `ssh`, send-keys types,
 * and capture-pane shows what the person sees. The chat inside is the terminal client's own
 * (client/embedded.ts); these tests check it arrives intact through SSH.
 */

import assert from "node:assert/strict";
import { makeKey, sshOptions, sshServer } from "./helpers/ssh.ts";
import { JsonClient } from "./helpers/wire.ts";

const decoder = new TextDecoder();
const PANE_WAIT_MS = 20_000;
const PROMPT = "[#lobby] alice> ";

/** A private tmux server (its own socket), so tests never touch anyone's sessions. */
class Tmux {
  readonly socket = `sockchat-ssh-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

  /** Runs one tmux command; throws with its stderr when it fails. */
  async run(...args: string[]): Promise<string> {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("tmux", {
        args: ["-L", this.socket, "-f", "/dev/null", ...args],
      })
        .output();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error("tmux is needed for this test: apt-get install -y tmux");
      }
      throw error;
    }
    if (!out.success) {
      throw new Error(`tmux ${args.join(" ")}: ${decoder.decode(out.stderr).trim()}`);
    }
    return decoder.decode(out.stdout);
  }

  /** The visible screen, wrapped lines joined, trailing blank lines dropped. */
  async screen(): Promise<string[]> {
    const text = await this.run("capture-pane", "-p", "-J", "-t", "chat");
    const lines = text.split("\n").map((l) => l.trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
  }

  /** Polls the screen until `check` passes; fails with the last screen after a deadline. */
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

  async kill(): Promise<void> {
    await this.run("kill-server").catch(() => {});
  }
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

Deno.test("ssh with a pty in tmux: the half-typed line survives arriving messages and a resize, Enter sends it, /quit exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-ssh-tmux-" });
  const server = sshServer();
  const tmux = new Tmux();
  let bob: JsonClient | null = null;
  try {
    const key = await makeKey(dir, "alice");
    const ssh = ["ssh", "-t", ...sshOptions(server.sshPort, [key]), "alice@127.0.0.1"]
      .map(shellQuote).join(" ");
    await tmux.run(
      "new-session",
      "-d",
      "-s",
      "chat",
      "-x",
      "80",
      "-y",
      "30",
      `env -u NO_COLOR TERM=xterm-256color ${ssh}; echo "[exit $?]"`,
      ";",
      "set-option",
      "-g",
      "remain-on-exit",
      "on",
    );
    await tmux.waitFor("the prompt", (lines) => lines.at(-1) === PROMPT.trimEnd());

    await tmux.run("send-keys", "-t", "chat", "-l", "half a line 😀");
    bob = await JsonClient.login(server, "bob");
    await bob.send({ type: "msg", room: "#lobby", text: "first from bob" });
    await bob.send({ type: "msg", room: "#lobby", text: "second from bob" });
    const lines = await tmux.waitFor(
      "bob's messages above the intact half line",
      (l) =>
        l.some((x) => x.endsWith("<bob> second from bob")) &&
        l.at(-1) === `${PROMPT}half a line 😀`,
    );
    assert.ok(lines.some((l) => l.includes("Welcome to sockchat, alice!")), "screen not cleared");
    assert.ok(
      lines.findIndex((l) => l.endsWith("<bob> first from bob")) <
        lines.findIndex((l) => l.endsWith("<bob> second from bob")),
    );

    // window-change reaches the chat: at 40 columns the next message still leaves the line intact.
    await tmux.run("resize-window", "-t", "chat", "-x", "40");
    const long = "the quick brown fox jumps over the lazy dog again and again";
    await bob.send({ type: "msg", room: "#lobby", text: long });
    const narrow = await tmux.waitFor(
      "a message after the resize, the half line still last",
      (l) =>
        l.some((x) => x.includes("<bob> the quick brown")) &&
        l.at(-1) === `${PROMPT}half a line 😀`,
    );
    // The client wrapped it at 40 itself (a hanging indent, two screen lines): it knows the width.
    assert.ok(!narrow.some((l) => l.includes(long)), narrow.join("\n"));

    await tmux.run("send-keys", "-t", "chat", "Enter");
    const said = await bob.expect("msg");
    assert.deepEqual([said.from, said.text], ["alice", "half a line 😀"]);

    await tmux.run("send-keys", "-t", "chat", "-l", "/quit");
    await tmux.run("send-keys", "-t", "chat", "Enter");
    const leave = await bob.expect("leave");
    assert.deepEqual([leave.nick, leave.reason], ["alice", "quit"]);
    const end = await tmux.waitFor("ssh to exit", (l) => l.some((x) => /^\[exit \d+\]$/.test(x)));
    assert.ok(end.includes("[exit 0]"), `ssh exits 0 after /quit:\n${end.join("\n")}`);
  } finally {
    await tmux.kill();
    bob?.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
