import type { EventEnvelope } from '@roomwire/shared';
import type { RoomwireClient } from '@roomwire/client';
import { createClient as createRedisClient } from 'redis';
import { partitionKeys } from '../server/src/stream/partitions';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

// Every scenario twice: replayed from the node's memory (the default), and read from Redis in pages
// (a recovery cache too short to hold anything).
describe.each([
  ['from memory', {}, 'fromMemory'],
  ['from the Redis stream', { recoveryCacheMs: 1 }, 'fromStream'],
] as const)('replay %s', (_label, nodeOptions, source) => {
  let cluster: TestCluster;
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2, node: nodeOptions });
  });

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await cluster?.cleanup();
  });

  async function clientBehindProxy(org: string): Promise<{ client: RoomwireClient; proxy: TcpProxy; received: EventEnvelope[] }> {
    const port = Number(new URL((cluster.nodes[0] as TestCluster['nodes'][0]).url).port);
    const proxy = await startTcpProxy(port);
    proxies.push(proxy);
    const client = cluster.client({ url: proxy.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
    const received: EventEnvelope[] = [];
    client.on('billing', 'invoice.paid', (_data, envelope) => received.push(envelope));
    await waitUntil(() => client.state === 'connected', { what: 'client connected' });
    return { client, proxy, received };
  }

  /** Publishes `count` events spread over about `spreadMs`, returning their ids in order. */
  async function publishSpread(org: string, count: number, spreadMs: number, tag: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push((await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `${tag}-${i}`, amountCents: i })).id);
      await new Promise((resolve) => setTimeout(resolve, spreadMs / count));
    }
    return ids;
  }

  test('a client cut for 3 s while 50 events are published receives exactly those 50, once, in order', async () => {
    const org = uniqueOrg();
    const { client, proxy, received } = await clientBehindProxy(org);
    const before = (await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'before', amountCents: 1 })).id;
    await waitUntil(() => received.length === 1, { what: 'the first event' });

    proxy.cut();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the client to notice the cut' });
    const missed = await publishSpread(org, 50, 3000, 'cut');
    proxy.restore();

    await waitUntil(() => received.length >= 51, { what: '50 missed events after the restore', timeoutMs: 10_000 });
    const after = (await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'after', amountCents: 1 })).id;
    await waitUntil(() => received.some((e) => e.id === after), { what: 'a live event after recovery' });
    expect(received.map((e) => e.id)).toEqual([before, ...missed, after]);
    expect(client.metrics().recoveries.resynced).toBe(0);
    expect(client.metrics().recoveries.recovered).toBeGreaterThanOrEqual(1);
  });

  test('a client cut before it received its first event still receives every event published meanwhile', async () => {
    const org = uniqueOrg();
    const { client, proxy, received } = await clientBehindProxy(org);
    expect(received).toEqual([]);

    proxy.cut();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the client to notice the cut' });
    const missed = await publishSpread(org, 50, 3000, 'first');
    proxy.restore();

    await waitUntil(() => received.length >= 50, { what: '50 missed events', timeoutMs: 10_000 });
    const after = (await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'after', amountCents: 1 })).id;
    await waitUntil(() => received.some((e) => e.id === after), { what: 'a live event after recovery' });
    expect(received.map((e) => e.id)).toEqual([...missed, after]);
    expect(client.metrics().recoveries.resynced).toBe(0);
  });


  test('events published without pause through a cut and the recovery arrive once each, in order', async () => {
    const org = uniqueOrg();
    const { client, proxy, received } = await clientBehindProxy(org);
    const published: string[] = [];
    let running = true;
    const loop = (async () => {
      for (let i = 0; running; i++) {
        published.push((await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `n-${i}`, amountCents: i })).id);
      }
    })();
    await waitUntil(() => received.length >= 20, { what: '20 live events' });
    proxy.cut();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
    const atCut = published.length;
    await waitUntil(() => published.length >= atCut + 100, { what: '100 events during the cut' });
    proxy.restore();
    // Keep publishing while the client reconnects and replays, then for a while after.
    await waitUntil(() => client.state === 'connected', { what: 'reconnected', timeoutMs: 10_000 });
    const atRecovery = published.length;
    await waitUntil(() => published.length >= atRecovery + 100, { what: '100 events after recovery' });
    running = false;
    await loop;
    const last = published[published.length - 1];
    await waitUntil(() => received.some((e) => e.id === last), { what: 'the last event', timeoutMs: 10_000 });
    expect(received.map((e) => e.id)).toEqual(published);
    expect(client.metrics().recoveries.resynced).toBe(0);
    // Replays and notices to one socket are sent, not stored: every broadcast in the stream is a published event.
    const redis = createRedisClient({ url: cluster.redis.url });
    await redis.connect();
    try {
      const entries = await redis.xRange(partitionKeys('roomwire', 0, 1).stream, '-', '+');
      const rooms = entries.filter((e) => e.message.h === undefined).map((e) => e.message.r);
      expect(rooms.length).toBeGreaterThan(200);
      expect(rooms.filter((r) => !r?.startsWith('org:'))).toEqual([]);
    } finally {
      await redis.close();
    }
  });

  afterAll(() => {
    const replays = cluster.nodes.map((n) => n.stats().replays);
    expect(replays.reduce((sum, r) => sum + r[source], 0)).toBe(3);
    expect(replays.every((r) => Object.keys(r.notRecovered).length === 0)).toBe(true);
  });
});

test('a resume the node refuses (a service no longer allowed) ends in a resync, and the allowed service is live again', async () => {
  const cluster = await startCluster({ nodes: 1 });
  const proxy = await startTcpProxy(Number(new URL((cluster.nodes[0] as TestCluster['nodes'][0]).url).port));
  try {
    const org = uniqueOrg();
    let services: string[] = ['billing', 'tickets'];
    const client = cluster.client({ url: proxy.url, token: () => signToken({ org, services }), services: ['billing', 'tickets'] });
    const received: string[] = [];
    const resyncs: string[][] = [];
    client.onEvent((e) => received.push(e.id));
    client.onResync((info) => resyncs.push(info.services));
    await waitUntil(() => client.state === 'connected', { what: 'connected' });
    // Cut before any event: the client resumes with `rw:resume` (no Socket.IO offset yet).
    proxy.cut();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
    services = ['billing'];
    await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'during', amountCents: 1 });
    proxy.restore();
    await waitUntil(() => resyncs.length === 1, { what: 'a resync for the refused resume' });
    expect(resyncs[0]?.sort()).toEqual(['billing', 'tickets']);
    await waitUntil(() => client.state === 'connected', { what: 'connected again' });
    const live = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'live', amountCents: 2 });
    await waitUntil(() => received.includes(live.id), { what: 'a live billing event after the resync' });
  } finally {
    await proxy.close();
    await cluster.cleanup();
  }
});
