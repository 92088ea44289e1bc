/**
 * Cluster mode end to end (issue 16, "done when"): two nodes behind a real HAProxy act as one
 * chat for every front end. Users of NDJSON, netcat, IRC, WebSocket and SSH come in through
 * HAProxy (PROXY protocol v2 to the nodes), two per front end, so that `balance leastconn` puts
 * one on each node (the nodes' login logs show where each landed, and the test asserts it); one
 * NDJSON user sits on each node directly, so every message is seen on the node that did not
 * take its author, and every proxied user hears every other, both ways between the nodes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { plainLogin } from "./helpers/wire.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { WsClient } from "./helpers/web.ts";
import { makeKey, SshProcess } from "./helpers/ssh.ts";
import {
  type ClusterNode,
  collect,
  joinsOf,
  loginAt,
  PROXY_SOURCE,
  serverAt,
  startHaproxy,
  withCluster,
} from "./helpers/cluster.ts";

/** Longest wait for one message to reach everyone. */
const CROSS_MS = 15_000;

/** The users that come in through HAProxy, two per front end (one for each node). */
const VIA_PROXY = [
  "nd",
  "nd2",
  "nc",
  "nc2",
  "irc",
  "irc2",
  "ws",
  "ws2",
  "sshu",
  "sshu2",
] as const;

/** The nodes (by id) whose log shows `nick` logging in. */
function nodesOf(nodes: readonly ClusterNode[], nick: string): string[] {
  const login = new RegExp(`\\slogin\\s.*\\snick=${nick}(\\s|$)`, "m");
  return nodes.filter((node) => login.test(node.log)).map((node) => node.id);
}

