import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { uniqueOrg } from './support/tokens';

describe.each([
  ['from memory', {}],
  ['from the Redis stream', { recoveryCacheMs: 1 }],
] as const)('replay cap, %s', (_label, nodeOptions) => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 1, node: { maxReplayFrames: 10, ...nodeOptions } });
  });

  afterAll(async () => {
    await cluster?.cleanup();
  });

  test('a gap longer than the cap ends in a resync, never in a partial replay', async () => {
    const org = uniqueOrg();
    const { client, proxy, received, resyncs } = await cluster.proxiedClient(org);

    proxy.cut();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
    // Sequential publishes each get a frame of their own: 20 frames, over the cap of 10.
    for (let i = 0; i < 20; i++) await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `i${i}`, amountCents: i }, { idempotencyKey: `${org}-${i}` });
    proxy.restore();

    await waitUntil(() => resyncs.length === 1, { what: 'a resync' });
    expect(resyncs[0]).toEqual({ services: ['billing'], reason: 'replay-too-long' });
    expect(received).toEqual([]);
    const live = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'live', amountCents: 1 });
    await waitUntil(() => received.length === 1, { what: 'live events after the resync' });
    expect(received.map((e) => e.id)).toEqual([live.id]);
  });
});
