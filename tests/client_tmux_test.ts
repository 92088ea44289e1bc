/**
 * The interactive client in a real terminal: tmux runs `sockchat join`, send-keys types, and
 * capture-pane shows what a person would see.
 */

import assert from "node:assert/strict";
import { denoArgs, type ServeProcess, spawnServe } from "./helpers/cli.ts";
import { requireTmux, shellQuote, Tmux } from "./helpers/tmux.ts";
import { command, JsonClient } from "./helpers/wire.ts";

/**
 * Runs `body` with a fresh `sockchat serve SERVE_ARGS`, a tmux server and a way to log in raw
 * NDJSON clients; all of them are stopped after, whatever happens.
 */
async function tmuxChat(
  serveArgs: string[],
  body: (chat: {
    server: ServeProcess;
    tmux: Tmux;
    login: (nick: string) => Promise<JsonClient>;
  }) => Promise<void>,
): Promise<void> {
  const server = await spawnServe(serveArgs);
  const tmux = new Tmux();
  const clients: JsonClient[] = [];
  const login = async (nick: string) => {
    const client = await JsonClient.login({ addr: { port: server.port } } as never, nick);
    clients.push(client);
    return client;
  };
  try {
    await body({ server, tmux, login });
  } finally {
    await tmux.kill();
    for (const client of clients) client.close();
    await server.stop();
  }
}

const PROMPT = "[#lobby] alice> ";

Deno.test("interactive join in tmux: the half-typed line survives arriving messages and a resize, and a paste is one message", async () => {
  await requireTmux();
  await tmuxChat(["--db", ":memory:"], async ({ server, tmux, login }) => {
    await joinPane(tmux, server.port, 80, "env -u NO_COLOR ");

    await tmux.type("half a line 😀 漢字");
    const bob = await login("bob");
    await bob.send({ type: "msg", room: "#lobby", text: "first from bob" });
    await bob.send({ type: "msg", room: "#lobby", text: "two\nlines" });
    await bob.send({ type: "msg", room: "#lobby", text: "evil \x1b[2J\x1b]0;title\x07 alice!" });
    const lines = await tmux.waitFor(
      "bob's messages above the intact half line",
      (l) => l.some((x) => x.includes("<bob> evil")) && l.at(-1) === `${PROMPT}half a line 😀 漢字`,
    );
    const first = lines.findIndex((l) => l.includes("<bob> first from bob"));
    assert.ok(first !== -1, lines.join("\n"));
    assert.match(lines[first + 1], /<bob> two$/);
    assert.match(lines[first + 2], /^\s+lines$/);
    assert.ok(lines[first + 3].endsWith("<bob> evil  alice!"), "escapes neutralised");
    assert.ok(lines.some((l) => l.includes("Welcome to sockchat, alice!")), "screen not cleared");

    // Narrower than the input line: it wraps, and stays intact through the next message. The
    // rest runs at this width. (Not back to 80: tmux delays telling the program about a second
    // resize soon after the first, while already drawing at the new width.) Wide enough for
    // the messages below, which the client would otherwise wrap itself (issue 12).
    await tmux.run("resize-window", "-t", "chat", "-x", "34");
    await bob.send({ type: "msg", room: "#lobby", text: "after resize" });
    await tmux.waitFor(
      "a message after the resize, the half line still last",
      (l) =>
        l.some((x) => x.endsWith("<bob> after resize")) &&
        l.at(-1) === `${PROMPT}half a line 😀 漢字`,
    );

    // Enter sends the half line; the echo is replaced by the acknowledged message.
    await tmux.press("Enter");
    const said = await bob.expect("msg");
    assert.deepEqual([said.from, said.text], ["alice", "half a line 😀 漢字"]);
    await tmux.waitFor(
      "alice's own message",
      (l) => l.some((x) => /<alice> half a line 😀 漢字$/.test(x)) && l.at(-1) === PROMPT.trimEnd(),
    );

    // A pasted block of lines (tmux brackets it, since the client asked) is ONE message.
    await tmux.run("set-buffer", "-b", "block", "line one\nline two\nline three");
    await tmux.run("paste-buffer", "-p", "-d", "-b", "block", "-t", "chat");
    await tmux.waitFor(
      "the pasted block held in the input area",
      (l) => l.at(-1) === "... line three",
    );
    await tmux.press("Enter");
    const pasted = await bob.expect("msg");
    assert.equal(pasted.text, "line one\nline two\nline three");
    await tmux.typeLine("after the paste");
    assert.equal((await bob.expect("msg")).text, "after the paste", "nothing else was sent");

    // Nothing was lost or trampled on the way: every line is on screen once, in order.
    const final = await tmux.waitFor(
      "alice's last message",
      (l) => l.some((x) => x.endsWith("<alice> after the paste")),
    );
    const order = [
      "<bob> first from bob",
      "<bob> evil  alice!",
      "<bob> after resize",
      "<alice> half a line 😀 漢字",
      "<alice> line one",
      "line two",
      "line three",
      "<alice> after the paste",
    ].map((text) => final.findIndex((l) => l.endsWith(text)));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), final.join("\n"));
    assert.ok(!order.includes(-1), final.join("\n"));

    await tmux.typeLine("/quit");
    const leave = await bob.expect("leave");
    assert.deepEqual([leave.nick, leave.reason], ["alice", "quit"]);
    const end = await tmux.waitFor("join to exit", (l) => l.some((x) => /^\[exit \d+\]$/.test(x)));
    assert.ok(end.includes("[exit 0]"), `join exits 0 after /quit:\n${end.join("\n")}`);
  });
});

