/**
 * The benchmark runner (`deno task bench`, `deno task bench:smoke`): runs the micro-benchmarks,
 * then each load scenario against a fresh `sockchat serve` subprocess pinned to one core, driven
 * by `bench/loadgen.ts` pinned to another, and prints Markdown tables. The measurements issue 11
 * sets targets for also run, interleaved, on a bare Deno relay (`bench/floor_relay.ts`) and, when
 * it is installed, on ngircd (`bench/ngircd.ts`), so that the targets table can give ratios
 * from the same run.
 *
 * ```sh
 * deno task bench                         # the whole suite, a few minutes
 * deno task bench:smoke                   # every scenario, tiny, asserts it works
 * deno task bench --only "(run 1)" --profile /tmp/prof   # CPU profile of the server
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_MAX_QUEUE_BYTES, QUEUE_BURST_FACTOR } from "../config/limits.ts";
import type { LoadResult, Target } from "./loadgen/spec.ts";
import { type MicroResult, runMicro } from "./micro.ts";
import { clockTicks } from "./proc_stats.ts";
import { ngircdVersion, startNgircd } from "./ngircd.ts";
import {
  detectPinning,
  freePort,
  type Pinning,
  runLoadgen,
  type ServerProcess,
  startServer,
} from "./processes.ts";
import { frontEndTable } from "./front_ends.ts";
import { redisVersion, startCluster } from "./cluster_mode.ts";
import { clusterTable } from "./cluster_report.ts";
import { ircTable } from "./irc_front.ts";
import { hotSpots, report as profileReport } from "./profile_summary.ts";
import {
  fanoutTable,
  idleTable,
  latencyTable,
  microTable,
  type Outcome,
  slowTable,
} from "./report.ts";
import { issue6Table, targetsTable } from "./targets.ts";
import { IRC_BENCH_CAPS, type Scenario, scenarios } from "./scenarios.ts";
import { detectServeFlags, type ServeFlags } from "./serve_flags.ts";
import { smokeProblems } from "./smoke_checks.ts";

/** Extra time the load generator gets beyond its own deadline before it is killed. */
const LOADGEN_GRACE_MS = 30_000;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    smoke: { type: "boolean", default: false },
    only: { type: "string", multiple: true },
    "skip-micro": { type: "boolean", default: false },
    profile: { type: "string" },
    json: { type: "string" },
    "serve-arg": { type: "string", multiple: true },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(`Usage: deno task bench [--smoke] [--only TEXT]... [--skip-micro]
                       [--profile DIR] [--json FILE] [--serve-arg ARG]...

  --smoke          every scenario at a tiny size; exits 1 unless all deliver without loss
  --only TEXT      run only scenarios whose name contains TEXT (repeatable)
  --skip-micro     leave out the deno bench micro-benchmarks
  --profile DIR    CPU-profile the server of the first scenario run (the headline,
                   unless --only picks others) into DIR, and summarise it
  --json FILE      also write every raw result to FILE
  --serve-arg ARG  pass ARG to every 'sockchat serve' (repeatable)`);
  Deno.exit(0);
}

const log = (line: string) => console.error(line);
const smoke = values.smoke ?? false;
const only = values.only ?? [];
const pinning = await detectPinning();
const flags = await detectServeFlags();
const ticks = await clockTicks();
const started = performance.now();

const ngircd = await ngircdVersion();
const ngircdNote = ngircd === null
  ? "ngircd: not installed, no ratios against it (apt-get install ngircd)"
  : `ngircd: ${ngircd}, run as a peer`;

const redis = await redisVersion();
const redisNote = redis === null
  ? "redis-server: not installed, no cluster scenarios (apt-get install redis-server)"
  : `${redis.split(" ").slice(0, 3).join(" ")}: cluster scenarios start their own`;

