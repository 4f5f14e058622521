import WebSocket from 'ws';

/** The node flag that opens the inspector on a free loopback port (the URL is printed to stderr). */
export const INSPECT_FLAG = '--inspect=127.0.0.1:0';

/** A DevTools-protocol session with one node process, used only to run full garbage collections. */
export interface InspectorGc {
  /** Runs a full (mark-compact) collection in the node and resolves once it is done. */
  collectGarbage(): Promise<void>;
  close(): Promise<void>;
}

/** Finds the inspector's WebSocket URL in a node's output (`Debugger listening on ws://…`). */
export function inspectorUrl(output: string): string | null {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1] ?? null;
}

/**
 * Connects to a node's inspector. Why: `nodejs_heap_size_used_bytes` read at a random moment includes
 * garbage that V8 has not collected yet: between two full collections (a minute or more apart at this
 * load) it climbs by tens of MiB, then drops, which hides or fakes a leak of a few MiB. Collecting
 * first makes each sample the live heap.
 */
export async function connectInspectorGc(url: string, timeoutMs = 5000): Promise<InspectorGc> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out connecting to the inspector at ${url}`)), timeoutMs);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  socket.on('error', () => undefined);
  let nextId = 1;
  const pending = new Map<number, (error: string | null) => void>();
  socket.on('message', (raw) => {
    const reply = JSON.parse(String(raw)) as { id?: number; error?: { message: string } };
    if (reply.id === undefined) return;
    pending.get(reply.id)?.(reply.error?.message ?? null);
    pending.delete(reply.id);
  });
  socket.on('close', () => {
    for (const settle of pending.values()) settle('inspector connection closed');
    pending.clear();
  });
  return {
    collectGarbage() {
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`HeapProfiler.collectGarbage took longer than ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (error) => {
          clearTimeout(timer);
          if (error === null) resolve();
          else reject(new Error(error));
        });
        socket.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    },
    close() {
      if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
        setTimeout(resolve, 1000).unref();
      });
    },
  };
}
