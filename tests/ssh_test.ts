/**
 * The SSH front end with the real OpenSSH client: chatting over SSH beside netcat and NDJSON
 * users, piped sessions, refusals (exec, sftp, forwarding), registered keys, authentication limits
 * and the door's caps.
 */

import assert from "node:assert/strict";
import {
  SSH_MAX_AUTH_ATTEMPTS,
  SSH_MAX_AUTH_FAILURES_PER_ADDRESS,
  SSH_MAX_REFUSALS,
} from "../config/ssh_limits.ts";
import { command, eventually, JsonClient, LineSocket, within } from "./helpers/wire.ts";
import {
  askpass,
  KEYBOARD_ONLY,
  makeKey,
  run,
  ssh,
  sshOptions,
  SshProcess,
  sshServer,
  type TestKey,
} from "./helpers/ssh.ts";

/** Runs `body` with a temp dir for keys; removes it after. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-ssh-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads frames until a message from `from`; returns its text. */
async function messageFrom(client: JsonClient, from: string): Promise<string> {
  while (true) {
    const frame = await client.expect("msg", 10_000);
    if (frame.from === from) return frame.text;
  }
}

Deno.test("ssh: an SSH user and a netcat user chat in the same room", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer();
    const nc = await LineSocket.connect(server);
    const alice = new SshProcess(server.sshPort, "alice", [key]);
    try {
      await nc.write("bob\n");
      await nc.readUntilText("/quit leaves.\r\n");
      await alice.waitFor(/Welcome to sockchat, alice/);
      await alice.line("hello from ssh");
      await nc.readUntilText("hello from ssh");
      await nc.write("hi from netcat\n");
      await alice.waitFor(/bob.*hi from netcat/);
      assert.equal(await alice.end(), 0);
    } finally {
      await alice.kill();
      nc.close();
      await server.shutdown();
    }
  });
});

Deno.test("ssh: a piped `ssh -T` sends every line and exits 0", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer();
    const watcher = await JsonClient.login(server, "watcher");
    try {
      const result = await ssh(server.sshPort, "alice", {
        keys: [key],
        args: ["-T"],
        stdin: "one\ntwo\n",
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await messageFrom(watcher, "alice"), "one");
      assert.equal(await messageFrom(watcher, "alice"), "two");
    } finally {
      watcher.close();
      await server.shutdown();
    }
  });
});

Deno.test("ssh: exec and sftp are refused with a message and a non-zero exit, within 10 s", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer();
    try {
      const started = performance.now();
      const exec = await ssh(server.sshPort, "alice", { keys: [key], command: ["ls", "/"] });
      assert.notEqual(exec.code, 0);
      assert.match(exec.stderr, /this server is a chat and runs no commands/);
      const sftp = await run("sftp", [
        ...sshOptions(server.sshPort, [key]).filter((arg) => arg !== "-p" && !/^\d+$/.test(arg)),
        "-P",
        String(server.sshPort),
        "-b",
        "-",
        "alice@127.0.0.1",
      ], { stdin: "ls\n" });
      assert.notEqual(sftp.code, 0);
      assert.match(sftp.stderr, /sftp.*not available|Connection closed/);
      assert.ok(performance.now() - started < 10_000, "refusals take under 10 s");
      // Nobody logged in on the way.
      assert.equal(server.hub.userCount, 0);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("ssh: -L and -R forwarding are refused, and a connection with no chat is closed within 10 s", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer();
    try {
      // -R: the server refuses the forward; ExitOnForwardFailure makes ssh say so and exit.
      const remote = await ssh(server.sshPort, "alice", {
        keys: [key],
        args: ["-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"],
      });
      assert.notEqual(remote.code, 0);
      assert.match(remote.stderr, /remote port forwarding failed/);

      // -L: ssh listens locally; a connection through it is refused by the server.
      const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const localPort = (probe.addr as Deno.NetAddr).port;
      probe.close();
      const started = performance.now();
      const forward = new SshProcess(server.sshPort, "alice", [key], [
        "-o",
        "LogLevel=INFO",
        "-N",
        "-L",
        `${localPort}:127.0.0.1:${server.addr.port}`,
      ]);
      try {
        const through = await within(
          (async () => {
            while (true) {
              try {
                return await Deno.connect({ hostname: "127.0.0.1", port: localPort });
              } catch {
                await new Promise((resolve) => setTimeout(resolve, 50));
              }
            }
          })(),
          "ssh -L to listen",
          10_000,
        );
        const socket = new LineSocket(through);
        // Nothing of the chat port comes through: the channel was refused.
        assert.equal(await socket.readLine("the forwarded connection to end"), null);
        socket.close();
        const code = await forward.end();
        assert.notEqual(code, 0);
        assert.match(forward.stderr, /administratively prohibited/);
        assert.ok(performance.now() - started < 12_000, "ssh -N ends within the session wait");
      } finally {
        await forward.kill();
      }
    } finally {
      await server.shutdown();
    }
  });
});

