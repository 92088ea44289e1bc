/**
 * Talks to a server started with `--inspect` over the Chrome DevTools Protocol, to force a full
 * garbage collection before its memory is read. Without it, an idle server's RSS still holds the
 * garbage of setting up thousands of connections, and the per-connection figure swings by 2x
 * from one run to the next depending on whether V8 happened to collect.
 *
 * @module
 */

/** V8's heap after a full collection, in KiB. */
export interface HeapUsage {
  /** Live JavaScript objects. */
  usedKiB: number;
  /** ArrayBuffer backing stores (read buffers, queued bytes) outside the JS heap. */
  backingStoreKiB: number;
}

const CALL_TIMEOUT_MS = 30_000;

/** Collects garbage in the process listening for the inspector on 127.0.0.1:`port`. */
export async function collectGarbage(port: number): Promise<HeapUsage> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot reach the inspector at ${url}`));
    });
    const call = cdpCaller(ws);
    await call("HeapProfiler.collectGarbage");
    const usage = await call("Runtime.getHeapUsage");
    return {
      usedKiB: Number(usage.usedSize ?? 0) / 1024,
      backingStoreKiB: Number(usage.backingStorageSize ?? 0) / 1024,
    };
  } finally {
    ws.close();
  }
}

/** One CDP request at a time: sends `method`, resolves with its `result`. */
function cdpCaller(ws: WebSocket): (method: string) => Promise<Record<string, unknown>> {
  let nextId = 0;
  return (method) => {
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method} timed out`)), CALL_TIMEOUT_MS);
      const onMessage = (event: MessageEvent) => {
        const reply = JSON.parse(String(event.data)) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: { message: string };
        };
        if (reply.id !== id) return;
        clearTimeout(timer);
        ws.removeEventListener("message", onMessage);
        if (reply.error !== undefined) reject(new Error(`${method}: ${reply.error.message}`));
        else resolve(reply.result ?? {});
      };
      ws.addEventListener("message", onMessage);
      ws.send(JSON.stringify({ id, method }));
    });
  };
}
