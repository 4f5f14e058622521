import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { sendJson } from '../publish/http-publish';
import { capConnections } from './connection-cap';
import { rawErrorResponse } from './raw-response';

/** Options of {@link createHttpEdge}. */
export interface HttpEdgeOptions {
  /** Longest a connection may take to send a request's headers (a new connection's first one included), in ms. */
  headersTimeoutMs: number;
  /** Longest a connection may take to send a whole request, body included, in ms. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept between requests, in ms. */
  keepAliveTimeoutMs: number;
  /** Most open connections; the next ones are refused with `503`. */
  maxConnections: number;
  logger: Logger;
  onConnectionRefused(): void;
}

/**
 * The node's HTTP server, hardened at its edge: a client that sends its headers or its body too
 * slowly, or idles, is answered `408` and closed (Node's own timeouts, checked every second rather
 * than every 30 s); connections over the cap are refused ({@link capConnections}); `CONNECT` is
 * answered instead of being dropped. Call {@link guardHttpListeners} once Socket.IO is attached.
 */
export function createHttpEdge(handler: (req: IncomingMessage, res: ServerResponse) => void, options: HttpEdgeOptions): HttpServer {
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(options.headersTimeoutMs / 4))),
    },
    handler,
  );
  capConnections(server, { maxConnections: options.maxConnections, onRefused: options.onConnectionRefused });
  // Without a listener Node closes CONNECT requests without an answer.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    refuseSocket(socket, rawErrorResponse('RW_ERR_METHOD_NOT_ALLOWED', 'CONNECT is not supported: this is not a proxy', { Allow: 'GET, HEAD, POST' }));
  });
  return server;
}

/**
 * Puts a gate in front of every `request` and `upgrade` listener of `server` (Socket.IO's included, so
 * call it after `io.attach`):
 * - Socket.IO sees only requests for exactly `socketIoPath` (Engine.IO itself matches any path under
 *   it), and only `GET` upgrades: other paths under it are answered a JSON `404`, other upgrades
 *   `404`/`405`, rather than being served, left to hang or dropped.
 * - A listener that throws, or returns a promise that rejects, is logged and answered `500`
 *   `RW_ERR_INTERNAL` instead of ending the process: no request of any shape may take the node down.
 */
export function guardHttpListeners(server: HttpServer, options: { socketIoPath: string; logger: Logger }): void {
  const { socketIoPath, logger } = options;
  const requestListeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => unknown)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const fail = (err: unknown): void => {
      logger.error({ err, method: req.method, url: req.url?.slice(0, 200) }, 'HTTP request handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'RW_ERR_INTERNAL', message: 'internal error' } });
      else res.destroy();
    };
    try {
      if (isUnderButNot(req.url, socketIoPath)) {
        sendJson(res, 404, { error: { code: 'RW_ERR_NOT_FOUND', message: `no route here; Socket.IO answers at ${socketIoPath}` } });
        return;
      }
      for (const listener of requestListeners) {
        const result = listener.call(server, req, res);
        if (result instanceof Promise) result.catch(fail);
      }
    } catch (err) {
      fail(err);
    }
  });
  const upgradeListeners = server.listeners('upgrade') as ((req: IncomingMessage, socket: Duplex, head: Buffer) => unknown)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      if (pathOf(req.url) !== socketIoPath) {
        refuseSocket(socket, rawErrorResponse('RW_ERR_NOT_FOUND', `no WebSocket endpoint here; Socket.IO answers at ${socketIoPath}`));
      } else if (req.method !== 'GET') {
        refuseSocket(socket, rawErrorResponse('RW_ERR_METHOD_NOT_ALLOWED', 'a WebSocket upgrade is a GET', { Allow: 'GET' }));
      } else {
        for (const listener of upgradeListeners) listener.call(server, req, socket, head);
      }
    } catch (err) {
      logger.error({ err, url: req.url?.slice(0, 200) }, 'HTTP upgrade handler failed');
      refuseSocket(socket, rawErrorResponse('RW_ERR_INTERNAL', 'internal error'));
    }
  });
}

/** The path of a request target, without its query. */
function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const at = target.indexOf('?');
  return at < 0 ? target : target.slice(0, at);
}

/** Why: Engine.IO claims every target that starts with its path; anything but the path itself is not a Socket.IO request. */
function isUnderButNot(url: string | undefined, socketIoPath: string): boolean {
  return (url ?? '').startsWith(socketIoPath) && pathOf(url) !== socketIoPath;
}

/** Answers a socket that no `ServerResponse` serves, and closes it. */
function refuseSocket(socket: Duplex, response: string): void {
  socket.on('error', () => undefined);
  if (socket.writable) socket.end(response, () => socket.destroy());
  else socket.destroy();
}
