import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, RoomwireError } from '@roomwire/shared';
import type { Logger } from 'pino';
import type { PublishFn } from './publish-pipeline';
import { isWellFormedValue } from './well-formed';

/** Options of the HTTP publish API. */
export interface HttpPublishOptions {
  publish: PublishFn;
  /** The bearer key; without one every request is refused. */
  apiKey: string | undefined;
  maxBodyBytes: number;
  logger: Logger;
  /** Counts each publish against its key's rate. */
  takePublish?(apiKey: string): Promise<void>;
}

/**
 * `POST /v1/publish`: `Authorization: Bearer <key>`, JSON `{ org, service, type, data, idempotencyKey? }`
 * → 200 `{ id, offset, duplicate }`; errors are `{ error: { code, message } }` with the code's status.
 */
export function createHttpPublishHandler(options: HttpPublishOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const expected = options.apiKey === undefined ? undefined : digest(options.apiKey);
  return async (req, res) => {
    try {
      if (expected === undefined || !matchesKey(req.headers.authorization, expected)) {
        throw new RoomwireError('RW_ERR_UNAUTHORIZED', 'missing or invalid publish API key (Authorization: Bearer <key>)');
      }
      await options.takePublish?.(options.apiKey as string);
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/json') {
        throw new RoomwireError('RW_ERR_UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
      }
      const body = await readJson(req, options.maxBodyBytes);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'the body must be a JSON object { org, service, type, data, idempotencyKey? }');
      }
      const { org, service, type, data, idempotencyKey } = body as Record<string, unknown>;
      const result = await options.publish({
        org: org as string,
        service: service as string,
        type: type as string,
        data,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey: idempotencyKey as string }),
      });
      sendJson(res, 200, result);
    } catch (err) {
      const error = err instanceof RoomwireError ? err : new RoomwireError('RW_ERR_INTERNAL', 'internal error');
      if (error.code === 'RW_ERR_INTERNAL' || error.code === 'RW_ERR_UNAVAILABLE') options.logger.error({ err }, 'publish failed');
      if (error.code === 'RW_ERR_PAYLOAD_TOO_LARGE') res.setHeader('Connection', 'close');
      const retryAfter = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
      if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
      sendJson(res, ERROR_CODES[error.code].httpStatus, { error: error.toJSON() });
    }
  };
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

/** Whether an `Authorization` header carries `Bearer <key>` for `key` (constant time; false without a key). */
export function matchesBearer(header: string | undefined, key: string | undefined): boolean {
  return key !== undefined && matchesKey(header, digest(key));
}

/** SHA-256 of a key: compared in constant time, never the key itself. */
export function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Whether an `Authorization` header carries the key whose digest is `expected`. */
export function matchesKey(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  // Compare digests: equal length, constant time.
  return match !== null && timingSafeEqual(digest(match[1] as string), expected);
}

/** Past the limit, this much more of a body is read and dropped before the refusal (see {@link readJson}). */
const DRAIN_BYTES = 1_048_576;

/**
 * Reads a body of at most `maxBytes` and parses it with {@link parseStrictJson}. A body found too long
 * while it arrives is read on, and dropped, up to {@link DRAIN_BYTES} more before the refusal is thrown.
 * Why: the refusal closes the connection; closing it while the client is still sending makes the
 * node's TCP answer the rest with a reset, and a reset can discard the 413 the client has not read yet
 * (the client then sees only EPIPE). A body far beyond the limit is cut at once.
 */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new RoomwireError('RW_ERR_PAYLOAD_TOO_LARGE', `the body is ${declared} bytes, more than the limit of ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes + DRAIN_BYTES) break;
    if (size <= maxBytes) chunks.push(chunk as Buffer);
  }
  if (size > maxBytes) throw new RoomwireError('RW_ERR_PAYLOAD_TOO_LARGE', `the body is more than the limit of ${maxBytes} bytes`);
  return parseStrictJson(Buffer.concat(chunks));
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a body as JSON, refusing (`RW_ERR_INVALID_REQUEST`) bytes that are not UTF-8 and strings or
 * keys with a lone surrogate (`"\ud800"`): either would reach subscribers as U+FFFD, an event that
 * differs from what was sent.
 */
export function parseStrictJson(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'the body is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'the body is not valid JSON');
  }
  if (!isWellFormedValue(parsed)) {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'the body has a string with a lone surrogate (an escape such as "\\ud800" without its pair): not valid Unicode');
  }
  return parsed;
}
