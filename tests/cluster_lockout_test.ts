/**
 * Cluster mode and the per-address secret lockouts (security review of issue 16, finding 6 / fix
 * 4): wrong account passwords, server passwords and /oper secrets count in Redis as well as on
 * the node, so an address locked out on one node is locked out on the others (a sync check lets
 * at most one more guess through per other node; the account password, checked before hashing,
 * none); with Redis away each node counts alone and says so. Registrations per address count on
 * every node alike. And the cluster-wide login rate
 * (finding 7 / fix 9): a sliding window on Redis's clock, so a burst across a window boundary
 * counts in full.
 */

import assert from "node:assert/strict";
import { MAX_AUTH_FAILURES } from "../config/limits.ts";
import { MAX_REGISTRATIONS_PER_ADDRESS } from "../config/security_limits.ts";
import { RedisConn } from "../cluster/redis_conn.ts";
import { Lockout, MemoryCounter, shareLockouts } from "../core/lockout.ts";
import { RedisSharedCounter } from "../cluster/shared_counter.ts";
import { type Cluster, helloAt, loginAt, withCluster } from "./helpers/cluster.ts";
import { startRedis } from "./helpers/redis.ts";
import { command, eventually } from "./helpers/wire.ts";

/** The operator secret and server password every node is given. */
const OPER = "oper-secret-for-the-cluster";
const PASS = "server-password-for-the-cluster";

/** Nodes with an operator secret and a server password. */
const SECRETS = {
  files: { oper: OPER, pass: PASS },
  node: { extra: ["--oper-file", "@DIR@/oper", "--password-file", "@DIR@/pass"] },
};

/** The first answer to a hello (the connection is closed after). */
async function answerTo(port: number, nick: string, fields: Record<string, unknown>) {
  const { client, frame } = await helloAt(port, nick, fields);
  client.close();
  return frame;
}

/** The text of an answer frame (error message or info text), for matching. */
function said(frame: unknown): string {
  return JSON.stringify(frame);
}