/** Registers `nick` to `key` over SSH (`/register` binds the nick to the session's key). */
async function register(port: number, nick: string, key: TestKey): Promise<void> {
  const result = await ssh(port, nick, { keys: [key], args: ["-T"], stdin: "/register\n" });
  assert.equal(result.code, 0, result.stderr);
}

Deno.test("ssh: a nick registered to a key is refused to another key at authentication", async () => {
  await withDir(async (dir) => {
    const owner = await makeKey(dir, "owner");
    const other = await makeKey(dir, "other");
    const server = sshServer();
    try {
      await register(server.sshPort, "alice", owner);
      assert.equal(server.hub.account("alice")?.fingerprint, owner.fingerprint);
      const refused = await ssh(server.sshPort, "alice", {
        keys: [other],
        args: ["-T"],
        stdin: "",
      });
      assert.equal(refused.code, 255);
      assert.match(refused.stderr, /Permission denied/);
      const watcher = await JsonClient.login(server, "watcher");
      try {
        const ok = await ssh(server.sshPort, "alice", {
          keys: [other, owner],
          args: ["-T"],
          stdin: "it is me\n",
        });
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(await messageFrom(watcher, "alice"), "it is me");
      } finally {
        watcher.close();
      }
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("ssh: refused authentications are limited per connection and per address", async () => {
  await withDir(async (dir) => {
    const owner = await makeKey(dir, "owner");
    const strangers: TestKey[] = [];
    for (let i = 0; i <= SSH_MAX_AUTH_ATTEMPTS; i++) strangers.push(await makeKey(dir, `k${i}`));
    const server = sshServer();
    try {
      await register(server.sshPort, "alice", owner);
      // One connection offering more wrong keys than it may, then the right one: cut off first.
      const cut = await ssh(server.sshPort, "alice", {
        keys: [...strangers, owner],
        args: ["-T"],
        stdin: "",
      });
      assert.equal(cut.code, 255);
      assert.equal(server.hub.userCount, 0);
      // Enough such connections lock the address out: even the right key is refused, and the
      // banner says why.
      const perConnection = SSH_MAX_AUTH_ATTEMPTS;
      let spent = perConnection;
      while (spent < SSH_MAX_AUTH_FAILURES_PER_ADDRESS) {
        await ssh(server.sshPort, "alice", { keys: strangers.slice(0, perConnection), stdin: "" });
        spent += perConnection;
      }
      const locked = await ssh(server.sshPort, "alice", {
        keys: [owner],
        args: ["-T", "-o", "LogLevel=INFO"],
        stdin: "",
      });
      assert.equal(locked.code, 255);
      assert.match(locked.stderr, /too many failed logins from your address; try again in \d+ s/);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("ssh: the door's caps apply: connections per address, and the handshake deadline", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer({ maxConnsPerIp: 1, handshakeTimeoutMs: 1500 });
    try {
      const holder = await Deno.connect({ hostname: "127.0.0.1", port: server.sshPort });
      const held = new LineSocket(holder);
      try {
        // The holder is in its SSH handshake: a login in progress, holding the address's slot.
        assert.match((await held.readLine("the SSH version line")) ?? "", /^SSH-2\.0-/);
        const refused = await ssh(server.sshPort, "alice", {
          keys: [key],
          args: ["-T"],
          stdin: "",
        });
        assert.equal(refused.code, 255);
        const raw = new LineSocket(
          await Deno.connect({ hostname: "127.0.0.1", port: server.sshPort }),
        );
        assert.match((await raw.readLine("the refusal")) ?? "", /^sockchat: Too many connections/);
        assert.equal(await raw.readLine("EOF after the refusal"), null);
        raw.close();
        // Silent past the handshake deadline: closed.
        await held.expectEof(5000);
      } finally {
        held.close();
      }
      const ok = await ssh(server.sshPort, "alice", { keys: [key], args: ["-T"], stdin: "" });
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("ssh: shutdown says goodbye to an SSH user, whose ssh exits, and the server finishes", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer();
    const alice = new SshProcess(server.sshPort, "alice", [key]);
    try {
      await alice.waitFor(/Welcome to sockchat, alice/);
      await within(server.shutdown(), "shutdown with an SSH user", 10_000);
      await alice.waitFor(/shutting down/);
      assert.notEqual(await within(alice.end(), "ssh to exit", 10_000), 255, alice.stderr);
    } finally {
      await alice.kill();
      await server.shutdown();
    }
  });
});

Deno.test("ssh: a client without a key joins as a guest by keyboard-interactive, asked the server password when there is one", async () => {
  await withDir(async (dir) => {
    const server = sshServer({ password: { matches: (c) => c === "letmein" } });
    const bob = new JsonClient(
      await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    );
    try {
      await bob.send({ type: "hello", v: 1, nick: "bob", password: "letmein" });
      await bob.expect("welcome");
      const right = await askpass(dir, { "Server password": "letmein" });
      const joined = await ssh(server.sshPort, "guest", {
        args: [...KEYBOARD_ONLY, "-T"],
        stdin: "hello as a guest\n",
        env: right.env,
      });
      assert.equal(joined.code, 0, joined.stderr);
      assert.equal(await messageFrom(bob, "guest"), "hello as a guest");
      // OpenSSH shows the prompt after "(nick@host) ".
      assert.deepEqual(await right.asked(), ["(guest@127.0.0.1) Server password: "]);

      const wrong = await askpass(dir, { "Server password": "nope" });
      const refused = await ssh(server.sshPort, "guest2", {
        args: [...KEYBOARD_ONLY, "-T"],
        stdin: "never said\n",
        env: wrong.env,
      });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /password/i);
    } finally {
      bob.close();
      await server.shutdown();
    }
  });
});

Deno.test("ssh: with --require-account a keyless guest is refused at authentication, saying why; a password account is asked its password", async () => {
  await withDir(async (dir) => {
    const server = sshServer({ requireAccount: true });
    try {
      const guest = await ssh(server.sshPort, "guest", {
        args: ["-o", "LogLevel=INFO", ...KEYBOARD_ONLY, "-T"],
        stdin: "",
        env: (await askpass(dir, {})).env,
      });
      assert.equal(guest.code, 255);
      assert.match(guest.stderr, /This server requires an account/);

      const alice = await JsonClient.login(server, "alice");
      const registered = await command(alice, "/register sesame-street");
      assert.notEqual(registered.type, "error", JSON.stringify(registered));
      alice.close();
      await eventually(() => server.hub.userCount === 0, "alice to leave");
      assert.equal(server.hub.account("alice")?.kind, "password");

      const right = await askpass(dir, { "Password for alice": "sesame-street" });
      const ok = await ssh(server.sshPort, "alice", {
        args: [...KEYBOARD_ONLY, "-T"],
        stdin: "/whois alice\n",
        env: right.env,
      });
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(await right.asked(), ["(alice@127.0.0.1) Password for alice: "]);
      assert.match(ok.stdout, /registered/i);

      const wrong = await askpass(dir, { "Password for alice": "not-the-one" });
      const refused = await ssh(server.sshPort, "alice", {
        args: [...KEYBOARD_ONLY, "-T"],
        stdin: "",
        env: wrong.env,
      });
      assert.notEqual(refused.code, 0);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("ssh: a second session on one connection (OpenSSH connection sharing) is refused with a message", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer();
    const control = `${dir}/ctl`;
    const master = new SshProcess(server.sshPort, "alice", [key], ["-M", "-S", control, "-T"]);
    try {
      await master.waitFor(/Welcome to sockchat, alice/);
      const second = await run("ssh", [
        "-S",
        control,
        "-T",
        ...sshOptions(server.sshPort),
        "alice@127.0.0.1",
      ], { stdin: "not from here\n" });
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /already has its chat; one chat per connection/);
      // The first chat goes on.
      const watcher = await JsonClient.login(server, "watcher");
      try {
        await master.line("and talking");
        assert.equal(await messageFrom(watcher, "alice"), "and talking");
      } finally {
        watcher.close();
      }
      assert.equal(await master.end(), 0, master.stderr);
    } finally {
      await master.kill();
      await server.shutdown();
    }
  });
});

Deno.test("ssh: SSH handshakes count as logins in progress server-wide, on every port", async () => {
  const server = sshServer({ maxPendingLogins: 1 });
  try {
    const holder = new LineSocket(
      await Deno.connect({ hostname: "127.0.0.1", port: server.sshPort }),
    );
    try {
      assert.match((await holder.readLine("the SSH version line")) ?? "", /^SSH-2\.0-/);
      // The native port's door sees the SSH handshake in progress and refuses.
      const native = await JsonClient.connect(server);
      assert.match((await native.readLine("the refusal")) ?? "", /too many logins in progress/);
      native.close();
    } finally {
      holder.close();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("ssh: a client that vanishes mid-chat is logged out at once", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer();
    const watcher = await JsonClient.login(server, "watcher");
    const alice = new SshProcess(server.sshPort, "alice", [key]);
    try {
      await alice.waitFor(/Welcome to sockchat, alice/);
      assert.equal((await watcher.expect("join")).nick, "alice");
      await alice.kill();
      const left = await watcher.expect("leave");
      assert.equal(left.nick, "alice");
      await eventually(() => server.connections.size === 1, "alice's peer to close");
    } finally {
      await alice.kill();
      watcher.close();
      await server.shutdown();
    }
  });
});

Deno.test("ssh: a key listed in --oper-keys makes its SSH user an operator at login; another key does not", async () => {
  await withDir(async (dir) => {
    const oper = await makeKey(dir, "oper");
    const plain = await makeKey(dir, "plain");
    const server = sshServer({ operKeys: new Set([oper.fingerprint]) });
    const boss = new SshProcess(server.sshPort, "boss", [oper]);
    const pleb = new SshProcess(server.sshPort, "pleb", [plain]);
    try {
      await boss.waitFor(/Welcome to sockchat, boss/);
      await pleb.waitFor(/Welcome to sockchat, pleb/);
      const operators = [...server.hub.users].filter((user) => user.operator).map((u) => u.nick);
      assert.deepEqual(operators, ["boss"]);
    } finally {
      await boss.kill();
      await pleb.kill();
      await server.shutdown();
    }
  });
});

Deno.test("ssh: a keyless client asking for a nick registered to a key is told it is registered (piped: exit 1)", async () => {
  await withDir(async (dir) => {
    const owner = await makeKey(dir, "owner");
    const server = sshServer();
    try {
      await register(server.sshPort, "alice", owner);
      const guest = await ssh(server.sshPort, "alice", {
        args: [...KEYBOARD_ONLY, "-T"],
        stdin: "not alice\n",
        env: (await askpass(dir, {})).env,
      });
      assert.equal(guest.code, 1, guest.stderr);
      assert.match(guest.stderr, /registered/);
      assert.equal(server.hub.userCount, 0);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("ssh: a connection making more refused requests than SSH_MAX_REFUSALS is disconnected", async () => {
  await withDir(async (dir) => {
    const key = await makeKey(dir, "alice");
    const server = sshServer();
    try {
      const forwards = Array.from(
        { length: SSH_MAX_REFUSALS + 1 },
        (_, i) => ["-R", `${20000 + i}:127.0.0.1:9`],
      ).flat();
      const started = performance.now();
      const result = await ssh(server.sshPort, "alice", { keys: [key], args: ["-N", ...forwards] });
      assert.equal(result.code, 255);
      // Cut off by the count, not by the 10 s wait for a chat.
      assert.ok(performance.now() - started < 5000, `took ${performance.now() - started} ms`);
    } finally {
      await server.shutdown();
    }
  });
});
