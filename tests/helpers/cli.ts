/**
 * Test helpers for running the real `sockchat` CLI as a subprocess.
 *
 * @module
 */

import { CLI_PERMISSIONS, loopbackServeArgs, MAIN_PATH } from "../../bench/launch_args.ts";
import { within } from "./wire.ts";

const decoder = new TextDecoder();

// `sockchat join` makes its own key under $XDG_CONFIG_HOME on first use: the CLIs these tests
// start (directly, or in tmux, which inherits this environment) get a directory of their own,
// never the real user's. A test that needs another one passes it in `env`.
const configHome = Deno.makeTempDirSync({ prefix: "sockchat-test-config-" });
Deno.env.set("XDG_CONFIG_HOME", configHome);
globalThis.addEventListener("unload", () => Deno.removeSync(configHome, { recursive: true }));

/** Arguments that run main.ts under the current Deno with the CLI's permissions. */
export function denoArgs(args: string[]): string[] {
  return ["run", ...CLI_PERMISSIONS, MAIN_PATH, ...args];
}

/** Runs the CLI to completion with optional stdin; returns its code and output. */
export async function runCli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs(args),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await within(
    child.output(),
    `sockchat ${args.join(" ")}`,
    options.timeoutMs ?? 20_000,
  );
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A `sockchat serve` subprocess, started and ready. */
export interface ServeProcess {
  child: Deno.ChildProcess;
  port: number;
  /** Everything printed on stdout so far (after the listening line). */
  stdout: () => string;
  /** Everything printed on stderr so far, if it was captured (else ""). */
  stderr: () => string;
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * Starts `sockchat serve --port 0 ...` and waits for its "listening on" line. Its stderr (the
 * log) goes to the test's own, unless `captureStderr` keeps it for {@linkcode ServeProcess.stderr}.
 */
export async function spawnServe(
  extra: string[] = [],
  options: { captureStderr?: boolean } = {},
): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs(loopbackServeArgs("warn", [
      // Never the user's own database: each test server gets a fresh one unless it names one.
      ...(extra.includes("--db") ? [] : ["--db", ":memory:"]),
      ...extra,
    ])),
    stdin: "null",
    stdout: "piped",
    stderr: options.captureStderr ? "piped" : "inherit",
  }).spawn();
  let log = "";
  const logged = options.captureStderr
    ? (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
    })()
    : Promise.resolve();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const port = await within(
    (async () => {
      while (true) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`serve exited before listening: ${text}`);
        text += value;
        const match = /listening on .*:(\d+)\n/.exec(text);
        if (match) return Number(match[1]);
      }
    })(),
    "serve to listen",
    20_000,
  );
  const drained = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value;
    }
  })();
  return {
    child,
    port,
    stdout: () => text,
    stderr: () => log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
      const status = await within(child.status, "serve to exit", 20_000);
      await drained;
      await logged;
      return status;
    },
  };
}
