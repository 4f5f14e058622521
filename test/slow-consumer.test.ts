import { randomBytes } from 'node:crypto';
import type { EventEnvelope, RwErrorPayload } from '@roomwire/shared';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

const BUDGET = 256 * 1024;
let cluster: TestCluster;
let proxy: TcpProxy | undefined;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1, node: { maxBufferedBytes: BUDGET, slowConsumerGraceMs: 200 } });
});

afterAll(async () => {
  await proxy?.close();
  await cluster?.cleanup();
});

test('a client that stops reading is evicted within its budget, others are not held up, and it recovers every event once', async () => {
  const node = cluster.nodes[0] as TestCluster['nodes'][0];
  const org = uniqueOrg();
  proxy = await startTcpProxy(Number(new URL(node.url).port));
  const slow = cluster.client({ url: proxy.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
  const fast = cluster.client({ url: node.url, token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
  const slowGot: EventEnvelope[] = [];
  const fastGot: EventEnvelope[] = [];
  const notices: RwErrorPayload[] = [];
  slow.on('billing', 'invoice.paid', (_d, e) => slowGot.push(e));
  slow.onError((e) => notices.push(e));
  fast.on('billing', 'invoice.paid', (_d, e) => fastGot.push(e));
  await waitUntil(() => slow.state === 'connected' && fast.state === 'connected', { what: 'both clients connected' });

  proxy.pauseDownstream();
  // 2 KiB events until the node evicts the client that stopped reading (kernel buffers absorb the first MBs).
  const ids: string[] = [];
  // Random, so frame compression cannot shrink it: the bytes really pile up.
  const filler = (): string => randomBytes(1536).toString('base64');
  while (node.stats().slowConsumerEvictions === 0 && ids.length < 40_000) {
    const batch = await Promise.all(
      Array.from({ length: 100 }, (_, i) => node.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: `${ids.length + i}-${filler()}`, amountCents: 1 } })),
    );
    ids.push(...batch.map((r) => r.id));
  }
  expect(node.stats().slowConsumerEvictions).toBe(1);
  // What the node held for it stayed near the budget (the bar: less than 5 MB above it).
  expect(node.stats().maxEvictedQueuedBytes).toBeLessThan(BUDGET + 5 * 1024 * 1024);
  // The fast client was never held up by it.
  await waitUntil(() => fastGot.length === ids.length, { what: 'every event on the fast client', timeoutMs: 20_000 });

  proxy.resumeDownstream();
  await waitUntil(() => slowGot.length >= ids.length, { what: 'every event on the evicted client after it reconnects', timeoutMs: 20_000 });
  expect(slowGot.map((e) => e.id)).toEqual(ids);
  expect(fastGot.map((e) => e.id)).toEqual(ids);
  expect(slow.metrics().recoveries.resynced).toBe(0);
  await waitUntil(() => notices.some((n) => n.code === 'RW_ERR_SLOW_CONSUMER'), { what: 'the eviction notice after recovery' });
});