Deno.test("cluster front ends: two nodes behind HAProxy are one chat for NDJSON, netcat, IRC, WebSocket and SSH", async () => {
  await withCluster({
    nodes: 2,
    node: {
      irc: true,
      web: true,
      ssh: true,
      extra: [
        "--proxy-from",
        `${PROXY_SOURCE}/32`,
        // Info, for the login lines that tell which node took each proxied user.
        "--log-level",
        "info",
      ],
    },
  }, async ({ dir, nodes: [a, b] }) => {
    const proxy = await startHaproxy(dir, {
      native: [a.ports.native, b.ports.native],
      irc: [a.ports.irc ?? 0, b.ports.irc ?? 0],
      web: [a.ports.web ?? 0, b.ports.web ?? 0],
      ssh: [a.ports.ssh ?? 0, b.ports.ssh ?? 0],
    });
    const front = serverAt({
      native: proxy.ports.native,
      irc: proxy.ports.irc,
      web: proxy.ports.web,
      ssh: proxy.ports.ssh,
    });
    const onA = await loginAt(a.port, "onA");
    const onB = await loginAt(b.port, "onB");
    const key = await makeKey(dir, "sshu");
    // In this order: nd and nc share the native backend, and leastconn alternates between nodes.
    const nds = [await loginAt(proxy.ports.native, "nd"), await loginAt(proxy.ports.native, "nd2")];
    const ncs = [await plainLogin(front, "nc"), await plainLogin(front, "nc2")];
    const ircs = [await RawIrcClient.login(front, "irc"), await RawIrcClient.login(front, "irc2")];
    const wss = [await WsClient.login(front, "ws"), await WsClient.login(front, "ws2")];
    const sshs = [
      new SshProcess(proxy.ports.ssh, "sshu", [key]),
      new SshProcess(proxy.ports.ssh, "sshu2", [key]),
    ];
    try {
      // IRC users start in no room, as IRC clients expect.
      for (const [i, irc] of ircs.entries()) {
        const nick = i === 0 ? "irc" : "irc2";
        await irc.send("JOIN #lobby");
        await irc.expect(new RegExp(` 366 ${nick} #lobby `));
      }
      for (const [i, ssh] of sshs.entries()) {
        await ssh.waitFor(
          new RegExp(`Welcome to sockchat, ${i === 0 ? "sshu" : "sshu2"}`),
          CROSS_MS,
        );
      }
      // Everyone is known on both nodes before anyone speaks.
      await joinsOf(onA, [...VIA_PROXY, "onB"], "#lobby", CROSS_MS);
      await joinsOf(onB, [...VIA_PROXY], "#lobby", CROSS_MS);
      // Each front end has one user on each node: HAProxy spread them, and the nodes logged it.
      for (let i = 0; i < VIA_PROXY.length; i += 2) {
        const pair = [VIA_PROXY[i], VIA_PROXY[i + 1]];
        const where = pair.map((nick) => nodesOf([a, b], nick));
        assert.deepEqual(
          where.flat().sort(),
          [a.id, b.id].sort(),
          `${pair.join(" and ")} landed on ${JSON.stringify(where)}`,
        );
      }
      // IRC's NAMES lists both nodes' users, on either node.
      for (const [i, irc] of ircs.entries()) {
        const nick = i === 0 ? "irc" : "irc2";
        await irc.send("NAMES #lobby");
        const names = new Set<string>();
        while (true) {
          const line = await irc.expect(new RegExp(` (353|366) ${nick} `), CROSS_MS);
          if (/ 366 /.test(line)) break;
          for (const name of line.slice(line.indexOf(" :") + 2).split(" ")) {
            names.add(name.replace(/^[@+]+/, ""));
          }
        }
        assert.deepEqual([...names].sort(), [...VIA_PROXY, "onA", "onB"].sort(), nick);
      }

      const said = (who: string) => `hello from ${who} through the proxy`;
      for (const [i, nd] of nds.entries()) {
        await nd.send({ type: "msg", room: "#lobby", text: said(i === 0 ? "nd" : "nd2") });
      }
      for (const [i, nc] of ncs.entries()) await nc.write(`${said(i === 0 ? "nc" : "nc2")}\n`);
      for (const [i, irc] of ircs.entries()) {
        await irc.send(`PRIVMSG #lobby :${said(i === 0 ? "irc" : "irc2")}`);
      }
      for (const [i, ws] of wss.entries()) {
        ws.send({ type: "msg", room: "#lobby", text: said(i === 0 ? "ws" : "ws2") });
      }
      for (const [i, ssh] of sshs.entries()) await ssh.line(said(i === 0 ? "sshu" : "sshu2"));

      // The two direct users, one per node, each get all ten, from the right author.
      for (const [name, client] of [["onA", onA], ["onB", onB]] as const) {
        const want = new Set<string>(VIA_PROXY);
        const seen = await collect(client, "#lobby", (s) => {
          const last = s.at(-1);
          if (last !== undefined && last.text === said(last.from)) want.delete(last.from);
          return want.size === 0;
        }, CROSS_MS).catch((error) => {
          throw new Error(`${name} missed ${[...want].join(", ")}: ${error.message}`);
        });
        assert.equal(new Set(seen.map((m) => m.id)).size, seen.length, `${name}: each once`);
      }

      // Each proxied user gets every other's message, from its own node and from the other.
      const others = (me: string) => VIA_PROXY.filter((who) => who !== me);
      for (const [i, nd] of nds.entries()) {
        const ndWant = new Set<string>(others(i === 0 ? "nd" : "nd2"));
        await collect(nd, "#lobby", (s) => {
          const last = s.at(-1);
          if (last !== undefined && last.text === said(last.from)) ndWant.delete(last.from);
          return ndWant.size === 0;
        }, CROSS_MS);
      }
      // Lines come in whatever order the messages were committed: each is crossed off a list.
      for (const [i, nc] of ncs.entries()) {
        const ncWant = new Set<string>(others(i === 0 ? "nc" : "nc2"));
        while (ncWant.size > 0) {
          const line = await nc.readLine(`nc: ${[...ncWant]}`, CROSS_MS);
          if (line === null) throw new Error(`nc: EOF before ${[...ncWant]}`);
          for (const who of ncWant) if (line.endsWith(`<${who}> ${said(who)}`)) ncWant.delete(who);
        }
      }
      for (const [i, irc] of ircs.entries()) {
        const ircWant = new Set<string>(others(i === 0 ? "irc" : "irc2"));
        while (ircWant.size > 0) {
          const line = await irc.expect(/ PRIVMSG #lobby :/, CROSS_MS);
          for (const who of ircWant) {
            if (line.startsWith(`:${who}!`) && line.endsWith(`:${said(who)}`)) ircWant.delete(who);
          }
        }
      }
      for (const [i, ws] of wss.entries()) {
        const wsWant = new Set<string>(others(i === 0 ? "ws" : "ws2"));
        while (wsWant.size > 0) {
          const frame = await ws.expect("msg", CROSS_MS);
          if (frame.text === said(frame.from)) wsWant.delete(frame.from);
        }
      }
      for (const [i, ssh] of sshs.entries()) {
        for (const who of others(i === 0 ? "sshu" : "sshu2")) {
          // The nick ends at a non-word character, so nd does not match nd2's line.
          await ssh.waitFor(new RegExp(`${who}\\b.*${said(who)}`), CROSS_MS);
        }
      }
    } finally {
      for (const ssh of sshs) await ssh.kill();
      for (const ws of wss) await ws.close().catch(() => {});
      for (const socket of [onA, onB, ...nds, ...ncs, ...ircs]) socket.close();
      await proxy.stop();
    }
  });
});
