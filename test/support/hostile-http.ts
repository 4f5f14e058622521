import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { DEFAULT_WAIT_MS } from '../harness';

/** A response as the client saw it; `error` when the connection failed before a response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  error?: string;
}

/**
 * Sends one request with node:http (headers exactly as given, body written in `chunks`), and resolves
 * with the response or the connection error; never rejects. Times out after `timeoutMs`.
 */
export function sendRequest(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string | string[]>; chunks?: (string | Buffer)[]; agent?: Agent; timeoutMs?: number },
): Promise<RawResponse> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    let settled = false;
    let responded = false;
    const done = (value: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const req = request(
      { host: '127.0.0.1', port, method: options.method ?? 'POST', path: options.path ?? '/v1/publish', headers: options.headers ?? {}, agent: options.agent ?? false },
      (res) => {
        responded = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', (err) => done({ status: res.statusCode ?? 0, headers: res.headers, body, error: String(err) }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0, headers: {}, body: '', error: `no response within ${options.timeoutMs ?? DEFAULT_WAIT_MS} ms` });
    }, options.timeoutMs ?? DEFAULT_WAIT_MS);
    // A node that refuses a body answers and closes while the client may still be writing it: the write
    // then fails (EPIPE, ECONNRESET) after the answer arrived, and the answer is what counts.
    req.on('error', (err) => {
      if (!responded) done({ status: 0, headers: {}, body: '', error: String(err) });
    });
    const chunks = options.chunks ?? [];
    let i = 0;
    const writeNext = (): void => {
      if (req.destroyed) return;
      if (i >= chunks.length) {
        req.end();
        return;
      }
      req.write(chunks[i++] as string | Buffer, (err) => {
        if (!err) setImmediate(writeNext);
      });
    };
    writeNext();
  });
}

/** Writes `text` on a raw TCP connection and resolves with everything read until the server closes it (or `timeoutMs`). */
export function sendRaw(url: string, text: string | Buffer, timeoutMs = DEFAULT_WAIT_MS): Promise<{ text: string; closedByServer: boolean }> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let out = '';
    let closedByServer = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (out += chunk));
    socket.on('end', () => {
      closedByServer = true;
      socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: out, closedByServer });
    });
  });
}

/** The status code of a raw HTTP/1.1 response, 0 when there is none. */
export function rawStatus(text: string): number {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return match ? Number(match[1]) : 0;
}

/** The body of a raw HTTP/1.1 response (after the blank line). */
export function rawBody(text: string): string {
  const at = text.indexOf('\r\n\r\n');
  return at < 0 ? '' : text.slice(at + 4);
}