/** Starts a private tmux server whose one pane runs an interactive `sh` with job control. */
async function shellPane(tmux: Tmux): Promise<void> {
  await requireTmux();
  // The test itself may run under `deno task`: its markers must not reach the client.
  const clean = ["NO_COLOR", "npm_config_user_agent", "npm_lifecycle_event", "INIT_CWD"]
    .flatMap((name) => ["-u", name]);
  await tmux.open(["env", ...clean, "PS1=$ ", "sh", "-i"].map(shellQuote).join(" "), {
    columns: 80,
    cwd: Deno.cwd(),
  });
  await tmux.waitFor("the shell prompt", (lines) => lines.at(-1) === "$");
}

/** The `sh` line that runs `sockchat join 127.0.0.1:PORT -n alice EXTRA...` under this Deno. */
function joinCommand(port: number, ...extra: string[]): string {
  return [Deno.execPath(), ...denoArgs(["join", `127.0.0.1:${port}`, "-n", "alice", ...extra])]
    .map(shellQuote).join(" ");
}

/**
 * Runs `join 127.0.0.1:PORT -n alice` as the pane's program, `width` columns wide, and waits for
 * its prompt. The pane stays when it exits, and shows `[exit N]` (tmux may miss the code when the
 * pane closes first).
 */
async function joinPane(tmux: Tmux, port: number, width: number, prefix = ""): Promise<void> {
  await tmux.open(`${prefix}${joinCommand(port)}; echo "[exit $?]"`, {
    columns: width,
    keepOnExit: true,
  });
  await tmux.waitFor("the prompt", (lines) => lines.at(-1) === PROMPT.trimEnd());
}

Deno.test("Ctrl-Z in tmux: the shell gets a usable terminal, and after fg the client has the keyboard again", async () => {
  await tmuxChat(["--db", ":memory:"], async ({ server, tmux, login }) => {
    await shellPane(tmux);
    await tmux.typeLine(joinCommand(server.port));
    await tmux.waitFor("the prompt", (lines) => lines.at(-1) === PROMPT.trimEnd());
    const bob = await login("bob");
    await tmux.waitFor("bob's arrival", (l) => l.some((x) => x.includes("bob")));
    await tmux.type("half bo");
    await tmux.waitFor("the half line", (l) => l.at(-1) === `${PROMPT}half bo`);

    await tmux.press("C-z");
    await tmux.waitFor(
      "the shell to report the stopped job",
      (l) => l.some((x) => /Stopped/.test(x)) && l.at(-1) === "$",
    );
    // The terminal is cooked again: a shell without line editing of its own reads this line.
    await tmux.typeLine("echo o''k");
    await tmux.waitFor("the shell to run echo", (l) => l.includes("ok") && l.at(-1) === "$");

    await tmux.typeLine("fg");
    await tmux.waitFor("the redrawn half line", (l) => l.at(-1) === `${PROMPT}half bo`);
    // Raw mode again: Tab completes at once, without Enter.
    await tmux.press("Tab");
    await tmux.waitFor("Tab to complete bob", (l) => l.at(-1) === `${PROMPT}half bob`);
    // A message from bob lands above the line, which stays intact.
    await bob.send({ type: "msg", room: "#lobby", text: "welcome back" });
    await tmux.waitFor(
      "bob's message above the intact line",
      (l) => l.some((x) => x.endsWith("<bob> welcome back")) && l.at(-1) === `${PROMPT}half bob`,
    );
    await tmux.typeLine("x");
    assert.equal((await bob.expect("msg")).text, "half bob x");

    await tmux.typeLine("/quit");
    await tmux.waitFor("the shell after /quit", (l) => l.at(-1) === "$");
    await tmux.typeLine('echo "[exit $?]"');
    const end = await tmux.waitFor("the exit code", (l) => l.some((x) => /^\[exit \d+\]$/.test(x)));
    assert.ok(end.includes("[exit 0]"), end.join("\n"));
  });
});

