import { randomBytes } from 'node:crypto';
import { answers200, freePort, spawnNode, startRedis, type ChildNodeHandle, type RedisServerHandle } from './harness';
import { sendRaw } from './support/hostile-http';
import { createRng, type Rng } from './support/hostile-sockets';

// A production-configured node (NODE_ENV=production, the CLI, a child process) with every optional
// feature on, sent every route × method × malformed path, with odd headers and bodies. However a
// request is shaped, the process must not end, and a malformed path must be answered with a 4xx.

const JWT_SECRET = randomBytes(32).toString('hex');
const PUBLISH_KEY = randomBytes(24).toString('hex');
const ADMIN_PASSWORD = randomBytes(12).toString('hex');

let redis: RedisServerHandle;
let child: ChildNodeHandle;
let url: string;
let exitedEarly: string | undefined;

beforeAll(async () => {
  redis = await startRedis();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  child = await spawnNode({
    readyUrl: `${url}/readyz`,
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      REDIS_URL: redis.url,
      JWT_SECRET,
      PUBLISH_API_KEY: PUBLISH_KEY,
      ADMIN_UI_USERNAME: 'ops',
      ADMIN_UI_PASSWORD: ADMIN_PASSWORD,
      CORS_ORIGINS: 'https://app.example.com',
      TRUST_PROXY: '1',
      COMPRESSION_THRESHOLD_BYTES: '256',
      LOG_LEVEL: 'warn',
    },
  });
  void child.exited.then((code) => {
    exitedEarly = `the node exited (code ${String(code)})`;
  });
}, 30_000);

afterAll(async () => {
  await child?.kill('SIGTERM');
  await redis?.cleanup();
});

const ROUTES = [
  '/',
  '/healthz',
  '/readyz',
  '/metrics',
  '/v1/status',
  '/v1/publish',
  '/v1/presence?org=acme&service=billing',
  '/v1/history?org=acme&service=billing&limit=5',
  '/assets/roomwire-client.mjs',
  '/assets/roomwire-client.mjs.map',
  '/admin',
  '/admin/',
  '/admin/index.html',
  '/admin/js/app.js',
  '/socket.io/',
  '/socket.io/?EIO=4&transport=polling',
  '/socket.io/?EIO=4&transport=websocket',
  '/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA',
  '/socket.io/?EIO=3&transport=polling&j=0',
  '/no-such-route',
];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'BREW'];

/** Ways to change a route's target. The first two keep its path: they are not malformed paths (a query is ignored where unused). */
const PATH_MUTATIONS: [string, (path: string) => string][] = [
  ['as is', (p) => p],
  ['a malformed query', (p) => `${p}${p.includes('?') ? '&' : '?'}%E0%A4%A=%&=&&a[=1`],
  ['a bare %', (p) => withSuffix(p, '%')],
  ['a truncated UTF-8 escape (%E0%A4%A)', (p) => withSuffix(p, '%E0%A4%A')],
  ['a non-hex escape (%ZZ)', (p) => withSuffix(p, '%ZZ')],
  ['an escaped NUL', (p) => withSuffix(p, '%00')],
  ['an overlong UTF-8 escape (%C0%AF)', (p) => withSuffix(p, '%C0%AF')],
  ['an escaped surrogate (%ED%A0%80)', (p) => withSuffix(p, '%ED%A0%80')],
  ['an escaped 0xFF', (p) => withSuffix(p, '%FF%FE')],
  ['an escaped traversal', (p) => withSuffix(p, '/..%2F..%2F..%2Fpackage.json')],
  ['a raw traversal', (p) => withSuffix(p, '/../../package.json')],
  ['a 6 KB segment', (p) => withSuffix(p, `/${'a'.repeat(6000)}`)],
  ['a doubled slash', (p) => `/${p}x`],
  ['a backslash', (p) => withSuffix(p, '\\..\\x')],
  ['the absolute form', (p) => `http://evil.example${p}%`],
  ['a path parameter', (p) => withSuffix(p, ';jsessionid=%E0')],
];

const KEEPS_PATH = new Set(['as is', 'a malformed query']);

/** Appends `suffix` to the path part of `p` (before its query). */
function withSuffix(p: string, suffix: string): string {
  const at = p.indexOf('?');
  return at < 0 ? `${p}${suffix}` : `${p.slice(0, at)}${suffix}${p.slice(at)}`;
}

const BODIES: (string | Buffer)[] = [
  '',
  '{}',
  JSON.stringify({ org: 'acme', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_fuzz', amountCents: 1 } }),
  '{"org":"acme","service":"billing","type":"invoice.paid","data":{"invoiceId":"\\ud800","amountCents":1}}',
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0xff, 0x22, 0x7d]),
  '{"org":',
  '[' .repeat(5000),
  '4\r\nabcd\r\n0\r\n\r\n',
  'x'.repeat(70_000),
  '40{"token":"x"}',
];

