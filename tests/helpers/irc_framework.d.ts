/**
 * The part of irc-framework 4.14.0's API the tests use (the package ships no types).
 *
 * @module
 */

/** An IRC client connection. */
export class Client {
  constructor(options?: Record<string, unknown>);
  /** Connects and registers with these options. */
  connect(options: Record<string, unknown>): void;
  /** Joins a channel. */
  join(channel: string, key?: string): void;
  /** Sends a PRIVMSG. */
  say(target: string, message: string): void;
  /** Sends a raw line. */
  raw(line: string): void;
  /** Asks for these caps too, if the server offers them (call before `connect`). */
  requestCap(cap: string | string[]): void;
  /** Sends QUIT and closes. */
  quit(message?: string): void;
  /** Listens to an event (the listener states the event's shape it reads). */
  on(event: string, listener: (event: never) => void): this;
  /** Listens to an event once. */
  once(event: string, listener: (event: never) => void): this;
}
