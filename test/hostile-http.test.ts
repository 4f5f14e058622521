import { Agent } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { RoomwireNode } from '@roomwire/server';
import type { EventEnvelope } from '@roomwire/shared';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { rawBody, rawStatus, sendRaw, sendRequest, type RawResponse } from './support/hostile-http';
import { createRng } from './support/hostile-sockets';
import { TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

const LIMIT = 65_536;
let cluster: TestCluster;
let node: RoomwireNode;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  node = cluster.nodes[0] as RoomwireNode;
});

afterAll(async () => {
  await cluster?.cleanup();
});

const AUTH = { Authorization: `Bearer ${TEST_PUBLISH_KEY}` };
const JSON_HEADERS = { ...AUTH, 'Content-Type': 'application/json' };
const valid = (org = 'acme'): Record<string, unknown> => ({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 1 } });

function publish(body: string | Buffer, headers: Record<string, string | string[]> = JSON_HEADERS): Promise<RawResponse> {
  return sendRequest(node.url, { headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, chunks: [body] });
}

/** Why: every refusal must be a JSON error with a catalogued code and the status that code maps to. */
function expectJsonError(res: RawResponse, status: number, code: string): void {
  expect({ status: res.status, error: res.error, type: res.headers['content-type'] }).toEqual({ status, error: undefined, type: 'application/json; charset=utf-8' });
  expect(JSON.parse(res.body)).toEqual({ error: { code, message: expect.any(String) } });
}

