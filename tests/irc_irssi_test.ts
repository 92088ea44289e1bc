/**
 * A real irssi against sockchat's IRC port, in tmux: it registers, joins #lobby and chats both
 * ways with an NDJSON user, as a person would see it on the screen.
 */

import assert from "node:assert/strict";
import { shellQuote } from "./helpers/tmux.ts";
import { AWAY_MAX_LENGTH } from "../config/limits.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { CLIENT_WAIT_MS, exitStatus, ircChat, requireProgram } from "./helpers/tmux_irc.ts";
import { testServer } from "./helpers/wire.ts";

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
    const joined = await bob.expect("join", CLIENT_WAIT_MS);
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
    const msg = await bob.expect("msg", CLIENT_WAIT_MS);
    assert.deepEqual([msg.room, msg.from, msg.text], [
      "#lobby",
      "alice",
      "hi bob, alice here via irssi ü",
    ]);
    await tmux.typeLine("/me waves");
    const action = await bob.expect("msg", CLIENT_WAIT_MS);
    assert.deepEqual([action.from, action.text, action.action], ["alice", "waves", true]);
    await tmux.waitFor(
      "irssi's own lines",
      (l) =>
        l.some(said("alice", "hi bob, alice here via irssi ü")) &&
        l.some((x) => x.endsWith(" * alice waves")),
    );

    await tmux.typeLine("/quit bye from irssi");
    const leave = await bob.expect("leave", CLIENT_WAIT_MS);
    assert.deepEqual([leave.nick, leave.message], ["alice", "bye from irssi"]);
    // It exits after /quit (0, when tmux learns the status).
    assert.ok([0, null].includes(await exitStatus(tmux)));
  });
});

/** The lines `irc` reads after sending `lines`, up to the answer of a PING sent after them. */
async function answers(irc: RawIrcClient, ...lines: string[]): Promise<string[]> {
  const from = irc.seen.length;
  await irc.send(...lines, "PING :sync");
  await irc.expect(/ PONG .* :sync$/);
  return irc.seen.slice(from, -1);
}

Deno.test("what irssi showed: AWAY is answered by 306/305 alone, INVITE by 341, not by the core's sentences as NOTICEs", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const alice = await RawIrcClient.login(server, "alice");
  const bob = await RawIrcClient.login(server, "bob");
  try {
    assert.deepEqual(await answers(alice, "AWAY :gone fishing"), [
      ":irc.test 306 alice :You have been marked as being away",
    ]);
    assert.deepEqual(await answers(alice, "AWAY"), [
      ":irc.test 305 alice :You are no longer marked as being away",
    ]);
    // An away message past AWAYLEN is refused by the core: no 306 claims it was taken.
    const long = await answers(alice, `AWAY :${"x".repeat(AWAY_MAX_LENGTH + 1)}`);
    assert.ok(!long.some((l) => / 306 /.test(l)), long.join("\n"));
    assert.ok(long.some((l) => /at most \d+ characters/.test(l)), long.join("\n"));

    await alice.send("JOIN #fishing");
    await alice.expect(/ 366 alice #fishing /);
    assert.deepEqual(await answers(alice, "INVITE bob #fishing"), [
      ":irc.test 341 alice bob #fishing",
    ]);
    assert.match(await bob.expect(/ INVITE /), /^:alice!\S+ INVITE bob #fishing$/);
  } finally {
    alice.close();
    bob.close();
    await server.shutdown();
  }
});

Deno.test("found with the clients: a NICK line carries the renamed user's own mask, even one never shown before", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const ann = await RawIrcClient.open(server);
  try {
    await ann.send("NICK ann", "USER annid 0 * :Ann");
    await ann.expect(/ 221 /);
    await ann.send("NICK ann2");
    assert.match(await ann.expect(/ NICK /), /^:ann!~annid@\S+\.sc NICK :ann2$/);
  } finally {
    ann.close();
    await server.shutdown();
  }
});

Deno.test("found with the clients: the parting client's own PART carries its message, as the others' does", async () => {
  const server = testServer({ irc: { host: "127.0.0.1", port: 0, serverName: "irc.test" } });
  const carol = await RawIrcClient.login(server, "carol");
  const alice = await RawIrcClient.login(server, "alice");
  try {
    for (const irc of [carol, alice]) {
      await irc.send("JOIN #two");
      await irc.expect(/ 366 \S+ #two /);
    }
    await carol.send("PART #two :see you later");
    assert.match(await carol.expect(/ PART /), /^:carol!\S+ PART #two :see you later$/);
    assert.match(await alice.expect(/ PART /), /^:carol!\S+ PART #two :see you later$/);
  } finally {
    carol.close();
    alice.close();
    await server.shutdown();
  }
});
