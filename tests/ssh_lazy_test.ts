/**
 * Issue 13: a server without `--ssh-port` never loads the SSH library (about 10 MiB of memory at
 * start). The module graph of main.ts reaches ssh2 only through a dynamic import.
 */

import assert from "node:assert/strict";

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}

interface GraphModule {
  specifier: string;
  dependencies?: Dependency[];
}

Deno.test("ssh lazy: main.ts loads ssh2 only through a dynamic import, for --ssh-port", async () => {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  // Every module main.ts loads at start: static imports that carry code (not types only).
  const loaded = new Set<string>();
  const dynamic = new Set<string>();
  const pending = [...graph.roots];
  while (pending.length > 0) {
    const specifier = pending.pop() as string;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target === undefined) continue;
      if (dependency.isDynamic) dynamic.add(target);
      else pending.push(target);
    }
  }
  const ssh2 = [...loaded].filter((s) => s.includes("ssh2@"));
  assert.deepEqual(ssh2, [], "loaded at start");
  assert.ok([...dynamic].some((s) => s.endsWith("/transport/ssh/front_end.ts")));
});
