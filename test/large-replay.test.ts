import { randomBytes } from 'node:crypto';
import type { EventEnvelope } from '@roomwire/shared';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

const BUDGET = 256 * 1024;

describe.each([
  ['from memory', {}],
  ['from the Redis stream', { recoveryCacheMs: 1 }],
] as const)('a replay larger than the socket budget, %s', (_label, nodeOptions) => {
  let cluster: TestCluster;
  let proxy: TcpProxy | undefined;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 1, node: { maxBufferedBytes: BUDGET, slowConsumerGraceMs: 200, ...nodeOptions } });
  });

  afterAll(async () => {
    await proxy?.close();
    await cluster?.cleanup();
  });

  test('is paced to the budget: the client gets every event once, in order, and is never evicted', async () => {
    const node = cluster.nodes[0] as TestCluster['nodes'][0];
    const org = uniqueOrg();
    proxy = await startTcpProxy(Number(new URL(node.url).port));
    const client = cluster.client({ url: proxy.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
    const received: EventEnvelope[] = [];
    client.on('billing', 'invoice.paid', (_d, e) => received.push(e));
    await waitUntil(() => client.state === 'connected', { what: 'connected' });
    const first = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'first', amountCents: 0 });
    await waitUntil(() => received.length === 1, { what: 'the first event' });

    proxy.cut();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
    // About 12 MB of incompressible events: more than loopback's kernel buffers hold, fifty times the budget.
    const ids: string[] = [first.id];
    for (let i = 0; i < 6000; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, (_, k) => cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: randomBytes(1500).toString('base64'), amountCents: i + k })),
      );
      ids.push(...batch.map((r) => r.id));
    }
    proxy.restore();
    // The client reads in fits and starts (100 ms paused, 100 ms reading): an unpaced replay would pile
    // up far past the budget during a pause and get the socket evicted, again and again.
    const stutter = proxy;
    let paused = false;
    const fits = setInterval(() => {
      paused = !paused;
      if (paused) stutter.pauseDownstream();
      else stutter.resumeDownstream();
    }, 100);
    try {
      await waitUntil(() => received.length >= ids.length, { what: 'every missed event', timeoutMs: 30_000 });
    } finally {
      clearInterval(fits);
      stutter.resumeDownstream();
    }
    expect(received.map((e) => e.id)).toEqual(ids);
    expect(node.stats().slowConsumerEvictions).toBe(0);
    expect(client.metrics().recoveries.resynced).toBe(0);
  });
});
