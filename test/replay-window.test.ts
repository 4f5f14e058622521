import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { uniqueOrg } from './support/tokens';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2, node: { replayWindowMs: 2000 } });
});

afterAll(async () => {
  await cluster?.cleanup();
});

test('with a 2 s replay window, a client away for 5 s is told to resync and gets no partial replay', async () => {
  const org = uniqueOrg();
  const { client, proxy, received, resyncs } = await cluster.proxiedClient(org);

  proxy.cut();
  await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
  const cutAt = Date.now();
  // Events spread over the whole absence: the early ones fall out of the window, the late ones do not.
  for (let i = 0; i < 10; i++) {
    await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `gone-${i}`, amountCents: i });
    await new Promise((resolve) => setTimeout(resolve, 450));
  }
  // Traffic after the window keeps trimming the stream (trimming happens on append).
  await waitUntil(() => Date.now() - cutAt >= 5000, { what: 'five seconds away', timeoutMs: 6000 });
  await cluster.publisher.to(uniqueOrg(), 'billing').emit('invoice.paid', { invoiceId: 'trim', amountCents: 0 });
  proxy.restore();

  await waitUntil(() => resyncs.length === 1, { what: 'a resync signal', timeoutMs: 10_000 });
  expect(resyncs[0]?.services).toEqual(['billing']);
  expect(received).toEqual([]);
  await waitUntil(() => client.state === 'connected', { what: 'connected again' });

  // After the resync the client is live again.
  const { id } = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'fresh', amountCents: 1 });
  await waitUntil(() => received.some((e) => e.id === id), { what: 'a live event after the resync' });
  expect(received.map((e) => e.id)).toEqual([id]);
});
