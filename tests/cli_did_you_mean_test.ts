/**
 * An unknown flag that is the short form people guess of a real one (`--password` for
 * `--password-file`) is answered with the real one, as a typo is.
 */

import assert from "node:assert/strict";
import { runCli } from "./helpers/cli.ts";
import { parseServeArgs } from "../cli/serve_args.ts";
import { parseJoinArgs } from "../cli/join_args.ts";
import { UsageError } from "../cli/usage.ts";

/** The UsageError message `parse` throws. */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error("parsed without a complaint");
}

Deno.test("serve --password x: exit 2, and did you mean --password-file?", async () => {
  const result = await runCli(["serve", "--password", "x"]);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    "sockchat: unknown option --password (did you mean --password-file?).\n" +
      "Try 'sockchat serve --help'.\n",
  );
});

Deno.test("a flag's short form suggests the flags it is a part of; a vague word suggests none", () => {
  const serve = (flag: string) => refusal(() => parseServeArgs([flag, "x"]));
  const join = (flag: string) => refusal(() => parseJoinArgs([flag, "x"], () => undefined));
  assert.equal(serve("--password=x"), "unknown option --password (did you mean --password-file?).");
  assert.equal(serve("--cert"), "unknown option --cert (did you mean --tls-cert?).");
  assert.equal(serve("--key"), "unknown option --key (did you mean --tls-key or --ssh-host-key?).");
  assert.equal(serve("--host-key"), "unknown option --host-key (did you mean --ssh-host-key?).");
  assert.equal(
    join("--password"),
    "unknown option --password (did you mean --password-file or --account-password-file?).",
  );
  // Part of too many flags to be worth a guess.
  assert.equal(serve("--max"), "unknown option --max.");
  // A typo still wins over a part: the nearest flag alone.
  assert.equal(serve("--max-user"), "unknown option --max-user (did you mean --max-users?).");
});
