import type { Socket } from 'socket.io';

/** The engine.io socket internals read here; typed narrowly because they are not public API. */
interface EngineInternals {
  writeBuffer?: { data?: unknown }[];
  transport?: { name?: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
}

/**
 * Bytes queued towards a socket and not yet handed to the kernel: engine.io's write buffer (unbounded
 * by design) plus the WebSocket's buffered amount (ws's sender queue and the TCP socket's userland
 * buffer).
 */
export function queuedBytes(socket: Socket): number {
  const conn = socket.conn as unknown as EngineInternals;
  let bytes = 0;
  // Measured for every socket on every sweep: an index loop, no iterator or fallback array.
  const queue = conn.writeBuffer;
  if (queue !== undefined) {
    for (let i = 0; i < queue.length; i++) {
      const data = (queue[i] as { data?: unknown }).data;
      if (typeof data === 'string') bytes += data.length;
      else if (data instanceof Uint8Array) bytes += data.byteLength;
    }
  }
  const transport = conn.transport;
  const ws = transport !== undefined && transport.name === 'websocket' ? transport.socket : undefined;
  return ws === undefined ? bytes : bytes + (ws.bufferedAmount ?? 0);
}

/**
 * Closes the connection at once, discarding what is queued, with engine.io's recoverable "forced close"
 * (a plain `close()` would wait for a drain that never comes), and drops the TCP connection so the
 * queued buffers are freed now rather than after ws's closing handshake times out.
 */
export function dropConnection(socket: Socket): void {
  const conn = socket.conn as unknown as EngineInternals & { close(discard?: boolean): void };
  const ws = conn.transport?.name === 'websocket' ? conn.transport.socket : undefined;
  conn.close(true);
  ws?.terminate?.();
}