Deno.test("Ctrl-Z under deno task: ignored with a one-line hint; the client keeps the keyboard", async () => {
  await tmuxChat(["--db", ":memory:"], async ({ server, tmux, login }) => {
    await shellPane(tmux);
    const task = [Deno.execPath(), "task", "-q", "join", `127.0.0.1:${server.port}`, "-n", "alice"]
      .map(shellQuote).join(" ");
    await tmux.typeLine(task);
    await tmux.waitFor("the prompt", (lines) => lines.at(-1) === PROMPT.trimEnd());
    const bob = await login("bob");
    await tmux.type("still here");
    await tmux.waitFor("the half line", (l) => l.at(-1) === `${PROMPT}still here`);
    await tmux.press("C-z");
    const hinted = await tmux.waitFor(
      "the hint, with the line intact below it",
      (l) => l.some((x) => x.includes("Ctrl-Z is ignored")) && l.at(-1) === `${PROMPT}still here`,
    );
    assert.equal(hinted.filter((x) => x.includes("Ctrl-Z")).length, 1, "one line");
    await tmux.press("Enter");
    assert.equal((await bob.expect("msg")).text, "still here");
    await tmux.typeLine("/quit");
    await tmux.waitFor("the shell after /quit", (l) => l.at(-1) === "$");
  });
});

Deno.test("offline in tmux: a line typed while reconnecting shows dimmed as (unsent) until the server acknowledges it", async () => {
  let server = await spawnServe(["--db", ":memory:"]);
  const port = server.port;
  const tmux = new Tmux();
  try {
    await shellPane(tmux);
    await tmux.typeLine(joinCommand(port));
    await tmux.waitFor("the prompt", (lines) => lines.at(-1) === PROMPT.trimEnd());
    await server.stop("SIGTERM");
    await tmux.waitFor("the reconnecting prompt", (l) => /reconnecting/.test(l.at(-1) ?? ""));
    await tmux.typeLine("typed while away");
    const waiting = await tmux.waitFor(
      "the kept line above the prompt",
      (l) => l.at(-2) === "(unsent) typed while away" && /reconnecting/.test(l.at(-1) ?? ""),
    );
    assert.ok(
      waiting.some((x) => x.includes("Not connected: what you type is kept")),
      waiting.join("\n"),
    );
    const styled = await tmux.run("capture-pane", "-p", "-e", "-t", "chat");
    // tmux carries attributes across lines: the last SGR before the line must turn dim on.
    const before = styled.slice(0, styled.indexOf("(unsent) typed while away"));
    const sgr = [...before.matchAll(new RegExp(`${"\x1b"}\\[([\\d;]*)m`, "g"))].map((m) => m[1]);
    assert.equal(sgr.at(-1), "2", `dimmed: ${JSON.stringify(before.slice(-200))}`);

    server = await spawnServe(["--db", ":memory:", "--port", String(port)]);
    const sent = await tmux.waitFor(
      "the line acknowledged",
      (l) => l.some((x) => x.endsWith("<alice> typed while away")) && l.at(-1) === PROMPT.trimEnd(),
    );
    assert.ok(!sent.some((x) => x.includes("(unsent)")), sent.join("\n"));
    await tmux.typeLine("/quit");
    await tmux.waitFor("the shell after /quit", (l) => l.at(-1) === "$");
  } finally {
    await tmux.kill();
    await server.stop();
  }
});

