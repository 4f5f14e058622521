import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, RoomwireError } from '@roomwire/shared';
import type { Logger } from 'pino';
import { matchesBearer, sendJson } from '../publish/http-publish';
import type { Queries } from './queries';

/** Options of {@link createHttpQueries}. */
export interface HttpQueriesOptions {
  queries: Queries;
  /** The publish API key: backends read presence and history with it. */
  apiKey: string | undefined;
  logger: Logger;
}

/**
 * `GET /v1/presence?org=&service=` and `GET /v1/history?org=&service=&limit=&before=`, with the publish
 * key (`Authorization: Bearer <key>`); answers true when the request was one of them.
 */
export function createHttpQueries(options: HttpQueriesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { queries } = options;
  const answer = async (path: string, raw: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(raw, 'http://localhost');
      if (req.method !== 'GET') {
        res.setHeader('Allow', 'GET');
        throw new RoomwireError('RW_ERR_METHOD_NOT_ALLOWED', 'use GET');
      }
      if (!matchesBearer(req.headers.authorization, options.apiKey)) {
        throw new RoomwireError('RW_ERR_UNAUTHORIZED', 'missing or invalid API key (Authorization: Bearer <publish key>)');
      }
      const params = url.searchParams;
      const { org, service } = queries.checkTarget(params.get('org') ?? undefined, params.get('service') ?? undefined);
      if (path === '/v1/presence') {
        sendJson(res, 200, await queries.presence(org, service));
        return;
      }
      const limitText = params.get('limit');
      const limit = limitText === null ? undefined : /^\d{1,4}$/.test(limitText) ? Number(limitText) : limitText;
      sendJson(res, 200, await queries.history(org, queries.checkHistoryArgs(service, limit, params.get('before') ?? undefined)));
    } catch (err) {
      const error = err instanceof RoomwireError ? err : new RoomwireError('RW_ERR_INTERNAL', 'internal error');
      if (error.code === 'RW_ERR_INTERNAL' || error.code === 'RW_ERR_UNAVAILABLE') options.logger.error({ err }, `${path} failed`);
      sendJson(res, ERROR_CODES[error.code].httpStatus, { error: error.toJSON() });
    }
  };
  return (req, res) => {
    const raw = req.url ?? '/';
    const path = raw.split('?')[0];
    if (path !== '/v1/presence' && path !== '/v1/history') return false;
    void answer(path, raw, req, res);
    return true;
  };
}
