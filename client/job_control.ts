/**
 * Whether Ctrl-Z may suspend the terminal client, and how. Run straight from a shell, the
 * client is a job of its own: it stops itself and the shell takes the terminal back. Under a
 * task runner (`deno task join`, `npm run`, `npx`), the runner is the shell's job and keeps
 * waiting for the client, so a stopped client would hang the terminal: there Ctrl-Z is ignored
 * with a hint. A chat the server hosts for an SSH user has no job to stop at all.
 *
 * Without `--allow-all`, Deno may read neither `/proc` (process groups, the parent's command
 * line) nor run `ps`, so task runners are recognised by the variables they set for the tasks
 * they run.
 *
 * @module
 */

/** Variables a task runner sets for its tasks: deno task and npm set the first, npm the second. */
export const TASK_RUNNER_VARIABLES: readonly string[] = [
  "npm_config_user_agent",
  "npm_lifecycle_event",
];

/** The line shown instead of suspending, under a task runner. */
export const CTRL_Z_HINT: string =
  "! Ctrl-Z is ignored here (a task runner cannot pass it on); run the client directly to use it.";

/** The line shown instead of suspending, in a chat over SSH. */
export const SSH_CTRL_Z_HINT: string =
  "! Ctrl-Z does nothing here: this chat runs on the server. /quit or Ctrl-D leaves.";

/** Stopping and continuing on Ctrl-Z, where the terminal allows it. */
export interface JobControl {
  /** Whether Ctrl-Z may stop the session now; when false, {@linkcode JobControl.hint} is shown. */
  canSuspend(): boolean;
  /** What Ctrl-Z says when it does nothing. */
  readonly hint: string;
  /** Stops the process until it is continued. */
  stop(): void;
  /** Listens for a stop from outside (SIGTSTP) and for continuing (SIGCONT); returns how to stop. */
  listen(onStop: () => void, onContinue: () => void): () => void;
}

/**
 * True when the client may stop itself on Ctrl-Z: no task runner is known to stand between it
 * and the shell. `env` reads a variable (undefined when unset or not readable).
 *
 * @example
 * ```ts
 * canSuspend(() => undefined); // true: started from a shell
 * canSuspend((name) => name === "npm_config_user_agent" ? "deno/2.1.0 npm/?" : undefined); // false
 * ```
 */
export function canSuspend(env: (name: string) => string | undefined): boolean {
  return TASK_RUNNER_VARIABLES.every((name) => env(name) === undefined);
}

/** Reads an environment variable, or undefined without the permission. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The process's own job control: SIGSTOP to stop, SIGTSTP and SIGCONT from the shell. */
export const localJobControl: JobControl = {
  canSuspend: () => canSuspend(readEnv),
  hint: CTRL_Z_HINT,
  // SIGSTOP, not SIGTSTP: this process listens for SIGTSTP, so that would only call us again.
  stop: () => Deno.kill(Deno.pid, "SIGSTOP"),
  listen(onStop, onContinue) {
    Deno.addSignalListener("SIGTSTP", onStop);
    Deno.addSignalListener("SIGCONT", onContinue);
    return () => {
      Deno.removeSignalListener("SIGTSTP", onStop);
      Deno.removeSignalListener("SIGCONT", onContinue);
    };
  },
};

/**
 * No job control: Ctrl-Z only shows `hint`.
 *
 * @example
 * ```ts
 * noJobControl(SSH_CTRL_Z_HINT).canSuspend(); // false
 * ```
 */
export function noJobControl(hint: string): JobControl {
  return { canSuspend: () => false, hint, stop() {}, listen: () => () => {} };
}
