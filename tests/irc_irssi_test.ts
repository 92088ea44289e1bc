/**
 * A real irssi against sockchat's IRC port, in tmux: it registers, joins #lobby and chats both
 * ways with an NDJSON user, as a person would see it on the screen.
 */

import assert from "node:assert/strict";
import { shellQuote } from "./helpers/tmux.ts";
import { exitStatus, ircChat, requireProgram } from "./helpers/tmux_irc.ts";

/** `< bob> text` or `<@bob> text`, as irssi's default theme shows a channel message. */
const said = (nick: string, text: string) => (line: string) =>
  new RegExp(`^\\d\\d:\\d\\d <[ @+]${nick}> `).test(line) && line.endsWith(text);

Deno.test("irssi in tmux: registers on the IRC port, joins #lobby, and chats both ways with an NDJSON user", async () => {
  await requireProgram("irssi");
  await ircChat("irssi", [], async ({ ircPort, tmux, home, login }) => {
    // Its own home: no user config, no autoconnect to anything but this server.
    await Deno.writeTextFile(
      `${home}/config`,
      'settings = { core = { real_name = "Alice Example"; user_name = "alice"; }; };\n',
    );
    const bob = await login("bob");
    const irssi = ["irssi", `--home=${home}`, "-n", "alice", "-c", "127.0.0.1", "-p", `${ircPort}`]
      .map(shellQuote).join(" ");
    await tmux.open(`env LC_ALL=C.UTF-8 ${irssi}`, {
      columns: 120,
      rows: 40,
      keepOnExit: true,
    });

    await tmux.waitFor(
      "registration (001, then irssi's MODE +i echoed)",
      (l) =>
        l.some((x) => x.includes("Welcome to the irc.test Network, alice")) &&
        l.some((x) => x.includes("Mode change [+i] for user alice")),
    );
    await tmux.typeLine("/join #lobby");
    await tmux.waitFor(
      "the join",
      (l) => l.some((x) => /alice \[~alice@\S+\] has joined #lobby/.test(x)),
    );
    const joined = await bob.expect("join");
    assert.deepEqual([joined.room, joined.nick], ["#lobby", "alice"]);

    // NDJSON → irssi: plain, two lines in one message, IRC bold, and non-ASCII text.
    await bob.send({ type: "msg", room: "#lobby", text: "hello from bob" });
    await bob.send({ type: "msg", room: "#lobby", text: "line one\nline two" });
    await bob.send({ type: "msg", room: "#lobby", text: "some \x02bold\x02 text, héllo 😀 日本" });
    const lines = await tmux.waitFor(
      "bob's messages",
      (l) => l.some(said("bob", "some bold text, héllo 😀 日本")),
    );
    const first = lines.findIndex(said("bob", "hello from bob"));
    assert.ok(first !== -1, lines.join("\n"));
    assert.ok(said("bob", "line one")(lines[first + 1]), lines.join("\n"));
    assert.ok(said("bob", "line two")(lines[first + 2]), lines.join("\n"));
    // The bold reached the terminal as bold (SGR 1), not as a raw ^B.
    const styled = await tmux.run("capture-pane", "-p", "-e", "-J", "-t", "chat");
    assert.ok(styled.includes("some \x1b[1mbold\x1b["), styled);
    assert.ok(!styled.includes("\x02"));

    // irssi → NDJSON: a message and an action.
    await tmux.typeLine("hi bob, alice here via irssi ü");
    const msg = await bob.expect("msg");
    assert.deepEqual([msg.room, msg.from, msg.text], [
      "#lobby",
      "alice",
      "hi bob, alice here via irssi ü",
    ]);
    await tmux.typeLine("/me waves");
    const action = await bob.expect("msg");
    assert.deepEqual([action.from, action.text, action.action], ["alice", "waves", true]);
    await tmux.waitFor(
      "irssi's own lines",
      (l) =>
        l.some(said("alice", "hi bob, alice here via irssi ü")) &&
        l.some((x) => x.endsWith(" * alice waves")),
    );

    await tmux.typeLine("/quit bye from irssi");
    const leave = await bob.expect("leave");
    assert.deepEqual([leave.nick, leave.message], ["alice", "bye from irssi"]);
    assert.equal(await exitStatus(tmux), 0, "exits 0 after /quit");
  });
});
