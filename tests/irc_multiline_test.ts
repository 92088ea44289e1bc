import assert from "node:assert/strict";
import { type Client, kiwi as kiwiClient, quitKiwi } from "./helpers/irc_framework.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { JsonClient, testServer, within } from "./helpers/wire.ts";
import type { ChatServer } from "../server.ts";
import type { SessionPort } from "../protocol/session.ts";
import { type IrcLine, parseLine } from "../protocol/irc/line.ts";
import type { CommandHost } from "../protocol/irc/commands/host.ts";
import { MultilineInbox, NOT_A_BATCH_LINE } from "../protocol/irc/commands/batch.ts";

const S = "irc.test";
const utf8 = new TextEncoder();

function ircServer(): ChatServer {
  return testServer({ irc: { host: "127.0.0.1", port: 0, serverName: S } });
}

/** The draft/multiline limits a CAP LS 302 line advertises. */
function limitsOf(ls: string): { maxBytes: number; maxLines: number } {
  const m = /draft\/multiline=max-bytes=(\d+),max-lines=(\d+)/.exec(ls);
  if (m === null) throw new Error(`no draft/multiline in ${ls}`);
  return { maxBytes: Number(m[1]), maxLines: Number(m[2]) };
}

/** A registered raw client with `caps` enabled; returns it and the CAP LS line. */
async function capClient(
  server: ChatServer,
  nick: string,
  caps: string,
): Promise<{ irc: RawIrcClient; ls: string }> {
  const irc = await RawIrcClient.open(server);
  await irc.send("CAP LS 302", `NICK ${nick}`, `USER ${nick} 0 * :${nick}`);
  const ls = await irc.expect(/ CAP \S+ LS /);
  if (caps !== "") {
    await irc.send(`CAP REQ :${caps}`);
    await irc.expect(/ CAP \S+ ACK /);
  }
  await irc.send("CAP END");
  await irc.expect(/ 221 /);
  return { irc, ls };
}

const ML = "batch draft/multiline message-tags";

/** Joins `room` and waits for its end of names. */
async function join(irc: RawIrcClient, room: string): Promise<void> {
  await irc.send(`JOIN ${room}`);
  await irc.expect(/ 366 /);
}

