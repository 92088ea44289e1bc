/**
 * A real WeeChat against sockchat's IRC port, in tmux: it logs in to a sockchat account with
 * SASL PLAIN, joins #lobby and chats both ways with an NDJSON user.
 */

import assert from "node:assert/strict";
import { shellQuote } from "./helpers/tmux.ts";
import { CLIENT_WAIT_MS, exitStatus, ircChat, requireProgram } from "./helpers/tmux_irc.ts";
import { command } from "./helpers/wire.ts";

/** `bob | text`, as WeeChat shows a channel message (the nick right-aligned, a time before). */
const said = (nick: string, text: string) => (line: string) =>
  new RegExp(`^\\d\\d:\\d\\d:\\d\\d +${nick} \\| `).test(line) && line.endsWith(text);

Deno.test("WeeChat in tmux: SASL logs in to a sockchat account, autojoins #lobby, and chats both ways with an NDJSON user", async () => {
  await requireProgram("weechat");
  await ircChat("weechat", [], async ({ ircPort, tmux, home, login }) => {
    const bob = await login("bob");
    // dave's account, made over NDJSON; the nick is free again once bob sees dave go.
    const made = await login("dave");
    assert.match(JSON.stringify(await command(made, "/register davepass1")), /registered/);
    made.close();
    assert.equal((await bob.expect("leave", CLIENT_WAIT_MS)).nick, "dave");

    const setup = [
      // Only this window's buffer, no side bars: the screen's lines are the chat's lines.
      "/set weechat.bar.buflist.hidden on",
      "/set weechat.bar.nicklist.hidden on",
      `/server add sockchat 127.0.0.1/${ircPort} -notls`,
      "/set irc.server.sockchat.nicks dave",
      "/set irc.server.sockchat.sasl_username dave",
      "/set irc.server.sockchat.sasl_password davepass1",
      "/set irc.server.sockchat.autojoin #lobby",
      "/connect sockchat",
    ].join(";");
    const weechat = `weechat --dir ${shellQuote(home)} -r ${shellQuote(setup)}`;
    await tmux.open(`env LC_ALL=C.UTF-8 ${weechat}`, {
      columns: 120,
      rows: 40,
      keepOnExit: true,
    });

    // SASL succeeded before registration: the core saw a proven account join.
    const joined = await bob.expect("join", CLIENT_WAIT_MS);
    assert.deepEqual([joined.room, joined.nick, joined.verified], ["#lobby", "dave", true]);
    await tmux.waitFor(
      "the #lobby buffer",
      (l) => l.some((x) => /dave .*has joined #lobby/.test(x)),
    );

    await bob.send({ type: "msg", room: "#lobby", text: "hello dave from bob" });
    await bob.send({ type: "msg", room: "#lobby", text: "line one\nline two" });
    const lines = await tmux.waitFor("bob's messages", (l) => l.some(said("bob", "line two")));
    const first = lines.findIndex(said("bob", "hello dave from bob"));
    assert.ok(first !== -1, lines.join("\n"));
    assert.ok(said("bob", "line one")(lines[first + 1]), lines.join("\n"));

    await tmux.typeLine("hi bob, dave here via WeeChat ☕");
    const msg = await bob.expect("msg", CLIENT_WAIT_MS);
    assert.deepEqual([msg.from, msg.text], ["dave", "hi bob, dave here via WeeChat ☕"]);
    await tmux.typeLine("/me waves");
    const action = await bob.expect("msg", CLIENT_WAIT_MS);
    assert.deepEqual([action.from, action.text, action.action], ["dave", "waves", true]);

    // The server buffer: SASL's 900 and 903 as WeeChat shows them.
    await tmux.typeLine("/buffer sockchat");
    await tmux.waitFor(
      "SASL's answers in the server buffer",
      (l) =>
        l.some((x) => x.includes("You are now logged in as dave")) &&
        l.some((x) => x.includes("SASL authentication successful")),
    );

    await tmux.typeLine("/quit");
    assert.equal((await bob.expect("leave", CLIENT_WAIT_MS)).nick, "dave");
    // It exits after /quit (0, when tmux learns the status).
    assert.ok([0, null].includes(await exitStatus(tmux)));
  });
});