const serveFlags = [...flags.args, ...(values["serve-arg"] ?? [])].join(" ") || "(none)";
const header = `sockchat bench${smoke ? " (smoke)" : ""} of ${await sourceVersion()}: ` +
  `${navigator.hardwareConcurrency} cores (${await cpuModel()}), Deno ${Deno.version.deno}, ` +
  `pinning ${
    pinning === null ? "off" : `server→cpu${pinning.server}, loadgen→cpu${pinning.loadgen}`
  }, serve flags: ${serveFlags}\n${ngircdNote}\n${redisNote}`;
log(header);
if (flags.unhandled.length > 0) {
  log(
    `warning: serve has ${flags.unhandled.join(", ")}; the bench cannot turn flood control off ` +
      "by itself, so pass what does with --serve-arg",
  );
}

let micro: MicroResult[] = [];
const microWanted = !(values["skip-micro"] ?? false) &&
  (only.length === 0 || only.some((o) => "micro".includes(o)));
if (microWanted) {
  log("· micro-benchmarks (deno bench)");
  micro = await runMicro(smoke, pinning?.server ?? null);
}

const outcomes: Outcome[] = [];
let profiled = false;
for (const scenario of scenarios(smoke)) {
  if (only.length > 0 && !only.some((o) => scenario.name.includes(o))) continue;
  if (scenario.server === "ngircd" && ngircd === null) continue;
  if (scenario.cluster?.redis === true && redis === null) continue;
  const profileDir = values.profile !== undefined && !profiled ? values.profile : undefined;
  if (profileDir !== undefined) profiled = true;
  const t0 = performance.now();
  log(`· ${scenario.name}`);
  const outcome = await measure(scenario, flags, pinning, profileDir);
  outcomes.push(outcome);
  const took = ((performance.now() - t0) / 1000).toFixed(1);
  log(
    outcome.result === null ? `  failed after ${took} s: ${outcome.error}` : `  done in ${took} s`,
  );
}

const sections = [
  micro.length > 0 ? microTable(micro) : "",
  fanoutTable(outcomes),
  latencyTable(outcomes),
  idleTable(outcomes),
  slowTable(outcomes),
  smoke ? "" : frontEndTable(outcomes),
  smoke ? "" : ircTable(outcomes),
  clusterTable(outcomes),
  // Smoke sizes say nothing about the targets.
  // The documented bound on one client's queue: --max-queue once stalled, and at most
  // QUEUE_BURST_FACTOR times that while its socket still drains.
  smoke ? "" : targetsTable(outcomes, ngircd !== null),
  smoke ? "" : issue6Table(outcomes, (DEFAULT_MAX_QUEUE_BYTES * QUEUE_BURST_FACTOR) / 1024),
];
console.log(
  [header, ...sections.filter((s) => s !== "" && s.split("\n").length > 2)].join("\n\n"),
);
log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);

if (values.json !== undefined) {
  await Deno.writeTextFile(values.json, JSON.stringify({ micro, outcomes }, null, 2) + "\n");
}
if (values.profile !== undefined && profiled) {
  for await (const entry of Deno.readDir(values.profile)) {
    if (!entry.name.endsWith(".cpuprofile")) continue;
    const path = `${values.profile}/${entry.name}`;
    const profile = JSON.parse(await Deno.readTextFile(path));
    console.log(`\nServer CPU profile (${path}):\n${profileReport(hotSpots(profile))}`);
  }
}
if (smoke) {
  const problems = smokeProblems(micro, outcomes, microWanted);
  if (problems.length > 0) {
    console.error(`bench smoke FAILED:\n  ${problems.join("\n  ")}`);
    Deno.exit(1);
  }
  console.error("bench smoke passed");
}

