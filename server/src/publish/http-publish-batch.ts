import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, MAX_BATCH_EVENTS, RoomwireError } from '@roomwire/shared';
import type { Logger } from 'pino';
import { digest, matchesKey, readJson, sendJson } from './http-publish';
import { publishBatch } from './publish-batch';
import type { PublishFn } from './publish-pipeline';

/** Options of the batch publish API. */
export interface HttpBatchPublishOptions {
  publish: PublishFn;
  /** The bearer key; without one every request is refused. */
  apiKey: string | undefined;
  /** Largest accepted body, in bytes (each event's envelope is also held to the node's `maxPayloadBytes`). */
  maxBodyBytes: number;
  logger: Logger;
  /** Counts the batch's events against its key's rate (one point per event). */
  takePublish?(apiKey: string, points: number): Promise<void>;
}

/**
 * `POST /v1/publish/batch`: `Authorization: Bearer <key>`, JSON `{ events: [ { org, service, type, data,
 * idempotencyKey? }, … ] }` (1 to 100) → 200 `{ results: [ { id, offset, duplicate } | { error: { code,
 * message } }, … ] }`, one per event, in order. What concerns the whole request (key, media type, body
 * size, JSON, shape, rate) is answered with an error status as `POST /v1/publish` does.
 */
export function createHttpBatchPublishHandler(options: HttpBatchPublishOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const expected = options.apiKey === undefined ? undefined : digest(options.apiKey);
  return async (req, res) => {
    try {
      if (expected === undefined || !matchesKey(req.headers.authorization, expected)) {
        throw new RoomwireError('RW_ERR_UNAUTHORIZED', 'missing or invalid publish API key (Authorization: Bearer <key>)');
      }
      // One point before the body is read (as a single publish), the rest once the events are counted.
      await options.takePublish?.(options.apiKey as string, 1);
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/json') throw new RoomwireError('RW_ERR_UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
      const body = await readJson(req, options.maxBodyBytes);
      const events = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { events?: unknown }).events : undefined;
      if (!Array.isArray(events) || events.length === 0 || events.length > MAX_BATCH_EVENTS) {
        throw new RoomwireError('RW_ERR_INVALID_REQUEST', `the body must be a JSON object { events: [ … ] } with 1 to ${MAX_BATCH_EVENTS} events`);
      }
      if (events.length > 1) await options.takePublish?.(options.apiKey as string, events.length - 1);
      const results = await publishBatch(options.publish, events);
      const failed = results.find((r) => 'error' in r && (r.error.code === 'RW_ERR_INTERNAL' || r.error.code === 'RW_ERR_UNAVAILABLE'));
      if (failed) options.logger.error({ error: 'error' in failed ? failed.error : undefined }, 'batch publish: events failed');
      sendJson(res, 200, { results });
    } catch (err) {
      const error = err instanceof RoomwireError ? err : new RoomwireError('RW_ERR_INTERNAL', 'internal error');
      if (error.code === 'RW_ERR_INTERNAL') options.logger.error({ err }, 'batch publish failed');
      if (error.code === 'RW_ERR_PAYLOAD_TOO_LARGE') res.setHeader('Connection', 'close');
      const retryAfter = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
      if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
      sendJson(res, ERROR_CODES[error.code].httpStatus, { error: error.toJSON() });
    }
  };
}
