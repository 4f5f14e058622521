import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { sendJson } from '../publish/http-publish';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
/** A handler that answers true when it handled the request. */
export type OptionalHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** What the node's HTTP routes answer from. */
export interface HttpRoutesOptions {
  nodeId: string;
  logger: Logger;
  isDraining(): boolean;
  /** Whether the node can serve: not draining, and Redis answering (when configured). */
  ready(): Promise<{ ok: boolean; redis: 'ok' | 'down' | 'none' }>;
  metrics: Registry;
  publish: Handler;
  /** Further routes (status page, admin UI), tried in order before a 404. */
  more: OptionalHandler[];
}

/**
 * The node's HTTP routes next to Socket.IO: `GET /healthz` (alive), `GET /readyz` (ready to serve),
 * `GET /metrics` (Prometheus), `POST /v1/publish`, then the optional routes, else a JSON 404.
 */
export function createHttpRoutes(options: HttpRoutesOptions): Handler {
  const { nodeId, logger } = options;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/healthz') {
      sendJson(res, 200, { status: 'ok', nodeId });
    } else if (req.method === 'GET' && path === '/readyz') {
      void options.ready().then((r) =>
        sendJson(res, r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', draining: options.isDraining(), redis: r.redis, nodeId }),
      );
    } else if (req.method === 'GET' && path === '/metrics') {
      options.metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': options.metrics.contentType, 'Cache-Control': 'no-store' });
          res.end(text);
        },
        (err: unknown) => {
          logger.error({ err }, 'metrics failed');
          sendJson(res, 500, { error: { code: 'RW_ERR_INTERNAL', message: 'metrics failed' } });
        },
      );
    } else if (path === '/v1/publish') {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        sendJson(res, 405, { error: { code: 'RW_ERR_METHOD_NOT_ALLOWED', message: 'use POST' } });
      } else if (options.isDraining()) {
        sendJson(res, 503, { error: { code: 'RW_ERR_DRAINING', message: 'this node is shutting down; publish through another node' } });
      } else {
        options.publish(req, res);
      }
    } else if (!options.more.some((handle) => handle(req, res))) {
      sendJson(res, 404, { error: { code: 'RW_ERR_NOT_FOUND', message: `no route ${req.method ?? ''} ${path}` } });
    }
  };
}
