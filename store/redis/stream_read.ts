/**
 * Reading a room's stream in chunks: entries parsed into stored messages, and a read that goes
 * on past its first chunk only while its count and byte budget last, so a request costs what
 * can be sent, not what was asked for (as the SQLite store's statements stop at the budget).
 *
 * @module
 */

import type { StoredMessage } from "../../core/ports.ts";
import type { RedisConn, Reply } from "../../cluster/redis_conn.ts";
import { readStored } from "../../cluster/validate.ts";

/** One stream entry: its id and the message it holds. */
export interface Entry {
  /** The entry id, `<msgid>-0`. */
  id: string;
  /** The stored message (field `m`); null when it is not one sockchat wrote (skipped, missed). */
  message: StoredMessage | null;
}

/** Parses an XRANGE/XREVRANGE reply (`[[id, [field, value, ...]], ...]`). */
export function streamEntries(reply: Reply): Entry[] {
  if (!Array.isArray(reply)) return [];
  const entries: Entry[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || typeof item[0] !== "string" || !Array.isArray(item[1])) continue;
    const fields = item[1];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === "m" && typeof fields[i + 1] === "string") {
        // Checked before use (cluster/validate.ts): one bad entry must not fail the read.
        entries.push({ id: item[0], message: readStored(fields[i + 1] as string, item[0]) });
        break;
      }
    }
  }
  return entries;
}

/** What {@linkcode readChunks} reads. */
export interface ChunkRead {
  /** The stream. */
  key: string;
  /** The first chunk (already read, with the counts, by the read script). */
  first: Entry[];
  /** How many entries the first chunk asked for: fewer means the range is exhausted. */
  firstCount: number;
  /** Entries per further read. */
  chunk: number;
  /** Messages wanted at most. */
  limit: number;
  /** Bytes that may be read (the entry that crosses it is read and charged, but left out). */
  maxBytes: number;
  /** Reading newest first (XREVRANGE) or oldest first (XRANGE). */
  newestFirst: boolean;
  /** The far end of the range: XREVRANGE's start (`-`, `(ID`) or XRANGE's end (an id). */
  bound: string;
  /** What one message costs to read. */
  rowBytes: (m: StoredMessage) => number;
  /** Find out whether one more entry lies past the page (`more`). @default false */
  lookAhead?: boolean;
}

/** The messages kept (in reading order), the bytes charged, and whether more lie past them. */
export interface ChunkResult {
  /** Messages in reading order. */
  kept: StoredMessage[];
  /** Bytes of the entries read. */
  bytes: number;
  /** True when an entry past the kept ones was seen (cut by count or bytes). */
  more: boolean;
  /** Entries read but left out as unreadable (counted as missed by the caller). */
  skipped: number;
}

/** Reads on from `first` while `limit` and `maxBytes` allow; see {@linkcode ChunkRead}. */
export async function readChunks(conn: RedisConn, read: ChunkRead): Promise<ChunkResult> {
  const kept: StoredMessage[] = [];
  let bytes = 0;
  let skipped = 0;
  let batch = read.first;
  let asked = read.firstCount;
  for (;;) {
    for (const entry of batch) {
      if (kept.length >= read.limit) return { kept, bytes, more: true, skipped };
      if (entry.message === null) {
        skipped++;
        continue;
      }
      bytes += read.rowBytes(entry.message);
      if (bytes > read.maxBytes) return { kept, bytes, more: true, skipped };
      kept.push(entry.message);
    }
    if (batch.length < asked) return { kept, bytes, more: false, skipped };
    const wanted = read.limit - kept.length + (read.lookAhead ? 1 : 0);
    if (wanted <= 0 || (kept.length >= read.limit && !read.lookAhead)) {
      return { kept, bytes, more: false, skipped };
    }
    const last = batch[batch.length - 1].id;
    asked = Math.min(read.chunk, wanted);
    const reply = read.newestFirst
      ? await conn.command(["XREVRANGE", read.key, `(${last}`, read.bound, "COUNT", asked])
      : await conn.command(["XRANGE", read.key, `(${last}`, read.bound, "COUNT", asked]);
    batch = streamEntries(reply);
  }
}