Deno.test("IRC multiline: a batch in is one message for an NDJSON reader (lines by \\n, concat by nothing, breaks)", async () => {
  const server = ircServer();
  const { irc } = await capClient(server, "alice", ML);
  const json = await JsonClient.login(server, "bob");
  try {
    await join(irc, "#lobby");
    await json.expect("join");
    await irc.send(
      "BATCH +a1 draft/multiline #lobby",
      "@batch=a1 PRIVMSG #lobby :hello",
      "@batch=a1 PRIVMSG #lobby :wor",
      "@batch=a1;draft/multiline-concat PRIVMSG #lobby :ld!",
      "BATCH -a1",
    );
    const msg = await json.expect("msg");
    assert.equal(msg.from, "alice");
    assert.equal(msg.text, "hello\nworld!");
    assert.deepEqual(msg.breaks, [9]);
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC multiline: out as one batch to a multiline reader (composition kept), as lines to others; the echo too", async () => {
  const server = ircServer();
  const { irc: alice } = await capClient(server, "alice", `${ML} echo-message`);
  const { irc: carol } = await capClient(server, "carol", ML);
  const { irc: dave } = await capClient(server, "dave", "message-tags");
  try {
    for (const c of [alice, carol, dave]) await join(c, "#r");
    await alice.send(
      "BATCH +x draft/multiline #r",
      "@batch=x PRIVMSG #r :one",
      "@batch=x PRIVMSG #r :",
      "@batch=x PRIVMSG #r :tw",
      "@batch=x;draft/multiline-concat PRIVMSG #r :o",
      "BATCH -x",
    );
    const start = await carol.expect(/ BATCH \+/);
    const m = /^@msgid=(\d+) :alice!\S+ BATCH \+(m\1) draft\/multiline #r$/.exec(start);
    assert.ok(m !== null, start);
    const id = m[2];
    assert.match(
      await carol.expect(/PRIVMSG/),
      new RegExp(`^@batch=${id} :alice!\\S+ PRIVMSG #r :?one$`),
    );
    assert.match(
      await carol.expect(/PRIVMSG/),
      new RegExp(`^@batch=${id} :alice!\\S+ PRIVMSG #r :$`),
    );
    assert.match(
      await carol.expect(/PRIVMSG/),
      new RegExp(`^@batch=${id} :alice!\\S+ PRIVMSG #r :?tw$`),
    );
    assert.match(
      await carol.expect(/PRIVMSG/),
      new RegExp(`^@batch=${id};draft/multiline-concat :alice!\\S+ PRIVMSG #r :?o$`),
    );
    assert.match(await carol.expect(/ BATCH -/), new RegExp(`^:alice!\\S+ BATCH -${id}$`));

    // Without draft/multiline: the lines one by one, the blank one dropped, msgid on the first.
    assert.match(
      await dave.expect(/PRIVMSG/),
      new RegExp(`^@msgid=${m[1]} :alice!\\S+ PRIVMSG #r :?one$`),
    );
    assert.match(await dave.expect(/PRIVMSG/), /^:alice!\S+ PRIVMSG #r :?tw$/);
    assert.match(await dave.expect(/PRIVMSG/), /^:alice!\S+ PRIVMSG #r :?o$/);

    // The echo: the same batch, msgid and all.
    assert.equal(await alice.expect(/ BATCH \+/), start);
    assert.match(await alice.expect(/PRIVMSG/), /PRIVMSG #r :?one$/);
    await alice.expect(/PRIVMSG #r :$/);
    await alice.expect(/PRIVMSG #r :?tw$/);
    assert.match(await alice.expect(/PRIVMSG/), /draft\/multiline-concat .* PRIVMSG #r :?o$/);
    await alice.expect(/ BATCH -/);
  } finally {
    for (const c of [alice, carol, dave]) c.close();
    await server.shutdown();
  }
});

Deno.test("IRC multiline: a sockchat message with newlines and a 1,000-byte line is a batch for multiline readers, UTF-8-safe lines for others", async () => {
  const server = ircServer();
  const json = await JsonClient.login(server, "jo");
  const { irc: ml } = await capClient(server, "mel", ML);
  const { irc: plain } = await capClient(server, "pat", "");
  try {
    await join(ml, "#lobby");
    await join(plain, "#lobby");
    // 1,000+ bytes of 3-byte and 4-byte characters with no space: cut between code points.
    const long = "€😀".repeat(150); // 150 × 7 = 1,050 bytes
    const text = `first\n\n${long}`;
    await json.send({ type: "msg", room: "#lobby", text });

    const start = await ml.expect(/ BATCH \+/);
    const id = / BATCH \+(\S+) /.exec(start)?.[1];
    const inner: string[] = [];
    while (true) {
      const line = await ml.expect(/PRIVMSG|BATCH -/);
      if (line.includes("BATCH -")) break;
      assert.ok(line.startsWith(`@batch=${id}`), line);
      inner.push(line);
    }
    const texts = inner.map((l) => l.slice(l.indexOf(" PRIVMSG #lobby ") + 16).replace(/^:/, ""));
    assert.deepEqual(texts.slice(0, 2), ["first", ""]); // blank line kept
    assert.ok(inner.length >= 5, "the long line is cut");
    for (const line of inner.slice(3)) assert.match(line, /draft\/multiline-concat/);
    assert.equal(texts.slice(2).join(""), long);

    const got: string[] = [];
    let joined = "";
    while (joined.length < long.length) {
      const line = await plain.expect(/PRIVMSG #lobby/);
      assert.ok(utf8.encode(line + "\r\n").length <= 512, `${line.length}: over 512 bytes`);
      const body = line.slice(line.indexOf(" PRIVMSG #lobby ") + 16).replace(/^:/, "");
      assert.doesNotMatch(body, /\uFFFD/); // no multi-byte character broken
      got.push(body);
      if (got.length > 1) joined += body;
    }
    assert.equal(got[0], "first"); // the blank line dropped for a plain reader
    assert.equal(joined, long);
  } finally {
    json.close();
    ml.close();
    plain.close();
    await server.shutdown();
  }
});

Deno.test("IRC multiline: every FAIL BATCH, and a failed batch sends nothing", async () => {
  const server = ircServer();
  const { irc } = await capClient(server, "fay", ML);
  const json = await JsonClient.login(server, "jo");
  const fail = (code: string) => irc.expect(new RegExp(` FAIL BATCH ${code}`));
  try {
    await join(irc, "#lobby");
    await join(irc, "#other");
    await irc.send("BATCH");
    assert.equal(await irc.expect(/ 461 /), `:${S} 461 fay BATCH :Not enough parameters`);

    await irc.send("BATCH +a draft/multiline #lobby", "BATCH +b draft/multiline #lobby");
    assert.match(await fail("MULTILINE_INVALID"), /^:irc\.test FAIL BATCH MULTILINE_INVALID :/);
    // Lines of both dropped batches are ignored without another FAIL.
    await irc.send("@batch=a PRIVMSG #lobby :x", "@batch=b PRIVMSG #lobby :y", "BATCH -a");

    await irc.send("BATCH +c draft/multiline #lobby", "@batch=zz PRIVMSG #lobby :x");
    await fail("MULTILINE_INVALID");

    await irc.send("BATCH +d draft/multiline #lobby", "@batch=d PRIVMSG #other :x");
    assert.match(
      await fail("MULTILINE_INVALID_TARGET"),
      /FAIL BATCH MULTILINE_INVALID_TARGET #lobby #other :/,
    );

    await irc.send(
      "BATCH +e draft/multiline #lobby",
      "@batch=e PRIVMSG #lobby :x",
      "@batch=e NOTICE #lobby :y",
    );
    await fail("MULTILINE_INVALID"); // PRIVMSG and NOTICE mixed

    await irc.send(
      "BATCH +f draft/multiline #lobby",
      "@batch=f PRIVMSG #lobby :x",
      "@batch=f;draft/multiline-concat PRIVMSG #lobby :",
    );
    await fail("MULTILINE_INVALID"); // a blank concat line

    await irc.send(
      "BATCH +g draft/multiline #lobby",
      "@batch=g PRIVMSG #lobby :",
      "@batch=g PRIVMSG #lobby :",
      "BATCH -g",
    );
    await fail("MULTILINE_INVALID"); // all blank

    await irc.send("BATCH -nope");
    await fail("MULTILINE_INVALID");
    await irc.send("BATCH +h other/type #lobby");
    await fail("MULTILINE_INVALID");

    // Nothing of the above reached the room: the next message jo gets is this one.
    await irc.send("PRIVMSG #lobby :after");
    assert.equal((await json.expect("msg")).text, "after");
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC multiline: max-lines and max-bytes at their boundaries; batch lines are not charged one by one", async () => {
  const server = ircServer();
  const { irc, ls } = await capClient(server, "gil", ML);
  const json = await JsonClient.login(server, "jo");
  const { maxBytes, maxLines } = limitsOf(ls);
  try {
    await join(irc, "#lobby");
    // maxLines lines pass: at one flood unit each (a burst of 20, 5 a second) this would take
    // longer than the test waits.
    const lines = Array.from({ length: maxLines }, (_, i) => `@batch=l PRIVMSG #lobby :l${i}`);
    await irc.send("BATCH +l draft/multiline #lobby", ...lines, "BATCH -l");
    const full = await json.expect("msg");
    assert.equal(full.text.split("\n").length, maxLines);

    await irc.send(
      "BATCH +l2 draft/multiline #lobby",
      ...lines.map((l) => l.replace("=l ", "=l2 ")),
    );
    await irc.send("@batch=l2 PRIVMSG #lobby :one too many", "BATCH -l2");
    assert.match(
      await irc.expect(/ FAIL BATCH /),
      new RegExp(`FAIL BATCH MULTILINE_MAX_LINES ${maxLines} :`),
    );

    // Exactly max-bytes: 256-byte concat pieces (no newline between them) and the rest.
    const piece = "b".repeat(256);
    const pieces = Array.from({ length: Math.floor(maxBytes / 256) }, () => piece);
    if (maxBytes % 256 > 0) pieces.push("c".repeat(maxBytes % 256));
    const batch = (id: string, parts: string[]) => [
      `BATCH +${id} draft/multiline #lobby`,
      ...parts.map((p, i) =>
        `@batch=${id}${i === 0 ? "" : ";draft/multiline-concat"} PRIVMSG #lobby :${p}`
      ),
      `BATCH -${id}`,
    ];
    assert.ok(pieces.length <= maxLines);
    await irc.send(...batch("y", pieces));
    const big = await json.expect("msg");
    assert.equal(utf8.encode(big.text).length, maxBytes);

    await irc.send(...batch("z", [...pieces.slice(0, -1), pieces[pieces.length - 1] + "!"]));
    assert.match(
      await irc.expect(/ FAIL BATCH /),
      new RegExp(`FAIL BATCH MULTILINE_MAX_BYTES ${maxBytes} :`),
    );
    await irc.send("PRIVMSG #lobby :after");
    assert.equal((await json.expect("msg")).text, "after");
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC multiline: a batch to a nick is one DM; NOTICE batches are notices; an unfinished batch goes with the connection", async () => {
  const server = ircServer();
  const { irc } = await capClient(server, "hal", ML);
  const json = await JsonClient.login(server, "jo");
  try {
    await irc.send(
      "BATCH +d draft/multiline jo",
      "@batch=d PRIVMSG jo :line one",
      "@batch=d PRIVMSG jo :line two",
      "BATCH -d",
    );
    const dm = await json.expect("dm");
    assert.deepEqual([dm.from, dm.text], ["hal", "line one\nline two"]);

    await join(irc, "#lobby");
    await irc.send(
      "BATCH +n draft/multiline #lobby",
      "@batch=n NOTICE #lobby :a",
      "@batch=n NOTICE #lobby :b",
      "BATCH -n",
    );
    const notice = await json.expect("msg");
    assert.deepEqual([notice.text, notice.notice], ["a\nb", true]);

    // Never closed: nothing is sent, and the connection's end drops it.
    await irc.send("BATCH +u draft/multiline #lobby", "@batch=u PRIVMSG #lobby :lost");
    await irc.send("QUIT");
    await irc.expectEof();
    const left = await json.expect("leave");
    assert.equal(left.nick, "hal");
  } finally {
    irc.close();
    json.close();
    await server.shutdown();
  }
});

Deno.test("IRC multiline: without the cap BATCH is an unknown command", async () => {
  const server = ircServer();
  const { irc, ls } = await capClient(server, "ivy", "message-tags");
  try {
    assert.match(ls, /draft\/multiline=max-bytes=\d+,max-lines=100/);
    await irc.send("BATCH +a draft/multiline #lobby");
    assert.equal(await irc.expect(/ 421 /), `:${S} 421 ivy BATCH :Unknown command`);
  } finally {
    irc.close();
    await server.shutdown();
  }
});

/** irc-framework's client, with the calls these tests use that its type file leaves out. */
type Kiwi = Client & { requestCap(caps: string[]): void };

/** An irc-framework client registered as `nick` with draft/multiline requested. */
async function kiwi(server: ChatServer, nick: string): Promise<Kiwi> {
  return await kiwiClient(server, nick, { caps: ["draft/multiline", "batch", "echo-message"] });
}

Deno.test("irc-framework: a multiline batch sent raw is one NDJSON message; a sockchat message with newlines arrives as one draft/multiline batch", async () => {
  const server = ircServer();
  const client = await kiwi(server, "kiwi");
  const json = await JsonClient.login(server, "nora");
  try {
    const joined = new Promise((resolve) => client.once("join", resolve));
    client.join("#lobby");
    await within(joined, "join");
    await json.expect("join");

    type Batch = { params: string[]; commands: { params: string[]; tags: object }[] };
    const nextBatch = () =>
      within(
        new Promise<Batch>((resolve) => client.once("batch end draft/multiline", resolve)),
        "batch end draft/multiline",
      );
    const echoed = nextBatch();
    client.raw("BATCH +k1 draft/multiline #lobby");
    client.raw("@batch=k1 PRIVMSG #lobby :first line");
    client.raw("@batch=k1 PRIVMSG #lobby :second ");
    client.raw("@batch=k1;draft/multiline-concat PRIVMSG #lobby :half");
    client.raw("BATCH -k1");
    const msg = await json.expect("msg");
    assert.equal(msg.text, "first line\nsecond half");
    // echo-message: the client's own batch comes back as it was composed.
    const echo = await echoed;
    assert.deepEqual(echo.commands.map((c) => c.params[1]), ["first line", "second ", "half"]);
    assert.ok("draft/multiline-concat" in echo.commands[2].tags);

    const batch = nextBatch();
    await json.send({ type: "msg", room: "#lobby", text: "one\ntwo\nthree" });
    const got = await batch;
    assert.deepEqual(got.params, ["#lobby"]);
    assert.deepEqual(got.commands.map((c) => c.params[1]), ["one", "two", "three"]);
  } finally {
    json.close();
    await quitKiwi(client, "done");
    await server.shutdown();
  }
});

Deno.test("MultilineInbox: BATCH + costs a flood unit, lines inside an open batch none, the end one unit with all the batch's bytes", () => {
  const holds: number[] = [];
  const said: { text: string; breaks: readonly number[] | undefined }[] = [];
  const replies: IrcLine[] = [];
  const port = {
    hold: (bytes: number) => {
      holds.push(bytes);
      return true;
    },
    isIn: () => true,
    say: (
      _room: string,
      text: string,
      _ref?: string,
      _kind?: unknown,
      breaks?: readonly number[],
    ) => said.push({ text, breaks }),
  } as unknown as SessionPort;
  const host: CommandHost = {
    port,
    client: "ann",
    reply: (line) => replies.push(line),
    replies: (lines) => replies.push(...lines),
    remember: () => "r1",
    command: () => {},
    names: () => [],
  };
  const inbox = new MultilineInbox({ maxBytes: 100, maxLines: 3 });
  const feed = (line: string) => {
    const bytes = utf8.encode(line);
    const parsed = parseLine(bytes);
    if (parsed.kind !== "message") throw new Error(line);
    return inbox.take(host, parsed.message, bytes.length);
  };
  const lines = [
    "BATCH +a draft/multiline #r",
    "@batch=a PRIVMSG #r :one",
    "@batch=a;draft/multiline-concat PRIVMSG #r :two",
    "BATCH -a",
  ];
  assert.equal(feed("PRIVMSG #r :plain"), NOT_A_BATCH_LINE);
  for (const line of lines) feed(line);
  const size = (line: string) => utf8.encode(line).length;
  assert.deepEqual(holds, [size(lines[0]), size(lines[1]) + size(lines[2]) + size(lines[3])]);
  assert.deepEqual(said, [{ text: "onetwo", breaks: [3] }]);

  // A batch dropped by an error is charged when it fails, and no open batch takes more than
  // max-lines; after the failure its lines are charged as any line (no batch is open).
  holds.length = 0;
  feed("BATCH +b draft/multiline #r");
  for (let i = 0; i < 3; i++) feed(`@batch=b PRIVMSG #r :l${i}`);
  assert.equal(holds.length, 1);
  feed("@batch=b PRIVMSG #r :l3");
  assert.equal(holds.length, 2);
  assert.match(replies.at(-1)?.params.join(" ") ?? "", /^BATCH MULTILINE_MAX_LINES 3 /);
  feed("@batch=b PRIVMSG #r :l4");
  assert.equal(holds.length, 3); // charged as any line: the batch is no longer open
  assert.equal(said.length, 1);
});

Deno.test("IRC multiline: a sockchat message of thousands of short lines reaches IRC readers as at most 100 lines, the rest joined by spaces", async () => {
  const server = ircServer();
  const json = await JsonClient.login(server, "jo");
  const { irc: ml } = await capClient(server, "mel", ML);
  const { irc: plain } = await capClient(server, "pat", "");
  try {
    await join(ml, "#lobby");
    await join(plain, "#lobby");
    const lines = Array.from({ length: 5000 }, (_, i) => `l${i}`);
    await json.send({ type: "msg", room: "#lobby", text: lines.join("\n") });
    const expected = [...lines.slice(0, 99), lines.slice(99).join(" ")];
    const body = (line: string) =>
      line.slice(line.indexOf(" PRIVMSG #lobby ") + 16).replace(/^:/, "");

    await ml.expect(/ BATCH \+/);
    const batched: string[] = [];
    while (true) {
      const line = await ml.expect(/PRIVMSG|BATCH -/);
      if (line.includes("BATCH -")) break;
      batched.push(line);
    }
    // 100 lines, the last one cut to fit (its continuations marked concat), nothing lost.
    const newlines = batched.filter((l) => !l.includes("draft/multiline-concat"));
    assert.equal(newlines.length, 100);
    assert.deepEqual(newlines.slice(0, 99).map(body), expected.slice(0, 99));
    assert.equal(batched.slice(99).map(body).join(""), expected[99]);

    const got: string[] = [];
    while (got.length < 99) got.push(body(await plain.expect(/PRIVMSG #lobby/)));
    assert.deepEqual(got, expected.slice(0, 99));
    let tail = "";
    let cut = 0;
    while (tail.length < expected[99].length) {
      tail += body(await plain.expect(/PRIVMSG #lobby/));
      cut++;
    }
    assert.equal(tail, expected[99]);
    assert.ok(cut < 100, `${cut} lines for the folded rest`);
  } finally {
    json.close();
    ml.close();
    plain.close();
    await server.shutdown();
  }
});

Deno.test("IRC multiline: a leading blank line is kept for multiline readers and dropped for others (irctest testBlankLines)", async () => {
  const server = ircServer();
  const { irc: alice } = await capClient(server, "alice", `${ML} echo-message labeled-response`);
  const { irc: bob } = await capClient(server, "bob", ML);
  const { irc: carol } = await capClient(server, "carol", "message-tags batch server-time");
  try {
    for (const c of [alice, bob, carol]) await join(c, "#test");
    await alice.send(
      "@label=xyz BATCH +123 draft/multiline #test",
      "@batch=123 PRIVMSG #test :",
      "@batch=123 PRIVMSG #test :#how is ",
      "@batch=123;draft/multiline-concat PRIVMSG #test :everyone?",
      "BATCH -123",
    );
    const start = await bob.expect(/ BATCH \+/);
    const msgid = /msgid=(\d+)/.exec(start)?.[1];
    assert.match(await bob.expect(/PRIVMSG/), /PRIVMSG #test :$/);
    assert.match(await bob.expect(/PRIVMSG/), /PRIVMSG #test :#how is $/);
    assert.match(
      await bob.expect(/PRIVMSG/),
      /;draft\/multiline-concat .*PRIVMSG #test :?everyone\?$/,
    );
    await bob.expect(/ BATCH -/);

    const first = await carol.expect(/PRIVMSG/);
    assert.match(first, new RegExp(`msgid=${msgid}[; ].*PRIVMSG #test :#how is $`));
    const second = await carol.expect(/PRIVMSG/);
    assert.match(second, /PRIVMSG #test :?everyone\?$/);
    assert.doesNotMatch(second, /msgid|multiline-concat/);

    // The echo: the batch again, its opening line labeled (irctest testBasic).
    const echo = await alice.expect(/ BATCH \+/);
    assert.match(echo, /^@(?:\S*;)?label=xyz[; ]/);
    assert.match(echo, new RegExp(`msgid=${msgid}[; ]`));
  } finally {
    for (const c of [alice, bob, carol]) c.close();
    await server.shutdown();
  }
});

Deno.test("IRC multiline: concat joins follow the text rules (a removed bidi override), in rooms and DMs", async () => {
  const server = ircServer();
  const { irc: alice } = await capClient(server, "alice", ML);
  const { irc: mel } = await capClient(server, "mel", ML);
  const json = await JsonClient.login(server, "jo");
  try {
    await join(alice, "#lobby");
    await json.expect("join");
    // "a\u202eb" + "cd" → the core removes U+202E: "abcd", joined at 2 (not 3).
    await alice.send(
      "BATCH +r draft/multiline #lobby",
      "@batch=r PRIVMSG #lobby :a\u202eb",
      "@batch=r;draft/multiline-concat PRIVMSG #lobby :cd",
      "BATCH -r",
    );
    const msg = await json.expect("msg");
    assert.deepEqual([msg.text, msg.breaks], ["abcd", [2]]);

    await alice.send(
      "BATCH +d draft/multiline mel",
      "@batch=d PRIVMSG mel :x\u202ey",
      "@batch=d;draft/multiline-concat PRIVMSG mel :z",
      "BATCH -d",
    );
    await mel.expect(/ BATCH \+/);
    assert.match(await mel.expect(/PRIVMSG/), /^@batch=\S+ :alice!\S+ PRIVMSG mel :?xy$/);
    assert.match(
      await mel.expect(/PRIVMSG/),
      /^@batch=\S+;draft\/multiline-concat :alice!\S+ PRIVMSG mel :?z$/,
    );
    await mel.expect(/ BATCH -/);
  } finally {
    alice.close();
    mel.close();
    json.close();
    await server.shutdown();
  }
});