/** Runs one scenario against a fresh server; never throws. */
async function measure(
  scenario: Scenario,
  flags: ServeFlags,
  pinning: Pinning | null,
  profileDir: string | undefined,
): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ prefix: "sockchat-bench-" });
  let server: ServerProcess | undefined;
  try {
    if (scenario.cluster !== undefined) {
      const cluster = await startCluster({
        setup: scenario.cluster,
        serveArgs: [...flags.args, ...(values["serve-arg"] ?? [])],
        db: flags.hasDb ? `${dir}/history.db` : undefined,
        denoArgs: profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`],
        cpu: pinning?.server ?? null,
      });
      server = { pid: cluster.nodes[0].pid, port: cluster.nodes[0].port, stop: cluster.stop };
      const target: Target = {
        port: cluster.nodes[0].port,
        pid: cluster.nodes[0].pid,
        clockTicks: ticks,
        nodes: cluster.nodes.map(({ port, pid }) => ({ port, pid })),
        redisPid: cluster.redisPid,
      };
      const log0 = await cluster.logEntries();
      const result = await runLoadgen(
        scenario.spec,
        target,
        pinning?.loadgen ?? null,
        scenario.spec.timeoutMs * 2 + LOADGEN_GRACE_MS,
      );
      const log1 = await cluster.logEntries();
      return log0 === null || log1 === null
        ? { scenario, result }
        : { scenario, result, logEntries: log1 - log0 };
    }
    if (scenario.server === "ngircd") {
      const peer = await startNgircd(dir, pinning?.server ?? null);
      server = peer;
      const target: Target = {
        port: peer.port,
        pid: peer.pid,
        clockTicks: ticks,
        protocol: "irc",
        ircOper: peer.oper,
      };
      const result = await runLoadgen(
        scenario.spec,
        target,
        pinning?.loadgen ?? null,
        scenario.spec.timeoutMs * 2 + LOADGEN_GRACE_MS,
      );
      return { scenario, result };
    }
    const floor = scenario.server === "floor";
    const web = scenario.front === "web";
    const irc = scenario.front === "irc" && !floor;
    const inspectPort = scenario.inspect ? freePort() : undefined;
    const metricsPort = scenario.metrics && flags.hasMetrics && !floor ? freePort() : undefined;
    server = await startServer({
      program: floor ? "floor" : "sockchat",
      serveArgs: [
        ...flags.args,
        ...(flags.hasDb ? ["--db", `${dir}/history.db`] : []),
        ...(metricsPort === undefined ? [] : ["--metrics-port", String(metricsPort)]),
        ...(web && !floor ? ["--web-port", "0"] : []),
        ...(irc ? ["--irc-port", "0"] : []),
        ...(values["serve-arg"] ?? []),
      ],
      web,
      irc,
      denoArgs: [
        ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]),
        ...(inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${inspectPort}`]),
      ],
      cpu: pinning?.server ?? null,
    });
    const target: Target = {
      port: web ? server.webPort ?? server.port : irc ? server.ircPort ?? 0 : server.port,
      pid: server.pid,
      clockTicks: ticks,
      protocol: web ? "websocket" : irc ? "irc" : "sockchat",
      ircCaps: irc ? [...IRC_BENCH_CAPS] : undefined,
      inspectPort,
      metricsPort,
    };
    const result: LoadResult = await runLoadgen(
      scenario.spec,
      target,
      pinning?.loadgen ?? null,
      scenario.spec.timeoutMs * 2 + LOADGEN_GRACE_MS,
    );
    return { scenario, result };
  } catch (error) {
    return {
      scenario,
      result: null,
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    const stderr = await server?.stop();
    if (stderr !== undefined && stderr.trim() !== "") {
      log(`  server said: ${stderr.trim().slice(0, 500)}`);
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The CPU's model name from /proc/cpuinfo, so that a pasted run says what it ran on. */
async function cpuModel(): Promise<string> {
  try {
    // Deno lets a program read /proc only with every permission; cat needs just --allow-run.
    const out = await new Deno.Command("cat", { args: ["/proc/cpuinfo"], stderr: "null" }).output();
    const info = new TextDecoder().decode(out.stdout);
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

/** The commit measured, marked when the working tree differs from it. */
async function sourceVersion(): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  };
  try {
    const commit = await git("rev-parse", "--short", "HEAD");
    const changes = await git("status", "--porcelain", "--untracked-files=no");
    if (commit === null) return "an unknown commit";
    return `commit ${commit}${changes ? " plus uncommitted changes" : ""}`;
  } catch {
    return "an unknown commit (no git)";
  }
}
