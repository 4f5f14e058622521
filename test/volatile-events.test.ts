import { randomBytes } from 'node:crypto';
import { createClient as createRedisClient } from 'redis';
import { partitionKeys } from '../server/src/stream/partitions';
import type { EventEnvelope } from '@roomwire/shared';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2, node: { slowConsumerGraceMs: 60_000 } });
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await cluster?.cleanup();
});

/** Frames in the stream (heartbeats, which idle readers write, left out). */
async function streamLength(): Promise<number> {
  const redis = createRedisClient({ url: cluster.redis.url });
  await redis.connect();
  try {
    const entries = await redis.xRange(partitionKeys('roomwire', 0, 1).stream, '-', '+');
    return entries.filter((e) => e.message.h === undefined).length;
  } finally {
    await redis.close();
  }
}

test('volatile events reach connected clients on every node, stay out of the stream, and are never replayed', async () => {
  const [a, b] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
  const org = uniqueOrg();
  const proxy = await startTcpProxy(Number(new URL(a.url).port));
  proxies.push(proxy);
  const token = () => signToken({ org, services: '*' });
  const cut = cluster.client({ url: proxy.url, token, services: ['presence', 'billing'] });
  const other = cluster.client({ url: b.url, token, services: ['presence'] });
  const cutGot: EventEnvelope[] = [];
  const otherGot: EventEnvelope[] = [];
  cut.onEvent((e) => cutGot.push(e));
  other.onEvent((e) => otherGot.push(e));
  await waitUntil(() => cut.state === 'connected' && other.state === 'connected', { what: 'clients connected' });

  const live = await cluster.publisher.to(org, 'presence').emit('user.typing', { userId: 'u1' });
  expect(live.offset).toBeNull();
  await waitUntil(() => cutGot.length === 1 && otherGot.length === 1, { what: 'the live volatile event on both nodes' });

  proxy.cut();
  await waitUntil(() => cut.state === 'reconnecting', { what: 'the cut' });
  const before = await streamLength();
  // Socket.IO drops a volatile packet when the transport is busy, so each waits for the last to arrive.
  for (let i = 0; i < 20; i++) {
    await cluster.publisher.to(org, 'presence').emit('user.typing', { userId: `u${i}` });
    await waitUntil(() => otherGot.length === i + 2, { what: `volatile event ${i} on the connected client` });
  }
  expect(await streamLength()).toBe(before);
  const durable = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'd', amountCents: 1 });
  proxy.restore();

  await waitUntil(() => cutGot.some((e) => e.id === durable.id), { what: 'the durable event replayed' });
  // The 20 volatile events published during the cut are not replayed, and not counted as loss.
  expect(cutGot.map((e) => e.type)).toEqual(['user.typing', 'invoice.paid']);
  // The recovery is counted when its answer arrives, which may be just after the replayed event.
  await waitUntil(() => cut.metrics().recoveries.recovered + cut.metrics().recoveries.resynced > 0, { what: 'the recovery counted' });
  expect(cut.metrics().recoveries).toEqual({ recovered: 1, resynced: 0 });
});

test('a socket under pressure is skipped for volatile events but still gets every durable one', async () => {
  const [a] = cluster.nodes as [TestCluster['nodes'][0]];
  const org = uniqueOrg();
  const proxy = await startTcpProxy(Number(new URL(a.url).port));
  proxies.push(proxy);
  const token = () => signToken({ org, services: '*' });
  const pressured = cluster.client({ url: proxy.url, token, services: ['presence', 'billing'] });
  const healthy = cluster.client({ url: a.url, token, services: ['presence', 'billing'] });
  const pressuredGot: EventEnvelope[] = [];
  const healthyGot: EventEnvelope[] = [];
  pressured.onEvent((e) => pressuredGot.push(e));
  healthy.onEvent((e) => healthyGot.push(e));
  await waitUntil(() => pressured.state === 'connected' && healthy.state === 'connected', { what: 'clients connected' });

  proxy.pauseDownstream();
  const durableIds: string[] = [];
  // Random, so frame compression cannot shrink it: the bytes really pile up.
  const filler = (): string => randomBytes(3072).toString('base64');
  while (a.stats().pressuredSockets === 0) {
    const chunk = await Promise.all(
      Array.from({ length: 25 }, (_, i) => a.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: filler(), amountCents: durableIds.length + i } })),
    );
    durableIds.push(...chunk.map((r) => r.id));
    if (durableIds.length > 20_000) throw new Error('the paused socket never came under pressure');
  }
  const typingOn = (got: EventEnvelope[]) => got.filter((e) => e.type === 'user.typing').length;
  for (let i = 0; i < 50; i++) {
    await a.publish({ org, service: 'presence', type: 'user.typing', data: { userId: `u${i}` } });
    await waitUntil(() => typingOn(healthyGot) === i + 1, { what: `volatile event ${i} on the healthy client` });
  }
  const marker = await a.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'marker', amountCents: 0 } });
  durableIds.push(marker.id);
  expect(a.stats().slowConsumerEvictions).toBe(0);
  proxy.resumeDownstream();

  await waitUntil(() => pressuredGot.some((e) => e.id === marker.id), { what: 'the marker on the pressured client', timeoutMs: 20_000 });
  await waitUntil(() => healthyGot.some((e) => e.id === marker.id), { what: 'the marker on the healthy client' });
  expect(pressuredGot.filter((e) => e.type === 'invoice.paid').map((e) => e.id)).toEqual(durableIds);
  expect(pressuredGot.filter((e) => e.type === 'user.typing')).toEqual([]);
  expect(healthyGot.filter((e) => e.type === 'user.typing')).toHaveLength(50);
});
