/**
 * Every error Roomwire reports carries one of these stable codes: in handshake errors
 * (`connect_error` → `err.data.code`), in acks of client requests, in `rw:error` notices, and in the
 * HTTP publish API (`{ error: { code, message } }`). `retryable` says whether the same request may
 * succeed later without a change; `httpStatus` is the status the HTTP API answers with. The last
 * three (`Client-side:`) never travel: the client rejects its own promises with them, and their
 * status is only the nearest HTTP meaning (499 "client closed request", 504 "timeout").
 */
export const ERROR_CODES = {
  RW_ERR_UNAUTHORIZED: { httpStatus: 401, retryable: false, summary: 'Missing, malformed or wrongly signed credentials.' },
  RW_ERR_TOKEN_EXPIRED: { httpStatus: 401, retryable: true, summary: 'The token has expired; fetch a fresh one and reconnect.' },
  RW_ERR_FORBIDDEN: { httpStatus: 403, retryable: false, summary: "The request is outside the token's claims (org or services)." },
  RW_ERR_INVALID_REQUEST: { httpStatus: 400, retryable: false, summary: 'The request is malformed (shape, names, content type, JSON).' },
  RW_ERR_UNKNOWN_EVENT: { httpStatus: 400, retryable: false, summary: 'The service or event type is not in the catalog.' },
  RW_ERR_INVALID_PAYLOAD: { httpStatus: 400, retryable: false, summary: "The payload does not match the event type's schema." },
  RW_ERR_PAYLOAD_TOO_LARGE: { httpStatus: 413, retryable: false, summary: 'The request body or payload exceeds the size limit.' },
  RW_ERR_UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, retryable: false, summary: 'The request body is not application/json.' },
  RW_ERR_UNSUPPORTED_PROTOCOL: { httpStatus: 400, retryable: false, summary: 'The client speaks a protocol version this node does not.' },
  RW_ERR_UNAVAILABLE: { httpStatus: 503, retryable: true, summary: 'Redis is unreachable or the node is draining; retry.' },
  RW_ERR_RATE_LIMITED: { httpStatus: 429, retryable: true, summary: 'Too many requests; retry after a pause.' },
  RW_ERR_SLOW_CONSUMER: { httpStatus: 503, retryable: true, summary: 'The socket could not keep up and was closed; reconnect to recover.' },
  RW_ERR_DRAINING: { httpStatus: 503, retryable: true, summary: 'The node is shutting down; reconnect (to another node) to recover.' },
  RW_ERR_CONNECTION_LIMIT: { httpStatus: 503, retryable: true, summary: 'The node is at its connection limit; retry later or through another node.' },
  RW_ERR_NOT_FOUND: { httpStatus: 404, retryable: false, summary: 'No such route.' },
  RW_ERR_METHOD_NOT_ALLOWED: { httpStatus: 405, retryable: false, summary: 'The route exists but not for this HTTP method.' },
  RW_ERR_INTERNAL: { httpStatus: 500, retryable: true, summary: 'An unexpected server error.' },
  RW_ERR_CLOSED: { httpStatus: 499, retryable: false, summary: 'Client-side: the client was closed, or stopped for good, before the server confirmed the request.' },
  RW_ERR_CANCELLED: { httpStatus: 499, retryable: false, summary: 'Client-side: a later call for the same service replaced the request before the server confirmed it.' },
  RW_ERR_TIMEOUT: { httpStatus: 504, retryable: true, summary: 'Client-side: the server did not confirm the request in time; the client keeps trying.' },
} as const;

/** A stable Roomwire error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The error object on the wire: in acks, notices, handshake errors and HTTP error bodies. */
export interface RwErrorPayload {
  code: ErrorCode;
  message: string;
}

/** Why: clients retry retryable errors (with backoff) and surface the others to the app. */
export function isRetryable(code: ErrorCode): boolean {
  return ERROR_CODES[code].retryable;
}

/** Why: an unknown string from the wire must not be trusted as a code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/**
 * An error with a stable code, thrown by the publisher and carried over the wire as
 * {@link RwErrorPayload}.
 *
 * @example
 * try { await publisher.to('acme', 'billing').emit('invoice.paid', data); }
 * catch (err) { if (err instanceof RoomwireError && err.code === 'RW_ERR_INVALID_PAYLOAD') … }
 */
export class RoomwireError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'RoomwireError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = details;
  }

  toJSON(): RwErrorPayload {
    return { code: this.code, message: this.message };
  }
}
