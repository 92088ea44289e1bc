/**
 * The SSH front end against clients that misbehave on purpose (issue 13 review): floods of
 * window-changes, of session channels, of keys, and logins that never finish. Driven with
 * `ssh2`'s own client, which can send what OpenSSH never would, or with OpenSSH where its
 * behaviour is the point.
 */

import assert from "node:assert/strict";
import { createDecipheriv, randomBytes } from "node:crypto";
import { finishPartialPacket } from "../transport/ssh/ssh2.ts";
import {
  SSH_MAX_KEY_QUERIES,
  SSH_MAX_REFUSALS,
  SSH_MAX_WINDOW_CHANGES,
  SSH_PTY_COLUMNS,
  SSH_PTY_ROWS,
} from "../config/ssh_limits.ts";
import { saneSize } from "../transport/ssh/session.ts";
import type { ChatServer } from "../server.ts";
import { command, JsonClient, within } from "./helpers/wire.ts";
import {
  askpass,
  KEYBOARD_INTERACTIVE,
  ssh,
  type Ssh2Client,
  ssh2Client,
  ssh2Shell,
  sshServer,
} from "./helpers/ssh.ts";

/** The longest round trip of `/who` for a native client while `busy` runs (sampled every 250 ms). */
async function worstRoundTrip(server: ChatServer, busy: Promise<unknown>): Promise<number> {
  const probe = await JsonClient.login(server, `probe${crypto.randomUUID().slice(0, 6)}`);
  let worst = 0;
  let done = false;
  busy.finally(() => (done = true));
  try {
    do {
      const started = performance.now();
      await command(probe, "/who");
      worst = Math.max(worst, performance.now() - started);
      // Spaced out, so the probe stays within the server's own command rate limit.
      await new Promise((resolve) => setTimeout(resolve, 250));
    } while (!done);
  } finally {
    probe.close();
  }
  return worst;
}

/** Rows of the SSH screen that a message's text was wrapped to (escape sequences removed). */
function rowsOf(screen: string, first: string, last: string): string[] {
  // deno-lint-ignore no-control-regex -- terminal escape sequences
  const plain = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  const start = plain.lastIndexOf(first);
  const end = plain.indexOf(last, start);
  assert.ok(start !== -1 && end !== -1, `the message on the screen: ${JSON.stringify(plain)}`);
  return plain.slice(start, end + last.length).split("\r\n");
}

/** Waits until `shell`'s screen matches `pattern`. */
async function screenShows(shell: { output(): string }, pattern: RegExp, what: string) {
  await within(
    (async () => {
      while (!pattern.test(shell.output())) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })(),
    what,
  );
}

/** What the tests need of an `ssh2` client to see its connection closed. */
interface Closable {
  on(event: "close", listener: () => void): unknown;
  end(): void;
}

/**
 * Runs `body` with a connected `client`; `closedByServer()` waits (10 s at most) for the server
 * to close the connection. After, whatever happens, the client is ended and its close awaited.
 */
