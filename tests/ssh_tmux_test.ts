/**
 * The SSH front end with a pty, in a real terminal: tmux runs OpenSSH's `ssh`, send-keys types,
 * and capture-pane shows what the person sees. The chat inside is the terminal client's own
 * (client/embedded.ts); these tests check it arrives intact through SSH.
 */

import assert from "node:assert/strict";
import { makeKey, sshOptions, sshServer } from "./helpers/ssh.ts";
import { shellQuote, Tmux } from "./helpers/tmux.ts";
import { JsonClient } from "./helpers/wire.ts";

const PROMPT = "[#lobby] alice> ";

Deno.test("ssh with a pty in tmux: the half-typed line survives arriving messages and a resize, Enter sends it, /quit exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-ssh-tmux-" });
  const server = sshServer();
  const tmux = new Tmux("sockchat-ssh-test");
  let bob: JsonClient | null = null;
  try {
    const key = await makeKey(dir, "alice");
    const ssh = ["ssh", "-t", ...sshOptions(server.sshPort, [key]), "alice@127.0.0.1"]
      .map(shellQuote).join(" ");
    await tmux.open(`env -u NO_COLOR TERM=xterm-256color ${ssh}; echo "[exit $?]"`, {
      columns: 80,
      keepOnExit: true,
    });
    await tmux.waitFor("the prompt", (lines) => lines.at(-1) === PROMPT.trimEnd());

    await tmux.type("half a line 😀");
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

    await tmux.press("Enter");
    const said = await bob.expect("msg");
    assert.deepEqual([said.from, said.text], ["alice", "half a line 😀"]);

    await tmux.typeLine("/quit");
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
