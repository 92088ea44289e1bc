/**
 * What Linux's `/proc` says about a process: CPU time used and resident memory. The benchmark
 * reads the server's figures from outside, so the server needs no instrumentation.
 *
 * @module
 */

/** Kernel clock ticks per second for `/proc/PID/stat` times (`getconf CLK_TCK`). */
export const DEFAULT_CLOCK_TICKS = 100;

/**
 * CPU time (user + system, all threads) a process has used, in milliseconds.
 *
 * @example
 * ```ts
 * const before = cpuMs("self");
 * // ... load ...
 * const used = cpuMs("self") - before;
 * ```
 */
export function cpuMs(pid: number | "self", clockTicks = DEFAULT_CLOCK_TICKS): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces; everything after its closing paren is fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicks;
}

/** Resident memory of a process: now and at its peak, in KiB. */
export interface Memory {
  /** Resident set size now (`VmRSS`). */
  rssKiB: number;
  /** Highest resident set size so far (`VmHWM`). */
  peakKiB: number;
}

/** Reads `VmRSS` and `VmHWM` from `/proc/PID/status`. */
export function memory(pid: number | "self"): Memory {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return { rssKiB: field(status, "VmRSS"), peakKiB: field(status, "VmHWM") };
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
  return match === null ? 0 : Number(match[1]);
}

/** Clock ticks per second as `getconf` reports them, or the usual 100. */
export async function clockTicks(): Promise<number> {
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stderr: "null" }).output();
    const ticks = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : DEFAULT_CLOCK_TICKS;
  } catch {
    return DEFAULT_CLOCK_TICKS;
  }
}
