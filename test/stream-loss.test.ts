import type { ResyncInfo } from '@roomwire/client';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;

beforeAll(async () => {
  // Default watermark interval (15 s): the node must notice the lost stream when Redis comes back, not a tick later.
  cluster = await startCluster({ nodes: 1 });
}, 30_000);

afterAll(async () => {
  await cluster?.cleanup();
}, 30_000);

test('Redis restarted without persistence: a client that stayed connected is told to resync (stream-reset), then receives new events', async () => {
  const org = uniqueOrg('lost');
  const client = cluster.client({ token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
  const received: number[] = [];
  const resyncs: ResyncInfo[] = [];
  client.on('billing', 'invoice.paid', ({ amountCents }) => received.push(amountCents));
  client.onResync((info) => resyncs.push(info));
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'before', amountCents: 1 });
  await waitUntil(() => received.length === 1, { what: 'the event before the restart' });
  const before = client.position?.epoch;

  // The stream, the epoch and the sessions are gone; the client's socket to the node stays open.
  await cluster.redis.restart();
  await waitUntil(() => resyncs.length > 0, { what: 'a resync signal after the stream was lost', timeoutMs: 10_000 });
  expect(resyncs).toEqual([{ services: ['billing'], reason: 'stream-reset' }]);
  expect(client.metrics().totalDisconnects).toBe(0);

  await waitUntil(
    () =>
      cluster.publisher
        .to(org, 'billing')
        .emit('invoice.paid', { invoiceId: 'after', amountCents: 2 })
        .then(() => true, () => false),
    { what: 'a publish into the new stream' },
  );
  await waitUntil(() => received.includes(2), { what: 'the event after the restart' });
  await waitUntil(() => client.position !== null && client.position.epoch !== before, { what: 'the client to adopt the new epoch' });
  expect(resyncs).toHaveLength(1);
}, 30_000);
