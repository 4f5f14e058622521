import { ERROR_CODES, type ErrorCode } from '@roomwire/shared';
import { STATUS_CODES } from 'node:http';

/**
 * A complete HTTP/1.1 error response, `{ error: { code, message } }` with the code's status and
 * `Connection: close`, for sockets that no `ServerResponse` serves (refused connections, upgrades and
 * CONNECT requests).
 */
export function rawErrorResponse(code: ErrorCode, message: string, headers: Record<string, string> = {}): string {
  const status = ERROR_CODES[code].httpStatus;
  const body = JSON.stringify({ error: { code, message } });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
