import { io as ioClient } from 'socket.io-client';
import { serviceRoom, type EventEnvelope } from '@roomwire/shared';
import { DEFAULT_WAIT_MS, waitFor, waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2 });
});

afterAll(async () => {
  await cluster?.cleanup();
});

test('a burst travels as compressed frames (binary) and the client hands out every event in order', async () => {
  const [a, b] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
  const org = uniqueOrg();
  const raw = ioClient(b.url, { transports: ['websocket'], auth: { token: await signToken({ org, services: ['billing'] }), v: 1 } });
  const rawFrames: unknown[] = [];
  raw.on('rw:event', (frame: unknown) => rawFrames.push(frame));
  await waitFor(raw, 'connect', DEFAULT_WAIT_MS, 'raw connect');
  expect(await raw.emitWithAck('rw:subscribe', { services: ['billing'] })).toMatchObject({ ok: true });
  const client = cluster.client({ url: a.url, token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
  const received: EventEnvelope[] = [];
  client.on('billing', 'invoice.paid', (_d, e) => received.push(e));
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });

  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) => cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `burst-${i}`, amountCents: i })),
  );
  await waitUntil(() => received.length === 60, { what: '60 events on the client' });
  expect(received.map((e) => e.id)).toEqual(results.map((r) => r.id));
  expect(received.every((e) => e.org === org && e.service === 'billing')).toBe(true);
  await waitUntil(() => rawFrames.length >= 2, { what: 'frames on the raw socket' });
  const compressed = rawFrames.filter((f) => Buffer.isBuffer((f as { z?: unknown }).z));
  expect(compressed.length).toBeGreaterThan(0);
  expect(compressed.every((f) => (f as { n: number }).n > 1)).toBe(true);
  raw.close();
  expect(serviceRoom(org, 'billing')).toContain(org);
});
