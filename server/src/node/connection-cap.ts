import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { rawErrorResponse } from './raw-response';

/** Options of {@link capConnections}. */
export interface ConnectionCapOptions {
  /** Most open connections; the next ones are refused. */
  maxConnections: number;
  /** A connection was refused. */
  onRefused(): void;
}

/** How long a refused connection may take to read its answer and close, in ms. */
const REFUSAL_LINGER_MS = 2000;

/** Why: every open connection holds memory and a file descriptor; past the cap a new one would risk the node's others. */
export function isOverCap(open: number, maxConnections: number): boolean {
  return open >= maxConnections;
}

/**
 * Caps the open TCP connections of `server` (HTTP, long-polling, WebSocket alike). A connection over
 * the cap never reaches the HTTP parser: it is answered `503` `RW_ERR_CONNECTION_LIMIT` with
 * `Retry-After` and closed, its request read and dropped so that the close does not reset the
 * connection before the answer is read. Call it right after creating the server, before anything
 * else listens to `connection`: the server's own listener is put behind the cap.
 * (`server.maxConnections` would drop such connections without a word.)
 */
export function capConnections(server: HttpServer, options: ConnectionCapOptions): { open(): number } {
  const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  let open = 0;
  const refusal = rawErrorResponse('RW_ERR_CONNECTION_LIMIT', `this node is at its limit of ${options.maxConnections} connections; retry, or connect to another node`, {
    'Retry-After': '5',
  });
  server.on('connection', (socket: Socket) => {
    if (isOverCap(open, options.maxConnections)) {
      options.onRefused();
      socket.on('error', () => undefined);
      socket.setTimeout(REFUSAL_LINGER_MS, () => socket.destroy());
      socket.once('end', () => socket.destroy());
      socket.end(refusal);
      socket.resume();
      return;
    }
    open += 1;
    socket.once('close', () => {
      open -= 1;
    });
    for (const listener of listeners) listener.call(server, socket);
  });
  return { open: () => open };
}