describe('malformed bodies', () => {
  test.each([
    ['an empty body', ''],
    ['whitespace', '   \n\t'],
    ['a truncated object', '{"org": '],
    ['two objects', '{"a":1}{"b":2}'],
    ['a trailing comma', '{"org":"acme",}'],
    ['single quotes', "{'org':'acme'}"],
    ['a comment', '{/* hi */"org":"acme"}'],
    ['NaN', '{"org":NaN}'],
    ['a byte-order mark', `\ufeff${JSON.stringify(valid())}`],
    ['null', 'null'],
    ['true', 'true'],
    ['a number', '12'],
    ['a string', '"acme"'],
    ['an array', '[]'],
    ['an array of one valid request', `[${JSON.stringify(valid())}]`],
    ['an empty object', '{}'],
    ['a lone surrogate escape in the org', '{"org":"\\ud800","service":"billing","type":"invoice.paid","data":{}}'],
  ])('%s is an invalid request', async (_name, body) => {
    expectJsonError(await publish(body), 400, 'RW_ERR_INVALID_REQUEST');
  });

  test('invalid UTF-8 bytes are an invalid request', async () => {
    expectJsonError(await publish(Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0x7d])), 400, 'RW_ERR_INVALID_REQUEST');
  });

  test('30 000 levels of nesting inside the limit are refused as an invalid payload, and the node stays up', async () => {
    const body = `{"org":"acme","service":"billing","type":"invoice.paid","data":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    expectJsonError(await publish(body), 400, 'RW_ERR_INVALID_PAYLOAD');
  });

  test('a gzip-encoded body is not decoded: an invalid request', async () => {
    const body = gzipSync(JSON.stringify(valid()));
    const res = await sendRequest(node.url, { headers: { ...JSON_HEADERS, 'Content-Encoding': 'gzip', 'Content-Length': String(body.length) }, chunks: [body] });
    expectJsonError(res, 400, 'RW_ERR_INVALID_REQUEST');
  });
});

describe('text that is not valid Unicode', () => {
  /** A publish body whose `data.invoiceId` is `inside`, given as raw bytes (not re-encoded). */
  const withInvoiceId = (inside: Buffer | string, org = 'acme'): Buffer =>
    Buffer.concat([Buffer.from(`{"org":"${org}","service":"billing","type":"invoice.paid","data":{"invoiceId":"in_`), Buffer.from(inside), Buffer.from('","amountCents":1}}')]);

  test.each([
    ['a byte that is never UTF-8 (0xFF)', Buffer.from([0xff])],
    ['a lone continuation byte', Buffer.from([0x80])],
    ['an overlong encoding of "/"', Buffer.from([0xc0, 0xaf])],
    ['an encoded surrogate (CESU-8)', Buffer.from([0xed, 0xa0, 0x80])],
    ['a truncated three-byte sequence', Buffer.from([0xe2, 0x82])],
    ['a code point above U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
    ['a lone high surrogate escape', '\\ud800'],
    ['a lone low surrogate escape', '\\udc00'],
    ['a surrogate pair in the wrong order', '\\udc00\\ud800'],
    ['a high surrogate escape before a plain character', '\\ud83dx'],
  ])('%s inside a string of data is an invalid request', async (_name, inside) => {
    expectJsonError(await publish(withInvoiceId(inside)), 400, 'RW_ERR_INVALID_REQUEST');
  });

  test('a lone surrogate escape in a key of data is an invalid request', async () => {
    const body = '{"org":"acme","service":"billing","type":"invoice.paid","data":{"invoiceId":"in_1","amountCents":1,"\\ud800":true}}';
    expectJsonError(await publish(body), 400, 'RW_ERR_INVALID_REQUEST');
  });

  test('a lone surrogate escape in the idempotency key is an invalid request', async () => {
    expectJsonError(await publish(JSON.stringify({ ...valid(), idempotencyKey: 'k' }).replace('"k"', '"k\\udfff"')), 400, 'RW_ERR_INVALID_REQUEST');
  });

  test('only valid text is delivered, and exactly as sent: raw UTF-8, escaped pairs, and an escaped backslash before "ud800"', async () => {
    const org = uniqueOrg('unicode');
    const client = cluster.client({ token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
    const got: EventEnvelope[] = [];
    client.onEvent((e) => got.push(e));
    await waitUntil(() => client.state === 'connected', { what: 'client connected' });
    expect((await publish(withInvoiceId(Buffer.from([0xed, 0xa0, 0x80]), org))).status).toBe(400);
    expect((await publish(withInvoiceId('\\ud800', org))).status).toBe(400);
    for (const inside of ['h\u00e9 \u{1f600}', '\\ud83d\\ude00', '\\\\ud800']) {
      expect((await publish(withInvoiceId(inside, org))).status).toBe(200);
    }
    await waitUntil(() => got.length === 3, { what: 'the three valid events' });
    expect(got.map((e) => (e.data as { invoiceId: string }).invoiceId)).toEqual(['in_h\u00e9 \u{1f600}', 'in_\u{1f600}', 'in_\\ud800']);
  });
});

describe('hostile fields', () => {
  test.each([
    ['an org with a toString key', { org: { toString: 1 } }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a service with a toString key', { service: { toString: 1 } }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['an org with toString and valueOf keys', { org: { toString: 'x', valueOf: {} } }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a room-name injection in the org', { org: 'acme:svc:billing' }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a path in the org', { org: '../acme' }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a 65-character org', { org: 'a'.repeat(65) }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a 60 000-character org', { org: 'a'.repeat(60_000) }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a unicode org', { org: 'ácme' }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a number org', { org: 7 }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['an array org', { org: ['acme'] }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a missing org', { org: undefined }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a room-name injection in the service', { service: 'billing:svc:x' }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a missing service', { service: undefined }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a number type', { type: 1 }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['an object type', { type: { toString: 1 } }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a missing type', { type: undefined }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['an empty idempotency key', { idempotencyKey: '' }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a 257-character idempotency key', { idempotencyKey: 'k'.repeat(257) }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a number idempotency key', { idempotencyKey: 5 }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['a null idempotency key', { idempotencyKey: null }, 400, 'RW_ERR_INVALID_REQUEST'],
    ['an unknown service', { service: 'payroll' }, 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['constructor as the service', { service: 'constructor' }, 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['an unknown type', { type: 'invoice.voided' }, 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['__proto__ as the type', { type: '__proto__' }, 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['toString as the type', { type: 'toString' }, 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['an empty type', { type: '' }, 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['a type of another service', { type: 'ticket.updated' }, 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['missing data', { data: undefined }, 400, 'RW_ERR_INVALID_PAYLOAD'],
    ['data of the wrong shape', { data: { invoiceId: '', amountCents: -1 } }, 400, 'RW_ERR_INVALID_PAYLOAD'],
    // A body just under the limit: the envelope adds an id and a timestamp and goes over it.
    ['an envelope over the limit', { data: { invoiceId: 'x'.repeat(LIMIT - 20 - JSON.stringify(valid()).length + 'in_1'.length), amountCents: 1 } }, 413, 'RW_ERR_PAYLOAD_TOO_LARGE'],
  ])('%s is refused', async (_name, override, status, code) => {
    const res = await publish(JSON.stringify({ ...valid(), ...override }));
    expectJsonError(res, status, code);
    if (status === 413) expect(res.headers.connection).toBe('close');
  });

  test('an org nobody listens to is accepted: orgs are names, not a catalog', async () => {
    const res = await publish(JSON.stringify(valid(uniqueOrg('nobody'))));
    expect(res.status).toBe(200);
  });

  test('prototype keys in the body and in data pollute nothing and are stripped from the envelope', async () => {
    const org = uniqueOrg('proto');
    const client = cluster.client({ token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
    const got: EventEnvelope[] = [];
    client.onEvent((e) => got.push(e));
    await waitUntil(() => client.state === 'connected', { what: 'client connected' });
    const body = `{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"org":"${org}","service":"billing","type":"invoice.paid","data":{"__proto__":{"polluted":1},"invoiceId":"p","amountCents":1,"extra":"x"}}`;
    const res = await publish(body);
    expect(res.status).toBe(200);
    await waitUntil(() => got.length === 1, { what: 'the event' });
    expect(got[0]?.data).toEqual({ invoiceId: 'p', amountCents: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('content types', () => {
  test.each([[undefined], ['text/plain'], ['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x'], ['application/jsonx'], ['application/json-seq'], ['xapplication/json'], ['application/octet-stream'], ['application'], ['']])(
    'Content-Type %p is refused with 415',
    async (type) => {
      const headers: Record<string, string> = { ...AUTH };
      if (type !== undefined) headers['Content-Type'] = type;
      expectJsonError(await publish(JSON.stringify(valid()), headers), 415, 'RW_ERR_UNSUPPORTED_MEDIA_TYPE');
    },
  );

  test.each([['APPLICATION/JSON'], ['application/json; charset=utf-8'], ['application/json;'], [' application/json ; foo=bar']])('Content-Type %p is accepted', async (type) => {
    expect((await publish(JSON.stringify(valid()), { ...AUTH, 'Content-Type': type })).status).toBe(200);
  });
});

describe('keys', () => {
  test.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a bare scheme', 'Bearer'],
    ['a scheme and a space', 'Bearer '],
    ['another scheme', `Basic ${Buffer.from(`user:${TEST_PUBLISH_KEY}`).toString('base64')}`],
    ['a token scheme', `Token ${TEST_PUBLISH_KEY}`],
    ['a key with a suffix', `Bearer ${TEST_PUBLISH_KEY}x`],
    ['a key prefix', `Bearer ${TEST_PUBLISH_KEY.slice(0, -1)}`],
    ['a key in upper case', `Bearer ${TEST_PUBLISH_KEY.toUpperCase()}`],
    ['two keys', `Bearer ${TEST_PUBLISH_KEY} ${TEST_PUBLISH_KEY}`],
    ['a comma list', `Bearer nope, Bearer ${TEST_PUBLISH_KEY}`],
    ['a 10 KB key', `Bearer ${'k'.repeat(10_000)}`],
  ])('%s is refused with 401', async (_name, header) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (header !== undefined) headers.Authorization = header;
    expectJsonError(await publish(JSON.stringify(valid()), headers), 401, 'RW_ERR_UNAUTHORIZED');
  });

  test('the scheme is case-insensitive', async () => {
    expect((await publish(JSON.stringify(valid()), { 'Content-Type': 'application/json', Authorization: `bEARER ${TEST_PUBLISH_KEY}` })).status).toBe(200);
  });

  test('a wrong key is refused before the body is read: an oversized or malformed body still gets 401', async () => {
    const headers = { 'Content-Type': 'application/json', Authorization: 'Bearer wrong-key-wrong-key' };
    expectJsonError(await publish('{', headers), 401, 'RW_ERR_UNAUTHORIZED');
    expectJsonError(await publish('x'.repeat(LIMIT + 1), headers), 401, 'RW_ERR_UNAUTHORIZED');
  });

  test('2000 requests with bad keys in a row are each refused with 401, and the right key still works', async () => {
    const rng = createRng(0xbadc0de);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const statuses = new Map<number, number>();
      const body = JSON.stringify(valid());
      for (let round = 0; round < 250; round++) {
        const batch = await Promise.all(
          Array.from({ length: 8 }, () => {
            const key = Array.from({ length: rng.int(1, 64) }, () => String.fromCharCode(rng.int(0x21, 0x7e))).join('');
            return sendRequest(node.url, { agent, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}`, 'Content-Length': String(body.length) }, chunks: [body] });
          }),
        );
        for (const res of batch) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
      expect(Object.fromEntries(statuses)).toEqual({ 401: 2000 });
    } finally {
      agent.destroy();
    }
    expect((await publish(JSON.stringify(valid()))).status).toBe(200);
  });
});

describe('oversized bodies', () => {
  const big = (bytes: number): string => JSON.stringify({ ...valid(), data: { invoiceId: 'x'.repeat(bytes), amountCents: 1 } });

  test('a declared length over the limit is refused with 413 before the body is read', async () => {
    const body = big(300_000);
    const res = await sendRequest(node.url, { headers: { ...JSON_HEADERS, 'Content-Length': String(body.length) }, chunks: [body] });
    expectJsonError(res, 413, 'RW_ERR_PAYLOAD_TOO_LARGE');
    expect(res.headers.connection).toBe('close');
  });

  test('a declared length far over the limit with a short body is refused with 413 at once', async () => {
    // "At once": not after waiting for the gigabyte announced, which never comes (a busy machine may take seconds).
    const res = await sendRequest(node.url, { headers: { ...JSON_HEADERS, 'Content-Length': '1000000000' }, chunks: ['{}'], timeoutMs: 10_000 });
    expectJsonError(res, 413, 'RW_ERR_PAYLOAD_TOO_LARGE');
  });

  test.each([
    ['one 300 KB chunk', [big(300_000)]],
    ['many 8 KB chunks', Array.from({ length: 40 }, () => 'x'.repeat(8192))],
    ['a body just over the limit', ['y'.repeat(LIMIT + 1)]],
  ])('a chunked body of %s (no declared length) is refused with 413', async (_name, chunks) => {
    const res = await sendRequest(node.url, { headers: { ...JSON_HEADERS, 'Transfer-Encoding': 'chunked' }, chunks });
    expectJsonError(res, 413, 'RW_ERR_PAYLOAD_TOO_LARGE');
    expect(res.headers.connection).toBe('close');
  });

  test('a body of exactly the limit is read (padding is not an error)', async () => {
    const json = JSON.stringify(valid());
    const res = await publish(json + ' '.repeat(LIMIT - json.length));
    expect(res.status).toBe(200);
  });
});

describe('methods, routes and odd headers', () => {
  test.each([['GET'], ['PUT'], ['DELETE'], ['PATCH'], ['OPTIONS']])('%s /v1/publish is refused with 405 and Allow: POST', async (method) => {
    const res = await sendRequest(node.url, { method, headers: JSON_HEADERS });
    expectJsonError(res, 405, 'RW_ERR_METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('POST');
  });

  test.each([['/v1/publish/'], ['/V1/PUBLISH'], ['/v1/publish/../publish'], ['/v1//publish'], ['/v1/publish%00'], ['/%2e%2e/v1/publish'], [`/v1/${'x'.repeat(8000)}`]])(
    'POST %s is a JSON 404',
    async (path) => {
      expectJsonError(await sendRequest(node.url, { path, headers: JSON_HEADERS, chunks: [JSON.stringify(valid())] }), 404, 'RW_ERR_NOT_FOUND');
    },
  );

  test('a query string does not change the route', async () => {
    expect((await sendRequest(node.url, { path: '/v1/publish?org=evil&x=../', headers: JSON_HEADERS, chunks: [JSON.stringify(valid())] })).status).toBe(200);
  });

  test('duplicate Authorization headers with a wrong first key are refused', async () => {
    const body = JSON.stringify(valid());
    const res = await sendRaw(
      node.url,
      `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-wrong-wrong\r\nAuthorization: Bearer ${TEST_PUBLISH_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(rawStatus(res.text)).toBe(401);
    expect(JSON.parse(rawBody(res.text))).toEqual({ error: { code: 'RW_ERR_UNAUTHORIZED', message: expect.any(String) } });
  });

  test('duplicate Content-Type headers with a non-JSON first are refused with 415', async () => {
    const body = JSON.stringify(valid());
    const res = await sendRaw(
      node.url,
      `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_PUBLISH_KEY}\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(rawStatus(res.text)).toBe(415);
  });

  test.each([
    ['conflicting Content-Length headers', 'Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
    ['Content-Length and Transfer-Encoding together', 'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'],
    ['a negative Content-Length', 'Content-Length: -1\r\n\r\n{}'],
    ['a non-numeric Content-Length', 'Content-Length: abc\r\n\r\n{}'],
    ['a bad chunk size', 'Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['a header without a colon', 'Bogus header line\r\nContent-Length: 2\r\n\r\n{}'],
    ['a 20 KB header', `X-Pad: ${'p'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`],
  ])('%s are refused by the HTTP parser with a 4xx and a close', async (_name, tail) => {
    const res = await sendRaw(node.url, `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_PUBLISH_KEY}\r\nContent-Type: application/json\r\n${tail}`);
    expect(rawStatus(res.text)).toBeGreaterThanOrEqual(400);
    expect(rawStatus(res.text)).toBeLessThan(500);
    expect(res.closedByServer).toBe(true);
  });

  test('garbage instead of HTTP gets a 400 and a close', async () => {
    const res = await sendRaw(node.url, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect(rawStatus(res.text)).toBe(400);
    expect(res.closedByServer).toBe(true);
  });
});

test('after all of it the node is up and a legitimate publish is delivered', async () => {
  expect((await sendRequest(node.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
  const org = uniqueOrg('after');
  const client = cluster.client({ token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
  const got: EventEnvelope[] = [];
  client.onEvent((e) => got.push(e));
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });
  const res = await publish(JSON.stringify(valid(org)));
  expect(res.status).toBe(200);
  const { id } = JSON.parse(res.body) as { id: string };
  await waitUntil(() => got.some((e) => e.id === id), { what: 'the legitimate event' });
  expect(got.map((e) => e.id)).toEqual([id]);
});
