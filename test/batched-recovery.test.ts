import type { EventEnvelope } from '@roomwire/shared';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
let proxy: TcpProxy | undefined;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2 });
});

afterAll(async () => {
  await proxy?.close();
  await cluster?.cleanup();
});

test('bursts are batched into shared stream entries, and a client cut during them recovers every event once, in order', async () => {
  const org = uniqueOrg();
  const [a] = cluster.nodes as [TestCluster['nodes'][0]];
  proxy = await startTcpProxy(Number(new URL(a.url).port));
  const client = cluster.client({ url: proxy.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
  const received: EventEnvelope[] = [];
  client.on('billing', 'invoice.paid', (_d, e) => received.push(e));
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });

  const burst = async (tag: string): Promise<{ id: string; offset: string | null }[]> =>
    Promise.all(Array.from({ length: 60 }, (_, i) => cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `${tag}-${i}`, amountCents: i })));

  const first = await burst('live');
  await waitUntil(() => received.length === 60, { what: 'the live burst' });
  proxy.cut();
  await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
  const missed = [...(await burst('cut-1')), ...(await burst('cut-2'))];
  proxy.restore();
  await waitUntil(() => received.length >= 180, { what: 'both missed bursts', timeoutMs: 10_000 });

  const all = [...first, ...missed];
  expect(received.map((e) => e.id)).toEqual(all.map((r) => r.id));
  // 60 events in one burst: the leading one alone, the rest coalesced into a few frames (offsets).
  expect(new Set(first.map((r) => r.offset)).size).toBeLessThanOrEqual(3);
  expect(client.metrics().duplicatesDetected).toBe(0);
  expect(client.metrics().recoveries.resynced).toBe(0);
});