Deno.test("banned in tmux: the goodbye is shown once, and join exits 1", async () => {
  const dir = await Deno.makeTempDir();
  const operFile = `${dir}/oper`;
  await Deno.writeTextFile(operFile, "s3cret-for-the-test", { mode: 0o600 });
  try {
    await tmuxChat(
      ["--db", ":memory:", "--oper-file", operFile],
      async ({ server, tmux, login }) => {
        await joinPane(tmux, server.port, 100);
        const op = await login("op");
        await command(op, "/oper s3cret-for-the-test");
        await command(op, "/ban alice spamming");
        const lines = await tmux.waitFor("the exit", (l) => l.some((x) => x.includes("[exit ")));
        const banned = lines.filter((l) => /banned/i.test(l) && l.includes("spamming"));
        assert.equal(banned.length, 1, lines.join("\n"));
        assert.ok(lines.some((l) => l.includes("[exit 1]")), lines.join("\n"));
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wrapping in tmux: long messages and /help wrap at the width under their text, a resize applies to later lines, and /theme repaints", async () => {
  await tmuxChat(["--db", ":memory:"], async ({ server, tmux, login }) => {
    await shellPane(tmux);
    await tmux.typeLine(joinCommand(server.port, "--timestamps", "none"));
    await tmux.waitFor("the prompt", (lines) => lines.at(-1) === PROMPT.trimEnd());
    const bob = await login("bob");
    await tmux.type("half 漢字");
    const long =
      "the quick brown fox jumps over the lazy dog, twice: the quick brown fox 漢字漢字漢字 😀😀 end";
    await bob.send({ type: "msg", room: "#lobby", text: long });
    const lines = await tmux.waitFor(
      "bob's long message wrapped above the intact half line",
      (l) => l.some((x) => /^ {6}\S.* end$/.test(x)) && l.at(-1) === `${PROMPT}half 漢字`,
    );
    const first = lines.findIndex((l) => l.startsWith("<bob> the quick"));
    const end = lines.findIndex((x) => /^ {6}\S.* end$/.test(x));
    assert.ok(first !== -1 && end > first, lines.join("\n"));
    for (const row of lines.slice(first + 1, end + 1)) {
      assert.ok(row.startsWith("      ") && row[6] !== " ", `hangs under the text: ${row}`);
    }
    assert.equal(
      lines.slice(first, end + 1).map((row) => row.trim()).join(" ").replace("<bob> ", ""),
      long,
      "nothing lost at the breaks",
    );

    // /help from the server: wrapped at 80, its continuations under the descriptions.
    await tmux.press("C-u");
    await tmux.typeLine("/help");
    const help = await tmux.waitFor(
      "/help",
      (l) =>
        l.some((x) => x.startsWith("* Start a message with //")) && l.at(-1) === PROMPT.trimEnd(),
    );
    // (The screen may have scrolled past the first entries: each row counts, not their number.)
    const top = help.findIndex((l) => l.startsWith("*   /"));
    const rows = help.slice(top, help.findIndex((l) => l.startsWith("* Start a message")));
    assert.ok(rows.length > 10, help.join("\n"));
    const column = /^\*\s+\S.*?\s{2,}(?=\S)/.exec(rows[0])?.[0].length ?? 0;
    assert.ok(rows.some((row) => !row.startsWith("*")), "some descriptions wrap at 80");
    for (const row of rows) {
      assert.ok(row.startsWith("*") || /^ +\S/.exec(row)?.[0].length === column + 1, row);
    }

    // After a resize (the first: tmux is slow to report a second one), the next message wraps
    // at the new width.
    await tmux.run("resize-window", "-t", "chat", "-x", "30");
    await bob.send({ type: "msg", room: "#lobby", text: "after the resize this wraps at thirty" });
    const narrow = await tmux.waitFor(
      "the message wrapped at 30",
      (l) => l.some((x) => x.startsWith("<bob> after the resize")) && l.at(-1) === PROMPT.trimEnd(),
    );
    const at = narrow.findIndex((x) => x.startsWith("<bob> after the resize"));
    assert.deepEqual(narrow.slice(at, at + 2), [
      "<bob> after the resize this",
      "      wraps at thirty",
    ]);

    // /theme light: the prompt's room is painted in the light theme's dark teal at once.
    await tmux.typeLine("/theme light");
    await tmux.waitFor("the theme notice", (l) => l.some((x) => x === "* Theme: light."));
    const styled = await tmux.run("capture-pane", "-p", "-e", "-t", "chat");
    const prompt = styled.trimEnd().split("\n").at(-1) ?? "";
    assert.ok(prompt.includes("38;5;23m#lobby"), JSON.stringify(prompt));

    await tmux.typeLine("/quit");
    await tmux.waitFor("the shell after /quit", (l) => l.at(-1) === "$");
  });
});
