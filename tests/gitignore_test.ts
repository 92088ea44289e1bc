import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** The files README.md's TLS recipe (the Encryption section) writes, read from its commands. */
async function tlsRecipeFiles(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const section = readme.slice(readme.indexOf("### Encryption"));
  const recipe = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(recipe !== undefined, "README's Encryption section has a sh block");
  const files = new Set<string>();
  for (const [, file] of recipe.matchAll(/(?:-keyout|-out|>)\s+(\S+)/g)) files.add(file);
  // -CAcreateserial writes the serial number beside the CA certificate: ca.pem gives ca.srl.
  for (const [, ca] of recipe.matchAll(/-CA\s+(\S+)\.pem\b[^\n]*-CAcreateserial/g)) {
    files.add(`${ca}.srl`);
  }
  return [...files];
}

/** Which of `paths` git ignores in this checkout, or null when this is not a git checkout. */
async function ignored(paths: string[]): Promise<Set<string> | null> {
  let child;
  try {
    child = new Deno.Command("git", {
      // --no-index: judge by the ignore rules alone, whether or not a file is tracked.
      args: ["check-ignore", "--no-index", "--stdin"],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(paths.join("\n") + "\n"));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const why = new TextDecoder().decode(stderr);
  if (code === 128 && /not a git repository/.test(why)) return null;
  // 0: some are ignored, 1: none are.
  assert.ok(code === 0 || code === 1, why);
  return new Set(new TextDecoder().decode(stdout).split("\n").filter((line) => line !== ""));
}

Deno.test(".gitignore covers the certificate files README's TLS recipe makes, and the built binary", async () => {
  const made = await tlsRecipeFiles();
  for (const file of ["ca.key", "ca.pem", "key.pem", "cert.pem"]) {
    assert.ok(made.includes(file), `the recipe makes ${file}: ${made.join(" ")}`);
  }
  const wanted = [...made, "sockchat"];
  const found = await ignored(wanted);
  if (found === null) {
    console.log("SKIP: not a git checkout, so .gitignore cannot be asked");
    return;
  }
  assert.deepEqual(wanted.filter((file) => !found.has(file)), [], "not ignored");
  // Only the binary at the top: a folder called sockchat elsewhere is not the build output.
  assert.ok(!(await ignored(["docs/sockchat/notes.md"]))?.has("docs/sockchat/notes.md"));
});