/** Header sets; each request gets one, and may add X-Forwarded-For and Origin. */
const HEADER_SETS: string[][] = [
  [],
  ['Content-Type: application/json'],
  ['Content-Type: application/json', `Authorization: Bearer ${PUBLISH_KEY}`],
  ['Content-Type: text/plain; charset=%E0%A4%A', 'Authorization: Bearer %E0%A4%A'],
  [`Authorization: Basic ${Buffer.from(`ops:${'x'.repeat(3000)}`).toString('base64')}`],
  ['Cookie: io=%E0%A4%A; rw_node=\u0000'.replace('\u0000', '%00'), 'Accept-Encoding: gzip;q=%, *;q=-1'],
  ['Upgrade: websocket', 'Connection: Upgrade'],
  ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='],
  ['Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'],
  ['Expect: 100-continue', 'Content-Type: application/json'],
  ['Expect: the-unexpected'],
  ['Range: bytes=0-1,2-3,-1'],
  ['Content-Encoding: gzip', 'Content-Type: application/json'],
  ['Transfer-Encoding: chunked'],
  [`X-Pad: ${'p'.repeat(9000)}`],
];

const FORWARDED = ['', 'X-Forwarded-For: %E0%A4%A, ::ffff:999.1.1.1, [::1]:99999, unknown', `X-Forwarded-For: ${Array.from({ length: 300 }, (_, i) => `10.0.${i % 256}.1`).join(', ')}`, 'X-Forwarded-For: 203.0.113.7'];
const ORIGINS = ['', 'Origin: https://evil.example', 'Origin: null', 'Origin: https://app.example.com', 'Origin: %E0%A4%A'];

/** One raw request: request line, headers (Host and Connection: close included), and the body framed by Content-Length or chunked. */
function buildRequest(rng: Rng, method: string, path: string): Buffer {
  const headers = [...rng.pick(HEADER_SETS), rng.pick(FORWARDED), rng.pick(ORIGINS)].filter((h) => h !== '');
  const body = Buffer.from(rng.chance(0.6) ? rng.pick(BODIES) : '');
  const chunked = headers.includes('Transfer-Encoding: chunked');
  const upgrade = headers.some((h) => h.startsWith('Upgrade:'));
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headers];
  if (!upgrade) lines.push('Connection: close');
  let payload = body;
  if (chunked) payload = body.length === 0 ? Buffer.from('0\r\n\r\n') : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
  else if (body.length > 0 || method === 'POST') lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), upgrade ? Buffer.alloc(0) : payload]);
}

/** The final status of a raw response (after any 100 Continue), 0 when there is none. */
function finalStatus(text: string): number {
  const statuses = [...text.matchAll(/(?:^|\r\n\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  return statuses.find((status) => status !== 100) ?? 0;
}

test('no request of any shape to any route ends the node; every answer is below 500, and malformed paths get a 4xx', async () => {
  const rng = createRng(0x5eed_f022);
  const cases: { method: string; route: string; mutation: string; request: Buffer }[] = [];
  for (const route of ROUTES)
    for (const method of METHODS)
      for (const [mutation, mutate] of PATH_MUTATIONS) cases.push({ method, route, mutation, request: buildRequest(rng, method, mutate(route)) });

  const problems: string[] = [];
  const statuses = new Map<number, number>();
  const CONCURRENCY = 8;
  for (let at = 0; at < cases.length && exitedEarly === undefined; at += CONCURRENCY) {
    const batch = cases.slice(at, at + CONCURRENCY);
    const results = await Promise.all(batch.map((c) => sendRaw(url, c.request, 3000)));
    results.forEach((res, i) => {
      const c = batch[i] as (typeof cases)[number];
      const status = finalStatus(res.text);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const what = `${c.method} ${c.route} (${c.mutation})`;
      const upgraded = status === 101;
      if (status === 0 && !upgraded) problems.push(`${what}: no answer: ${JSON.stringify(res.text.slice(0, 80))}`);
      else if (status >= 500 && !(status === 503 && c.route === '/readyz')) problems.push(`${what}: ${status} ${res.text.slice(res.text.indexOf('\r\n\r\n') + 4, 200)}`);
      else if (!KEEPS_PATH.has(c.mutation) && (status < 400 || status >= 500)) problems.push(`${what}: ${status}, expected a 4xx`);
    });
  }

  expect(exitedEarly).toBeUndefined();
  expect(await answers200(`${url}/healthz`)).toBe(true);
  expect(problems).toEqual([]);
  expect(child.output()).not.toMatch(/URIError|uncaught|HTTP request handler failed|HTTP route failed|HTTP upgrade handler failed/i);
  // The run covered what it meant to: refusals of every kind, and successes.
  expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400, 401, 404, 405]));
}, 180_000);

test('after the fuzz, a real publish still goes through', async () => {
  const res = await fetch(`${url}/v1/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${PUBLISH_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ org: 'acme', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'after-fuzz', amountCents: 1 } }),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ duplicate: false });
});