Deno.test("cluster lockout: wrong account passwords on A lock the address out on B at once, even for the right password", async () => {
  await withCluster({ nodes: 2 }, async ({ nodes: [a, b] }) => {
    const erin = await loginAt(a.port, "erin");
    assert.match(said(await command(erin, "/register correct-horse-battery")), /egistered/);
    await erin.send({ type: "quit" });
    await erin.expectEof();
    erin.close();
    // B knows the account once a hello without its password is told it needs one.
    for (let tries = 0;; tries++) {
      const frame = await answerTo(b.port, "erin", {});
      if (said(frame).includes('"need":"password"')) break;
      assert.ok(tries < 100, `B never learnt erin's account: ${said(frame)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (let i = 1; i <= MAX_AUTH_FAILURES; i++) {
      const frame = await answerTo(a.port, "erin", { accountPassword: `wrong-${i}` });
      assert.match(said(frame), /bad_account_password/, said(frame));
    }
    const onB = await answerTo(b.port, "erin", { accountPassword: "correct-horse-battery" });
    assert.match(said(onB), /Too many wrong account passwords/, `B: ${said(onB)}`);
  });
});

/**
 * Logs in as `nick` on `port`, sends `/oper secret` and returns the answer's text (a fresh
 * connection each time: a connection is closed after a few wrong secrets of its own).
 */
async function oper(port: number, nick: string, secret: string): Promise<string> {
  const client = await loginAt(port, nick, { password: PASS });
  try {
    return said(await command(client, `/oper ${secret}`));
  } finally {
    client.close();
  }
}

Deno.test("cluster lockout: /oper and the server password locked out on A are locked out on B by the next guess (the right secret refused)", async () => {
  await withCluster({ nodes: 2, ...SECRETS }, async ({ nodes: [a, b] }) => {
    // /oper
    for (let i = 1; i <= MAX_AUTH_FAILURES; i++) {
      assert.match(await oper(a.port, `m${i}`, `wrong-${i}`), /Wrong operator secret/);
    }
    assert.match(await oper(a.port, "m0", OPER), /Too many wrong operator secrets/);
    // B may check one more guess before it has learnt the count; never more.
    assert.match(await oper(b.port, "n1", "wrong-on-b"), /Wrong operator secret|Too many/);
    assert.match(await oper(b.port, "n2", OPER), /Too many wrong operator secrets/, "locked on B");

    // The server password: the same.
    for (let i = 1; i <= MAX_AUTH_FAILURES; i++) {
      assert.match(
        said(await answerTo(a.port, `p${i}`, { password: `wrong-${i}` })),
        /Wrong password/,
      );
    }
    assert.match(
      said(await answerTo(b.port, "q1", { password: "wrong-b" })),
      /Wrong password|Too many/,
    );
    const right = await answerTo(b.port, "q2", { password: PASS });
    assert.match(said(right), /Too many wrong passwords/, `B: ${said(right)}`);
  });
});

Deno.test("cluster registrations: an address that registered MAX_REGISTRATIONS_PER_ADDRESS nicks on A is refused the next on B", async () => {
  await withCluster({ nodes: 2 }, async ({ nodes: [a, b] }) => {
    for (let i = 1; i <= MAX_REGISTRATIONS_PER_ADDRESS; i++) {
      const user = await loginAt(a.port, `reg${i}`);
      try {
        assert.match(said(await command(user, "/register correct-horse-battery")), /egistered/);
      } finally {
        user.close();
      }
    }
    const onB = await loginAt(b.port, "another");
    try {
      const answer = said(await command(onB, "/register correct-horse-battery"));
      assert.match(answer, /registered \d+ nicks this hour/, `B: ${answer}`);
    } finally {
      onB.close();
    }
  });
});

Deno.test("cluster lockout: with Redis away a node counts alone (locks out after MAX_AUTH_FAILURES) and logs that it does", async () => {
  await withCluster({ nodes: 1, ...SECRETS }, async (cluster: Cluster) => {
    const [a] = cluster.nodes;
    const users = await Promise.all(
      Array.from(
        { length: MAX_AUTH_FAILURES },
        (_, i) => loginAt(a.port, `u${i}`, { password: PASS }),
      ),
    );
    await cluster.redis.kill9();
    try {
      // Logins need Redis (nick claims): the guesses come from users already in.
      for (let i = 1; i <= MAX_AUTH_FAILURES; i++) {
        assert.match(await command(users[i - 1], `/oper wrong-${i}`).then(said), /Wrong operator/);
      }
      assert.match(await command(users[0], `/oper ${OPER}`).then(said), /Too many wrong operator/);
      await eventually(() => a.log.includes("shared_counts_local_only"), "the log says so");
    } finally {
      for (const user of users) user.close();
      await cluster.redis.restart();
    }
  });
});

Deno.test("Lockout with a shared counter (two nodes in one process): the other node refuses by the next guess, or at once with lockedForShared; none shared: each alone", async () => {
  const options = { maxFailures: 3, lockoutMs: 60_000, maxTracked: 100, kind: "ssh" } as const;
  const address = "2001:db8:1:2::7";
  const now = 1_000_000;
  const alone = [new Lockout(options), new Lockout(options)];
  for (let i = 0; i < 3; i++) alone[0].failed(address, now);
  assert.ok(alone[0].lockedFor(address, now) > 0);
  assert.equal(alone[1].lockedFor(address, now), 0, "nothing shared: the other node counts alone");

  shareLockouts(new MemoryCounter(() => now));
  try {
    const [a, b, c] = [new Lockout(options), new Lockout(options), new Lockout(options)];
    for (let i = 0; i < 3; i++) a.failed("2001:db8:1:2::1", now); // the same /64
    await Promise.resolve(); // the counts reach the counter
    assert.equal(await b.lockedForShared(address, now), 60, "asked: locked out at once");
    assert.equal(c.lockedFor(address, now), 0, "not yet learnt: one more check");
    c.failed(address, now);
    await Promise.resolve();
    assert.equal(c.lockedFor(address, now), 60, "learnt from its own wrong guess's count");
    assert.equal(c.lockedFor(address, now + 60_000), 0, "the lockout ends on time");
    assert.equal(new Lockout({ ...options, kind: undefined }).lockedFor(address, now), 0);
  } finally {
    shareLockouts(null);
  }
});

Deno.test("MemoryCounter: addresses whose logins left the window and lapsed counts are swept out, so the maps stay bounded", async () => {
  let now = 1_000_000;
  const counter = new MemoryCounter(() => now, 60_000);
  for (let i = 0; i < 100; i++) {
    await counter.loginRate(`192.0.2.${i}`);
    await counter.add("oper", `192.0.2.${i}`, 1000, "last");
  }
  assert.equal(counter.size, 200);
  now += 60_001;
  assert.equal(await counter.loginRate("198.51.100.1"), 1);
  assert.equal(counter.size, 1, "only the address just seen is left");
  assert.equal((await counter.peek("oper", "192.0.2.1")).count, 0);
});

Deno.test("cluster login rate: a sliding window on Redis's clock, so logins just before a window boundary still count just after it", async () => {
  await using redis = await startRedis();
  const conn = await RedisConn.open(redis.url);
  try {
    const windowMs = 2000;
    const counter = new RedisSharedCounter(conn, { rateWindowMs: windowMs });
    const redisNow = async () => {
      const [seconds, micros] = (await conn.command(["TIME"])) as string[];
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    };
    // Start early in a window, so the burst and the boundary fall where the test says.
    while ((await redisNow()) % windowMs > windowMs / 4) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const burstWindow = Math.floor((await redisNow()) / windowMs);
    for (let i = 1; i <= 5; i++) assert.equal(await counter.loginRate("192.0.2.9"), i);
    assert.equal(await counter.loginRate("192.0.2.10"), 1, "per address");
    // Just after the boundary (Redis's clock): a fixed window would start again at 1.
    while (Math.floor((await redisNow()) / windowMs) === burstWindow) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const after = await counter.loginRate("192.0.2.9");
    assert.ok(after >= 1 + Math.floor(5 * 0.75), `the previous window still counts: ${after}`);
  } finally {
    conn.close();
  }
});
