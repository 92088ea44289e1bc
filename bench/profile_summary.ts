/**
 * Reads a V8 `.cpuprofile` (from `deno run --cpu-prof`) and prints where the time went: self
 * time per function, and inclusive time per function of this repository's own code.
 *
 * ```sh
 * deno run --allow-read bench/profile_summary.ts /tmp/prof/CPU.*.cpuprofile
 * ```
 *
 * @module
 */

/** One call-tree node of a V8 CPU profile (only the fields read here). */
export interface ProfileNode {
  /** What `samples` and `children` refer to. */
  id: number;
  /** The function, and where it is defined (`lineNumber` from 0). */
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Ids of the nodes it called. */
  children?: number[];
}

/** A V8 CPU profile, as `--cpu-prof` writes it (only the fields read here). */
export interface CpuProfile {
  /** The call tree, root first. */
  nodes: ProfileNode[];
  /** The node on top of the stack at each sample. */
  samples: number[];
  /** Microseconds before each sample, matching `samples`. */
  timeDeltas: number[];
}

/** Time attributed to one function, in percent of all samples. */
export interface HotSpot {
  /** The function's name, with its file and line when it has them. */
  name: string;
  /** Samples in the function itself. */
  selfPct: number;
  /** Samples in the function and everything it called. */
  totalPct: number;
}

const ROOT = new URL("../", import.meta.url).href;

/** Self and inclusive share of busy (non-idle) time per function, busiest first by self time. */
export function hotSpots(profile: CpuProfile): HotSpot[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const micros = Math.max(profile.timeDeltas[i] ?? 0, 0);
    const leaf = byId.get(id);
    // Shares are of busy time: waiting for the load generator is not a cost.
    if (leaf === undefined || leaf.callFrame.functionName === "(idle)") return;
    all += micros;
    const leafName = nameOf(leaf);
    self.set(leafName, (self.get(leafName) ?? 0) + micros);
    // Count each function once per sample even if it recurses.
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node !== undefined) onStack.add(nameOf(node));
    }
    for (const name of onStack) total.set(name, (total.get(name) ?? 0) + micros);
  });
  const pct = (micros: number) => (all === 0 ? 0 : (100 * micros) / all);
  return [...total.keys()]
    .map((name) => ({
      name,
      selfPct: pct(self.get(name) ?? 0),
      totalPct: pct(total.get(name) ?? 0),
    }))
    .sort((a, b) => b.selfPct - a.selfPct);
}

function nameOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const fn = functionName === "" ? "(anonymous)" : functionName;
  if (url === "") return fn;
  const file = url.startsWith(ROOT) ? url.slice(ROOT.length) : url.replace(/^.*\//, "");
  return `${fn} ${file}:${lineNumber + 1}`;
}

/** True for functions in this repository (not the runtime, not the benchmark itself). */
export function isOurs(name: string): boolean {
  return / (core|transport|protocol|store|security|metrics|log|config|cli)\/|(server|main)\.ts:/
    .test(name);
}

/** Formats the top `limit` hot spots, and our own code's inclusive times, as text. */
export function report(spots: HotSpot[], limit = 25): string {
  const line = (s: HotSpot) =>
    `${s.selfPct.toFixed(1).padStart(6)}% ${s.totalPct.toFixed(1).padStart(6)}%  ${s.name}`;
  const ours = spots.filter((s) => isOurs(s.name)).sort((a, b) => b.totalPct - a.totalPct);
  return [
    "  self  total  function (top by self time; % of busy time)",
    ...spots.slice(0, limit).map(line),
    "",
    "  self  total  function (our code, by inclusive time; % of busy time)",
    ...ours.slice(0, limit).map(line),
  ].join("\n");
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("usage: profile_summary.ts FILE.cpuprofile...");
    Deno.exit(2);
  }
  for (const path of Deno.args) {
    const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
    console.log(`== ${path}\n${report(hotSpots(profile))}\n`);
  }
}
