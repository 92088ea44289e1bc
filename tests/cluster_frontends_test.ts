/**
 * Cluster mode end to end (issue 16, "done when"): two nodes behind a real HAProxy act as one
 * chat for every front end. Users of NDJSON, netcat, IRC, WebSocket and SSH come in through
 * HAProxy (PROXY protocol v2 to the nodes), wherever it sends them; one NDJSON user sits on
 * each node directly, so every message is seen on the node that did not take its author.
 *
 * @module
 */

import assert from "node:assert/strict";
import { plainLogin } from "./helpers/wire.ts";
import { RawIrcClient } from "./helpers/irc.ts";
import { WsClient } from "./helpers/web.ts";
import { makeKey, SshProcess } from "./helpers/ssh.ts";
import {
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

/** The users that come in through HAProxy, one per front end. */
const VIA_PROXY = ["nd", "nc", "irc", "ws", "sshu"] as const;

Deno.test("cluster front ends: two nodes behind HAProxy are one chat for NDJSON, netcat, IRC, WebSocket and SSH", async () => {
  await withCluster({
    nodes: 2,
    node: { irc: true, web: true, ssh: true, extra: ["--proxy-from", `${PROXY_SOURCE}/32`] },
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
    const nd = await loginAt(proxy.ports.native, "nd");
    const nc = await plainLogin(front, "nc");
    const irc = await RawIrcClient.login(front, "irc");
    const ws = await WsClient.login(front, "ws");
    const ssh = new SshProcess(proxy.ports.ssh, "sshu", [key]);
    try {
      // IRC users start in no room, as IRC clients expect.
      await irc.send("JOIN #lobby");
      await irc.expect(/ 366 irc #lobby /);
      await ssh.waitFor(/Welcome to sockchat, sshu/, CROSS_MS);
      // Everyone is known on both nodes before anyone speaks.
      await joinsOf(onA, [...VIA_PROXY, "onB"], "#lobby", CROSS_MS);
      await joinsOf(onB, [...VIA_PROXY], "#lobby", CROSS_MS);
      // IRC's NAMES lists both nodes' users, wherever HAProxy put the IRC user.
      await irc.send("NAMES #lobby");
      const names = new Set<string>();
      while (true) {
        const line = await irc.expect(/ (353|366) irc /, CROSS_MS);
        if (/ 366 /.test(line)) break;
        for (const name of line.slice(line.indexOf(" :") + 2).split(" ")) {
          names.add(name.replace(/^[@+]+/, ""));
        }
      }
      assert.deepEqual([...names].sort(), ["irc", "nc", "nd", "onA", "onB", "sshu", "ws"]);

      const said = (who: string) => `hello from ${who} through the proxy`;
      await nd.send({ type: "msg", room: "#lobby", text: said("nd") });
      await nc.write(`${said("nc")}\n`);
      await irc.send(`PRIVMSG #lobby :${said("irc")}`);
      ws.send({ type: "msg", room: "#lobby", text: said("ws") });
      await ssh.line(said("sshu"));

      // The two direct users, one per node, each get all five, from the right author.
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

      // Each front end's user gets the others' messages through HAProxy too.
      const others = (me: string) => VIA_PROXY.filter((who) => who !== me);
      const ndWant = new Set<string>(others("nd"));
      await collect(nd, "#lobby", (s) => {
        const last = s.at(-1);
        if (last !== undefined && last.text === said(last.from)) ndWant.delete(last.from);
        return ndWant.size === 0;
      }, CROSS_MS);
      // Lines come in whatever order the messages were committed: each is crossed off a list.
      const ncWant = new Set<string>(others("nc"));
      while (ncWant.size > 0) {
        const line = await nc.readLine(`nc: ${[...ncWant]}`, CROSS_MS);
        if (line === null) throw new Error(`nc: EOF before ${[...ncWant]}`);
        for (const who of ncWant) if (line.endsWith(`<${who}> ${said(who)}`)) ncWant.delete(who);
      }
      const ircWant = new Set<string>(others("irc"));
      while (ircWant.size > 0) {
        const line = await irc.expect(/ PRIVMSG #lobby :/, CROSS_MS);
        for (const who of ircWant) {
          if (line.startsWith(`:${who}!`) && line.endsWith(`:${said(who)}`)) ircWant.delete(who);
        }
      }
      const wsWant = new Set<string>(others("ws"));
      while (wsWant.size > 0) {
        const frame = await ws.expect("msg", CROSS_MS);
        if (frame.text === said(frame.from)) wsWant.delete(frame.from);
      }
      for (const who of others("sshu")) {
        await ssh.waitFor(new RegExp(`${who}.*${said(who)}`), CROSS_MS);
      }
    } finally {
      await ssh.kill();
      await ws.close().catch(() => {});
      for (const socket of [onA, onB, nd, nc, irc]) socket.close();
      await proxy.stop();
    }
  });
});
