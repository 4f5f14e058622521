import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { sendJson } from '../publish/http-publish';
import type { ClientAddress } from './client-address';

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
  publish(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** `POST /v1/publish/batch`. */
  publishBatch(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Further routes (status page, admin UI), tried in order before a 404. */
  more: OptionalHandler[];
  /** Sees each request's addresses, so that an untrusted `X-Forwarded-For` is reported early. */
  clientAddress: ClientAddress;
}

/**
 * The node's HTTP routes next to Socket.IO: `GET /healthz` (alive), `GET /readyz` (ready to serve),
 * `GET /metrics` (Prometheus), `POST /v1/publish`, then the optional routes, else a JSON 404. A route
 * that throws or rejects is answered `500` `RW_ERR_INTERNAL`: nothing a request carries may escape.
 */
export function createHttpRoutes(options: HttpRoutesOptions): Handler {
  const { logger } = options;
  return (req, res) => {
    const fail = (err: unknown): void => {
      logger.error({ err, method: req.method, url: req.url?.slice(0, 200) }, 'HTTP route failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'RW_ERR_INTERNAL', message: 'internal error' } });
      else res.destroy();
    };
    try {
      options.clientAddress.of(req.socket.remoteAddress, req.headers['x-forwarded-for']);
      route(options, req, res)?.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

function route(options: HttpRoutesOptions, req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (req.method === 'GET' && path === '/healthz') {
    sendJson(res, 200, { status: 'ok', nodeId: options.nodeId });
  } else if (req.method === 'GET' && path === '/readyz') {
    return options.ready().then((r) =>
      sendJson(res, r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', draining: options.isDraining(), redis: r.redis, nodeId: options.nodeId }),
    );
  } else if (req.method === 'GET' && path === '/metrics') {
    return options.metrics.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': options.metrics.contentType, 'Cache-Control': 'no-store' });
        res.end(text);
      },
      (err: unknown) => {
        options.logger.error({ err }, 'metrics failed');
        sendJson(res, 500, { error: { code: 'RW_ERR_INTERNAL', message: 'metrics failed' } });
      },
    );
  } else if (path === '/v1/publish' || path === '/v1/publish/batch') {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      sendJson(res, 405, { error: { code: 'RW_ERR_METHOD_NOT_ALLOWED', message: 'use POST' } });
    } else if (options.isDraining()) {
      sendJson(res, 503, { error: { code: 'RW_ERR_DRAINING', message: 'this node is shutting down; publish through another node' } });
    } else {
      return path === '/v1/publish' ? options.publish(req, res) : options.publishBatch(req, res);
    }
  } else if (!options.more.some((handle) => handle(req, res))) {
    sendJson(res, 404, { error: { code: 'RW_ERR_NOT_FOUND', message: `no route ${safeToken(req.method)} ${safeToken(path)}` } });
  }
  return undefined;
}

/** A request token shown in a message, bounded: paths may be kilobytes long. */
function safeToken(value: string | undefined): string {
  const text = value ?? '';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
