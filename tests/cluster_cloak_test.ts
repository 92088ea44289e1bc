/**
 * Cluster mode and cloaks (security review of issue 16, finding 1): every node cloaks a user
 * under the one key the cluster keeps in Redis (`sc:cloakkey`), so WHOIS shows one cloak on
 * every node, a room ban by cloak set on one node refuses the user on another, a node
 * restarted keeps cloaking as before, and so does a node started after Redis came back empty.
 */

import assert from "node:assert/strict";
import { redisCli, serverAt, withCluster } from "./helpers/cluster.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { within } from "./helpers/wire.ts";

/** The host field of a 311 (WHOIS user) reply: `:srv 311 me nick ~ident HOST * :real`. */
function whoisHost(line: string): string {
  return line.split(" ")[5];
}

Deno.test("cluster cloaks: one cloak per user on every node; a +b by cloak set on B refuses the user's JOIN on A", async () => {
  await withCluster({ nodes: 2, node: { irc: true } }, async ({ nodes: [a, b], redis }) => {
    const bob = await RawIrcClient.login(serverAt(b.ports), "bob");
    const alice = await RawIrcClient.login(serverAt(a.ports), "alice");
    let cloak = "";
    try {
      await bob.send("JOIN #s");
      await bob.expect(/ 366 bob #s /);
      await alice.send("JOIN #s");
      await alice.expect(/ 366 alice #s /);
      // B sees alice arrive under B's cloak for her; A shows her her own.
      const joined = await bob.expect(/^:alice!\S+ JOIN #s/);
      const onB = joined.slice(joined.indexOf("@") + 1, joined.indexOf(" "));
      await alice.send("WHOIS alice");
      const onA = whoisHost(await alice.expect(/ 311 alice alice /));
      await bob.send("WHOIS alice");
      assert.equal(whoisHost(await bob.expect(/ 311 bob alice /)), onA, "WHOIS on B = on A");
      assert.equal(onB, onA, "one cloak for alice on both nodes");
      assert.match(onA, /^[0-9a-f]{10}\.sc$/);
      cloak = onA;
      assert.equal(typeof await redisCli(redis.port, "GET", "sc:cloakkey"), "string");

      await bob.send(`MODE #s +b *!*@${onB}`);
      await bob.expect(/ MODE #s \+b /);
      await alice.expect(/ MODE #s \+b /); // the ban reached A
      await alice.send("PART #s");
      await alice.expect(/^:alice!\S+ PART #s/);
      await alice.send("JOIN #s");
      const answer = await alice.expect(/ (?:366|474) alice #s /);
      assert.match(answer, / 474 alice #s /, "banned by cloak on A too");
    } finally {
      alice.close();
      bob.close();
    }

    // A node restarted cloaks as before (the key lives in Redis, not in the process).
    await a.stop();
    await a.restart();
    const again = await RawIrcClient.login(serverAt(a.ports), "alice");
    try {
      await again.send("WHOIS alice");
      const line = await again.expect(/ 311 alice alice /);
      assert.equal(whoisHost(line), cloak, "the same cloak after A restarted");
      const carol = await RawIrcClient.login(serverAt(b.ports), "carol");
      try {
        await carol.send("WHOIS alice");
        assert.equal(whoisHost(await carol.expect(/ 311 carol alice /)), whoisHost(line));
      } finally {
        carol.close();
      }
    } finally {
      again.close();
    }
  });
});

Deno.test("cluster cloaks: after Redis comes back empty, the running node offers its key again, so a node started afterwards cloaks alike", async () => {
  await withCluster({ nodes: 1, node: { irc: true } }, async (cluster) => {
    const [a] = cluster.nodes;
    const alice = await RawIrcClient.login(serverAt(a.ports), "alice");
    try {
      await alice.send("WHOIS alice");
      const cloak = whoisHost(await alice.expect(/ 311 alice alice /));
      const key = await redisCli(cluster.redis.port, "GET", "sc:cloakkey");
      await cluster.redis.restart({ keepData: false });
      // A sees the new epoch (its lease and ids are gone) and offers the key it has.
      await within(
        (async () => {
          while (await redisCli(cluster.redis.port, "GET", "sc:cloakkey") === null) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })(),
        "the running node to offer its cloak key again",
        30_000,
      );
      assert.equal(await redisCli(cluster.redis.port, "GET", "sc:cloakkey"), key, "the same key");
      const c = await cluster.addNode();
      const carol = await RawIrcClient.login(serverAt(c.ports), "carol");
      try {
        await carol.send("WHOIS alice");
        assert.equal(whoisHost(await carol.expect(/ 311 carol alice /, 30_000)), cloak);
      } finally {
        carol.close();
      }
    } finally {
      alice.close();
    }
  });
});