async function whileConnected(
  client: Closable,
  body: (closedByServer: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const gone = new Promise<void>((resolve) => client.on("close", () => resolve()));
  try {
    await body(() => within(gone, "the connection to be closed", 10_000));
  } finally {
    client.end();
    await gone;
  }
}

/** An `ssh2` client driven by hand (auth and all); a misbehaving one, which the server ends. */
interface RawSsh2Client {
  on(event: string, listener: (...args: never[]) => void): unknown;
  end(): void;
  /** ssh2's internal wire protocol, to send what its API would not. */
  _protocol: { authPK(user: string, key: string): void };
}

/**
 * Connects an `ssh2` client as `mallory` whose authentication is `authHandler` alone (it may use
 * the returned client, once connected). The disconnect it is expected to get is no error.
 */
async function rawSsh2(
  port: number,
  authHandler: (left: unknown, partial: unknown, next: (auth: unknown) => void) => void,
): Promise<RawSsh2Client> {
  const ssh2 = (await import("ssh2")).default as unknown as {
    Client: new () => RawSsh2Client & { connect(options: Record<string, unknown>): void };
  };
  const client = new ssh2.Client();
  client.on("error", () => {}); // the disconnect
  client.connect({
    host: "127.0.0.1",
    port,
    username: "mallory",
    readyTimeout: 20_000,
    keepaliveInterval: 0,
    authHandler,
  });
  return client;
}

Deno.test("ssh abuse: a flood of window-changes costs other users no visible latency, and the chat ends at the last size", async () => {
  const server = sshServer();
  try {
    const client = await ssh2Client(server.sshPort, "alice");
    try {
      const shell = await ssh2Shell(client);
      const watcher = await JsonClient.login(server, "watcher");
      try {
        // alice is in the chat once her join is seen... and her screen is drawn.
        await screenShows(shell, /Welcome to sockchat/, "alice's welcome");
        // A long line being edited: every resize redraws it, at 1 column a row per character.
        shell.channel.write("y".repeat(3000));
        await within(
          (async () => {
            while ((shell.output().match(/y/g) ?? []).length < 3000) {
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          })(),
          "the typed line echoed",
        );
        let sent = 0;
        const flood = (async () => {
          // A narrow then wide terminal, again and again: each redraw is as costly as can be.
          for (; sent < SSH_MAX_WINDOW_CHANGES - 1; sent++) {
            shell.channel.setWindow(24, sent % 2 === 0 ? 1 : 300, 0, 0);
            if (sent % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
          }
          shell.channel.setWindow(24, 40, 0, 0);
          sent++;
        })();
        // Sampled during the flood and for a while after, while the server works through it.
        const worst = await worstRoundTrip(
          server,
          flood.then(() => new Promise((resolve) => setTimeout(resolve, 1000))),
        );
        assert.ok(worst < 500, `a native round trip took ${worst.toFixed(0)} ms during the flood`);
        // The last size (40 columns) is the one the chat is drawn at.
        const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(" ");
        await watcher.send({ type: "msg", room: "#lobby", text: words });
        await screenShows(shell, /w29/, "the message on alice's screen");
        const rows = rowsOf(shell.output(), "w0", "w29");
        assert.ok(rows.length > 1, `wrapped: ${JSON.stringify(rows)}`);
        for (const row of rows) assert.ok(row.length <= 40, `a row wider than 40: ${row}`);
        assert.ok(
          rows.some((row) => row.length > 30),
          `rows as wide as 40: ${JSON.stringify(rows)}`,
        );
      } finally {
        watcher.close();
      }
    } finally {
      client.end();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("ssh abuse: a connection sending more than SSH_MAX_WINDOW_CHANGES window-changes is disconnected", async () => {
  const server = sshServer();
  try {
    const client = await ssh2Client(server.sshPort, "alice");
    await whileConnected(client, async (closedByServer) => {
      const shell = await ssh2Shell(client);
      for (let i = 0; i <= SSH_MAX_WINDOW_CHANGES + 10; i++) {
        shell.channel.setWindow(24, 80 + (i % 2), 0, 0);
      }
      await closedByServer();
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("ssh abuse: terminal sizes are clamped to SSH_PTY_COLUMNS and SSH_PTY_ROWS; 0 stays unknown", () => {
  assert.deepEqual(saneSize(1, 1), { columns: SSH_PTY_COLUMNS.min, rows: SSH_PTY_ROWS.min });
  assert.deepEqual(saneSize(100_000, 100_000), {
    columns: SSH_PTY_COLUMNS.max,
    rows: SSH_PTY_ROWS.max,
  });
  assert.deepEqual(saneSize(0, 0), { columns: 0, rows: 0 });
  assert.deepEqual(saneSize(132, 43), { columns: 132, rows: 43 });
});

Deno.test(`ssh abuse: session channels past the chat's are refused and counted; past SSH_MAX_REFUSALS (${SSH_MAX_REFUSALS}) the connection is closed`, async () => {
  const server = sshServer();
  try {
    const client = await ssh2Client(server.sshPort, "mallory");
    await whileConnected(client, async (closedByServer) => {
      await ssh2Shell(client);
      // ssh2's client opens a bare session channel only through its internals: what a hostile
      // client sends is a channel-open, and nothing after it.
      const internals = client as unknown as {
        _chanMgr: { add(cb: (error?: Error) => void): number };
        _protocol: { session(id: number, window: number, packet: number): void };
      };
      let accepted = 0;
      let refused = 0;
      const asked = 500;
      for (let i = 0; i < asked; i++) {
        const id = internals._chanMgr.add((error) => error === undefined ? accepted++ : refused++);
        if (id === -1) break;
        internals._protocol.session(id, 2 * 1024 * 1024, 32 * 1024);
      }
      await closedByServer();
      // One more channel (the one told "one chat per connection") was let in; the rest were
      // refused (the client fails those still waiting when the connection closes).
      assert.ok(accepted <= 1, `${accepted} channels accepted`);
      assert.equal(accepted + refused, asked);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("ssh abuse: a chat left at the Nickname: question is closed at the handshake timeout, saying why; a logged-in chat is not", async () => {
  const handshakeTimeoutMs = 3000;
  const server = sshServer({ handshakeTimeoutMs });
  try {
    const alice = await ssh2Client(server.sshPort, "alice");
    const aliceGone = new Promise<void>((resolve) => alice.on("close", () => resolve()));
    let squatter: Ssh2Client | null = null;
    let squatterGone = Promise.resolve();
    try {
      const aliceShell = await ssh2Shell(alice);
      await screenShows(aliceShell, /Welcome to sockchat, alice/, "alice's welcome");
      const connecting = performance.now();
      squatter = await ssh2Client(server.sshPort, "bad nick!");
      const closing = squatter;
      squatterGone = new Promise<void>((resolve) => closing.on("close", () => resolve()));
      const shell = await ssh2Shell(squatter);
      let errors = "";
      shell.channel.stderr.on("data", (data) => (errors += new TextDecoder().decode(data)));
      await screenShows(
        shell,
        /Nickname: /,
        `the Nickname: question (screen: ${JSON.stringify(shell.output())}, stderr: ${errors})`,
      );
      await within(squatterGone, "the squatter to be closed", handshakeTimeoutMs + 5000);
      const waited = performance.now() - connecting;
      assert.ok(waited >= handshakeTimeoutMs - 50, `closed after ${waited.toFixed(0)} ms`);
      assert.match(errors, /no login within 3 s/);
      // alice logged in long before: her chat goes on past the deadline.
      let aliceClosed = false;
      void aliceGone.then(() => (aliceClosed = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(aliceClosed, false);
      assert.equal(server.hub.userCount, 1);
    } finally {
      alice.end();
      squatter?.end();
      await Promise.all([aliceGone, squatterGone]);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test(`ssh abuse: publickey queries without a signature are counted; past SSH_MAX_KEY_QUERIES (${SSH_MAX_KEY_QUERIES}) the connection is closed`, async () => {
  const server = sshServer();
  try {
    const { utils } = (await import("ssh2")).default as unknown as {
      utils: { generateKeyPairSync(type: "ed25519"): { public: string } };
    };
    const key = utils.generateKeyPairSync("ed25519").public;
    let handlerCalls = 0;
    // First "none" (which lists the methods); then, instead of choosing a method, the same key
    // is asked about again and again and never signed for.
    const client = await rawSsh2(server.sshPort, (_left, _partial, next) => {
      if (handlerCalls++ === 0) {
        next({ type: "none", username: "mallory" });
        return;
      }
      for (let i = 0; i < 100; i++) client._protocol.authPK("mallory", key);
    });
    await whileConnected(client, async (closedByServer) => {
      await closedByServer();
      assert.equal(server.hub.userCount, 0);
    });
  } finally {
    await server.shutdown();
  }
});

/**
 * A flooding SSH client in a process of its own, so that its own work (encrypting the flood,
 * decrypting the redraws) does not count as the server's: logs in as `nick` with a pty of
 * `columns`, runs the JavaScript statements `flood` (with `shell`, the ssh2 channel, and
 * `pause()`, a turn of the event loop) once the prompt shows, says "sent", and stays until killed.
 */
function floodingClient(port: number, nick: string, columns: number, flood: string) {
  const script = `
    import ssh2 from "npm:ssh2@1.17.0";
    const client = new ssh2.Client();
    client.on("keyboard-interactive", (_n, _i, _l, prompts, finish) => finish(prompts.map(() => "")));
    client.on("error", () => Deno.exit(3));
    client.on("ready", () => client.shell({ term: "xterm", cols: ${columns}, rows: 24 }, (error, shell) => {
      if (error) Deno.exit(4);
      let screen = "";
      let sent = false;
      shell.on("data", async (data) => {
        if (sent) return;
        screen += data;
        if (!screen.includes(${JSON.stringify(`${nick}> `)})) return;
        sent = true;
        const pause = () => new Promise((resolve) => setTimeout(resolve, 0));
        ${flood}
        console.log("sent");
      });
    }));
    client.connect({ host: "127.0.0.1", port: ${port}, username: ${JSON.stringify(nick)},
      tryKeyboard: true, keepaliveInterval: 0 });
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const sent = (async () => {
    let out = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      if (out.includes("sent")) return;
    }
    throw new Error("the flooding client ended before it had sent its flood");
  })();
  return {
    sent,
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      await sent.catch(() => {});
    },
  };
}

Deno.test("ssh abuse: a flood of keys does not delay a native client's round trip, and a 20 KiB paste still arrives whole as one message", async () => {
  const server = sshServer();
  try {
    const carol = await ssh2Client(server.sshPort, "carol");
    const carolGone = new Promise<void>((resolve) => carol.on("close", () => resolve()));
    const watcher = await JsonClient.login(server, "watcher");
    // A long line, then Ctrl-U (cut it) and Ctrl-Y (put it back) again and again: each key
    // redraws the whole line, among the costliest keys there are. 100 KB of them.
    const mallory = floodingClient(
      server.sshPort,
      "mallory",
      20,
      `const keys = "y".repeat(4000) + "\\x15\\x19".repeat(50000);
      for (let at = 0; at < keys.length; at += 16384) {
        shell.write(keys.slice(at, at + 16384));
        await pause();
      }`,
    );
    try {
      // Sampled from before the flood until well after it was sent.
      const worst = await worstRoundTrip(
        server,
        within(mallory.sent, "the flood to be sent", 20_000)
          .then(() => new Promise((resolve) => setTimeout(resolve, 3000))),
      );
      assert.ok(worst < 500, `a native round trip took ${worst.toFixed(0)} ms during the flood`);

      // A paste well above what is typed is let in whole, at once, as one message.
      const pasting = await ssh2Shell(carol);
      await screenShows(pasting, /Welcome to sockchat, carol/, "carol's welcome");
      const text = Array.from({ length: 2048 }, (_, i) => `w${String(i).padStart(8, "0")}`)
        .join(" ").slice(0, 20 * 1024);
      pasting.channel.write(`\x1b[200~${text}\x1b[201~\r`);
      while (true) {
        const frame = await watcher.expect("msg", 10_000);
        if (frame.from !== "carol") continue;
        assert.equal(frame.text.length, text.length);
        assert.equal(frame.text, text);
        break;
      }
    } finally {
      watcher.close();
      await mallory.kill();
      carol.end();
      await carolGone;
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("ssh abuse: with --require-account, a keyless OpenSSH client is told why once, not at each of its keyboard-interactive retries", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-ssh-" });
  const server = sshServer({ requireAccount: true });
  try {
    const guest = await ssh(server.sshPort, "guest", {
      // OpenSSH's own default of three keyboard-interactive tries (NumberOfPasswordPrompts=3).
      args: ["-o", "LogLevel=INFO", ...KEYBOARD_INTERACTIVE, "-T"],
      stdin: "",
      env: (await askpass(dir, {})).env,
    });
    assert.equal(guest.code, 255);
    const told = guest.stderr.match(/This server requires an account/g) ?? [];
    assert.equal(told.length, 1, guest.stderr);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(`ssh abuse: "none" authentication requests are counted with key queries; past SSH_MAX_KEY_QUERIES the connection is closed`, async () => {
  const server = sshServer();
  try {
    // "none", again and again: each is refused with the list of methods, and asked again.
    const client = await rawSsh2(
      server.sshPort,
      (_left, _partial, next) => next({ type: "none", username: "mallory" }),
    );
    await whileConnected(client, (closedByServer) => closedByServer());
  } finally {
    await server.shutdown();
  }
});

Deno.test("ssh abuse: a connection cut mid-packet leaves no node:crypto decipher open (the sanitizer sees none)", () => {
  // What ssh2's AES-GCM decipher holds when the socket closes before a packet's tag arrives.
  const instance = createDecipheriv("aes-128-gcm", randomBytes(16), randomBytes(12));
  instance.setAAD(new Uint8Array(4));
  instance.update(new Uint8Array(32));
  const connection = { _protocol: { _decipher: { _decipherInstance: instance } } };
  finishPartialPacket(connection);
  assert.equal(connection._protocol._decipher._decipherInstance, null);
  // Twice, or with nothing part-read, is harmless.
  finishPartialPacket(connection);
  finishPartialPacket({});
  finishPartialPacket(null);
});
