import { io as ioClient } from 'socket.io-client';
import { createNode } from '@roomwire/server';
import type { RwErrorPayload } from '@roomwire/shared';
import { DEFAULT_WAIT_MS, waitFor } from './harness';
import { startCluster, testNodeOptions, type TestCluster } from './support/cluster';
import { handshake as connect } from './support/handshake';
import { recordingLogger } from './support/recording-logger';
import { TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 2,
    node: { trustProxy: 1, rateLimits: { handshakesPerIpPer10s: 6, clientEventsPerSocketPerSecond: 5, publishesPerKeyPerSecond: 10 } },
  });
});

afterAll(async () => {
  await cluster?.cleanup();
});

const node = (i: number): TestCluster['nodes'][0] => cluster.nodes[i] as TestCluster['nodes'][0];

const handshake = (url: string, ip: string, token: string): Promise<'connected' | RwErrorPayload> => connect(url, token, { 'X-Forwarded-For': ip });

test('handshakes per address are limited across the cluster, and other addresses are not affected', async () => {
  const token = await signToken({ org: uniqueOrg(), services: ['billing'] });
  const results: ('connected' | RwErrorPayload)[] = [];
  // Alternate nodes: the limit is shared through Redis, so the 7th handshake is refused wherever it lands.
  for (let i = 0; i < 8; i++) results.push(await handshake(node(i % 2).url, '203.0.113.7', token));
  expect(results.slice(0, 6)).toEqual(Array(6).fill('connected'));
  expect(results.slice(6)).toEqual([
    { code: 'RW_ERR_RATE_LIMITED', message: expect.stringMatching(/retry in \d+ s/) },
    { code: 'RW_ERR_RATE_LIMITED', message: expect.any(String) },
  ]);
  expect(await handshake(node(0).url, '203.0.113.8', token)).toBe('connected');
});

test('entries a client writes into X-Forwarded-For before the proxy\'s do not evade the per-address limit', async () => {
  const token = await signToken({ org: uniqueOrg(), services: ['billing'] });
  const results: ('connected' | RwErrorPayload)[] = [];
  // One proxy (trustProxy: 1) appended the client's real address last; everything left of it is the client's invention.
  for (let i = 0; i < 8; i++) results.push(await handshake(node(i % 2).url, `198.51.100.${i + 1}, 10.0.${i}.1, 203.0.113.20`, token));
  expect(results.slice(0, 6)).toEqual(Array(6).fill('connected'));
  expect(results.slice(6).map((r) => (r === 'connected' ? r : r.code))).toEqual(['RW_ERR_RATE_LIMITED', 'RW_ERR_RATE_LIMITED']);
});

test('a client that writes a victim\'s address into X-Forwarded-For uses up its own limit, not the victim\'s', async () => {
  const token = await signToken({ org: uniqueOrg(), services: ['billing'] });
  const attacker: ('connected' | RwErrorPayload)[] = [];
  for (let i = 0; i < 8; i++) attacker.push(await handshake(node(i % 2).url, '203.0.113.30, 203.0.113.31', token));
  expect(attacker.map((r) => (r === 'connected' ? r : r.code)).filter((r) => r !== 'connected')).toEqual(['RW_ERR_RATE_LIMITED', 'RW_ERR_RATE_LIMITED']);
  expect(await handshake(node(0).url, '203.0.113.30', token)).toBe('connected');
});

test('a node that trusts no proxy limits by the TCP peer, whatever X-Forwarded-For says, and warns once that it ignores the header', async () => {
  const { logger, lines } = recordingLogger('warn');
  const plain = await createNode(testNodeOptions({ logger, rateLimits: { handshakesPerIpPer10s: 2 } }));
  try {
    const token = await signToken({ org: uniqueOrg(), services: ['billing'] });
    const results: ('connected' | RwErrorPayload)[] = [];
    for (let i = 0; i < 4; i++) results.push(await handshake(plain.url, `203.0.113.${40 + i}`, token));
    expect(results.map((r) => (r === 'connected' ? r : r.code))).toEqual(['connected', 'connected', 'RW_ERR_RATE_LIMITED', 'RW_ERR_RATE_LIMITED']);
    const warnings = lines.filter((line) => /X-Forwarded-For/.test(line.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/set TRUST_PROXY/);
  } finally {
    await plain.close();
  }
});

test('a subscribe flood on one socket is answered with RW_ERR_RATE_LIMITED and runs nothing', async () => {
  const socket = ioClient(node(0).url, { transports: ['websocket'], reconnection: false, auth: { token: await signToken({ org: uniqueOrg(), services: '*' }), v: 1 }, extraHeaders: { 'X-Forwarded-For': '198.51.100.1' } });
  try {
    await waitFor(socket, 'connect', DEFAULT_WAIT_MS, 'connect');
    const acks = await Promise.all(Array.from({ length: 8 }, () => socket.emitWithAck('rw:subscribe', { services: ['billing'] })));
    expect(acks.filter((a) => a.ok)).toHaveLength(5);
    expect(acks.filter((a) => !a.ok).map((a) => a.error.code)).toEqual(Array(3).fill('RW_ERR_RATE_LIMITED'));
  } finally {
    socket.close();
  }
  const text = await (await fetch(`${node(0).url}/metrics`)).text();
  expect(text).toMatch(/roomwire_rate_limited_total\{[^}]*limit="client_event"[^}]*\} 3/);
});

test('HTTP publishes per key are limited with 429 and Retry-After', async () => {
  const org = uniqueOrg();
  // Sent at once, not one after another: twelve sequential round trips on a busy machine can outlast the
  // limiter's one-second window, and then a second window lets them all through.
  const answers = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const res = await fetch(`${node(i % 2).url}/v1/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TEST_PUBLISH_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: `r${i}`, amountCents: i } }),
      });
      if (res.status !== 429) {
        await res.body?.cancel();
        return { status: res.status, retryAfter: null, code: undefined };
      }
      return { status: res.status, retryAfter: res.headers.get('retry-after'), code: ((await res.json()) as { error: RwErrorPayload }).error.code };
    }),
  );
  const statuses = answers.map((a) => a.status);
  const refused = answers.filter((a) => a.status === 429);
  expect(refused.map((a) => a.code)).toEqual(refused.map(() => 'RW_ERR_RATE_LIMITED'));
  const retryAfter = refused[0]?.retryAfter ?? null;
  // At most 10 pass in the one-second window the first request opens; 11 only if the burst outlasts it.
  expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(11);
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
});

test('a batch publish counts one publish per event: a batch of more events than the per-key limit is refused whole with 429', async () => {
  const org = uniqueOrg();
  const events = Array.from({ length: 20 }, (_, i) => ({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: `b${i}`, amountCents: i } }));
  const res = await fetch(`${node(0).url}/v1/publish/batch`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_PUBLISH_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(((await res.json()) as { error: RwErrorPayload }).error.code).toBe('RW_ERR_RATE_LIMITED');
});
