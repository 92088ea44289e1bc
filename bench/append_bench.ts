/**
 * Micro-benchmark: {@linkcode SqliteHistory.append} on a file database in WAL mode, as the hub
 * calls it once per batch, in rooms already at their retention so that pruning runs at its usual
 * pace; the server's default retention and byte cap. Batches of 1 (one sender) and of 5 (a busy
 * room's flush) of 64-byte messages.
 *
 * @module
 */

import { SqliteHistory } from "../store/sqlite/history.ts";
import type { StoredMessage } from "../core/ports.ts";
import { DEFAULT_MAX_DB_BYTES, DEFAULT_RETENTION_PER_ROOM } from "../config/store_limits.ts";
import { ITERATIONS, SMOKE, TEXT_64 } from "./micro_options.ts";

/** Messages kept per room: smaller in smoke mode, so that filling the rooms takes no time. */
const RETENTION = SMOKE ? 200 : DEFAULT_RETENTION_PER_ROOM;

const dir = Deno.makeTempDirSync({ prefix: "sockchat-append-bench-" });
const store = new SqliteHistory({
  path: `${dir}/history.db`,
  retention: RETENTION,
  maxBytes: DEFAULT_MAX_DB_BYTES,
  upkeepIntervalMs: 0,
});
let nextId = store.nextId();

globalThis.addEventListener("unload", () => {
  store.close();
  Deno.removeSync(dir, { recursive: true });
});

function batch(room: string, size: number): StoredMessage[] {
  const messages: StoredMessage[] = [];
  for (let i = 0; i < size; i++) {
    messages.push({ id: nextId++, room, from: "c42", text: TEXT_64, ts: Date.now() });
  }
  return messages;
}

/** Fills `room` to its retention, so that every benchmarked append is to a full room. */
function fill(room: string): void {
  for (let n = 0; n < RETENTION; n += 100) store.append(batch(room, 100));
}

for (const size of [1, 5]) {
  const room = `#bench${size}`;
  fill(room);
  Deno.bench({
    name: `history append: SqliteHistory.append, WAL file, room at retention ` +
      `(${size} message${size === 1 ? "" : "s"} per iteration)`,
    ...ITERATIONS,
    fn() {
      store.append(batch(room, size));
    },
  });
}
