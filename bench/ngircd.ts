/**
 * ngircd as a peer: when Debian's `ngircd` is on PATH, the bench runs it with a generated minimal
 * configuration in a temporary directory, on a free loopback port, pinned like sockchat, and
 * drives it with the load generator speaking IRC. Its figures give the ratios issue 11 asks for.
 *
 * The configuration leaves out everything that would measure something other than relaying: no
 * PAM, ident or DNS lookups, no per-address or per-user join limits, keep-alives far apart, and
 * penalties capped at 0 s (`MaxPenaltyTime = 0`). Flood throttling (3 commands per turn, then a
 * second's penalty) cannot be switched off in the configuration; each bench client lifts it for
 * itself as an operator with user mode `+F`, which is why the configuration defines one.
 *
 * @module
 */

import type { IrcOper } from "./loadgen/spec.ts";
import { freePort, pinnedCommand, type ServerProcess } from "./processes.ts";

/** How long ngircd gets to start accepting connections. */
const LISTEN_TIMEOUT_MS = 10_000;
const LISTEN_POLL_MS = 50;
const STOP_TIMEOUT_MS = 10_000;

/** A running ngircd, with the operator its clients use. */
export interface NgircdProcess extends ServerProcess {
  /** The operator defined in its configuration. */
  oper: IrcOper;
}

/** ngircd's version line, or null when it is not installed. */
export async function ngircdVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("ngircd", {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const first = new TextDecoder().decode(out.stdout).split("\n")[0]?.trim() ?? "";
    return out.success && first !== "" ? first : null;
  } catch {
    return null;
  }
}

/**
 * The configuration file for a bench ngircd listening on 127.0.0.1:`port`, keeping its pid file
 * in `dir` and reading no other configuration.
 */
export function ngircdConfig(port: number, dir: string, oper: IrcOper, uid: number | null): string {
  const user = uid === 0 ? ["\tServerUID = 0", "\tServerGID = 0"] : [];
  return [
    "[Global]",
    "\tName = bench.sockchat.invalid",
    "\tInfo = sockchat bench peer",
    "\tAdminInfo1 = sockchat bench",
    "\tAdminInfo2 = loopback only",
    "\tAdminEMail = bench@sockchat.invalid",
    "\tListen = 127.0.0.1",
    `\tPorts = ${port}`,
    "\tMotdPhrase = bench",
    `\tPidFile = ${dir}/ngircd.pid`,
    ...user,
    "[Limits]",
    "\tMaxConnections = 0",
    "\tMaxConnectionsIP = 0",
    "\tMaxJoins = 0",
    "\tMaxPenaltyTime = 0",
    "\tPingTimeout = 3600",
    "\tPongTimeout = 3600",
    "[Options]",
    "\tDNS = no",
    "\tIdent = no",
    "\tPAM = no",
    "\tConnectIPv6 = no",
    "\tOperCanUseMode = yes",
    "\tOperChanPAutoOp = no",
    `\tIncludeDir = ${dir}/conf.d`,
    "[Operator]",
    `\tName = ${oper.name}`,
    `\tPassword = ${oper.password}`,
    "",
  ].join("\n");
}

/** Starts ngircd in the foreground with a fresh configuration in `dir`, pinned to `cpu`. */
export async function startNgircd(dir: string, cpu: number | null): Promise<NgircdProcess> {
  const port = freePort();
  const oper = { name: "bench", password: crypto.randomUUID().slice(0, 12) };
  await Deno.mkdir(`${dir}/conf.d`, { recursive: true });
  const config = `${dir}/ngircd.conf`;
  await Deno.writeTextFile(config, ngircdConfig(port, dir, oper, await userId()));
  const child = pinnedCommand(["ngircd", "--nodaemon", "--config", config], cpu).spawn();
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const killer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await child.status;
    clearTimeout(killer);
    await stdout;
    return (await stderr).trim();
  };
  const deadline = performance.now() + LISTEN_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (performance.now() >= deadline) {
      const said = await stop();
      throw new Error(`ngircd did not listen on port ${port}: ${said.slice(0, 500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, LISTEN_POLL_MS));
  }
  return { pid: child.pid, port, oper, stop };
}

/** True if something accepts a connection on 127.0.0.1:`port`. */
async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** This process's user id (`id -u`: `Deno.uid` would need --allow-sys), or null. */
async function userId(): Promise<number | null> {
  try {
    const out = await new Deno.Command("id", { args: ["-u"], stderr: "null" }).output();
    const uid = Number(new TextDecoder().decode(out.stdout).trim());
    return out.success && Number.isInteger(uid) ? uid : null;
  } catch {
    return null;
  }
}
