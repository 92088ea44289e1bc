import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** The compile task's flags, read from deno.json so this test cannot drift from it. */
async function compileFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task: string = config.tasks.compile;
  const words = task.split(/\s+/);
  assert.equal(words[0], "deno");
  assert.equal(words[1], "compile");
  return words.slice(2).filter((w, i, all) => w !== "-o" && all[i - 1] !== "-o" && w !== "main.ts");
}

Deno.test("deno compile builds a working single binary, or proves the graph and prints SKIP", async () => {
  const dir = await Deno.makeTempDir();
  const output = `${dir}/sockchat`;
  const flags = await compileFlags();
  assert.ok(flags.includes("--allow-net"), "the binary needs the network");
  assert.ok(!flags.includes("--allow-all") && !flags.includes("-A"), "no blanket permissions");
  const compiled = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...flags, "-o", output, `${ROOT}main.ts`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = decoder.decode(compiled.stderr);
  try {
    if (compiled.code === 0) {
      const version = await new Deno.Command(output, { args: ["--version"], stdout: "piped" })
        .output();
      assert.equal(version.code, 0);
      assert.match(decoder.decode(version.stdout), /^sockchat \d+\.\d+\.\d+/);
      const help = await new Deno.Command(output, { args: ["serve", "--help"], stdout: "piped" })
        .output();
      assert.equal(help.code, 0);
      assert.match(decoder.decode(help.stdout), /--max-users/);
      const bad = await new Deno.Command(output, { args: ["nope"], stderr: "piped" }).output();
      assert.equal(bad.code, 2);
      return;
    }
    // No denort here: type checking and graph resolution must have passed, and the failure must
    // be the runtime download and nothing else.
    // "Compile" is printed only once the graph has resolved and type-checked.
    assert.match(stderr, /Compile\S* \S*main\.ts/, `the graph did not check:\n${stderr}`);
    assert.match(stderr, /Setting up base binary/, `compile failed for another reason:\n${stderr}`);
    assert.doesNotMatch(stderr, /TS\d{4}|Module not found|error: Uncaught/);
    const reason = /dns error[^\n]*|error sending request[^\n]*/.exec(stderr)?.[0]?.replace(
      /\(http[^)]*\)/,
      "",
    ) ??
      "denort is not available";
    console.log(
      `SKIP: binary not built, no denort runtime here (set DENORT_BIN to build it): ${reason}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
