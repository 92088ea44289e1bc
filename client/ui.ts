/**
 * What the client needs from a front end: the terminal one ({@linkcode TerminalUi}) or the one
 * for pipes and scripts ({@linkcode PipedUi}).
 *
 * @module
 */

/** Whether the client is talking to the server. */
export type ConnectionState =
  | { kind: "connected" }
  | { kind: "reconnecting"; attempt: number }
  | { kind: "offline" };

/** What the prompt shows. */
export interface Status {
  /** The current room; null when the user is in none. */
  room: string | null;
  /** The user's nick. */
  nick: string;
  /** Connected, reconnecting or offline. */
  connection: ConnectionState;
}

/** The words a connection state is shown with, such as `reconnecting (attempt 2)`. */
export function describeConnection(state: ConnectionState): string {
  switch (state.kind) {
    case "connected":
      return "connected";
    case "reconnecting":
      return `reconnecting (attempt ${state.attempt})`;
    case "offline":
      return "offline";
  }
}

/** A front end. */
export interface ClientUi {
  /** Prints one event (possibly several lines) without disturbing what the user is typing. */
  print(text: string, options?: { bell?: boolean }): void;
  /** Prints a failure on stderr. */
  fail(text: string): void;
  /** Shows the current room, nick and connection state, where the front end has a place for it. */
  setStatus(status: Status): void;
  /**
   * Shows what the user entered while offline and the server has not yet acknowledged (all of
   * it, oldest first; empty when nothing waits), where the front end has a place for it.
   */
  setPending(texts: readonly string[]): void;
  /**
   * What the user enters, one complete message at a time (continued lines and pasted blocks
   * already joined), until they leave (EOF, Ctrl-D, Ctrl-C).
   */
  inputs(): AsyncIterable<string>;
  /** Restores the terminal. */
  close(): void;
}
