import type { RwErrorPayload } from '@roomwire/shared';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
});
afterAll(() => cluster.cleanup());

test('a connection whose token expires is told RW_ERR_TOKEN_EXPIRED and closed; the client comes back with a fresh token and misses nothing', async () => {
  const org = uniqueOrg('expiry');
  let issued = 0;
  // The first token lives 2 s; the ones fetched on reconnect live an hour.
  const token = async (): Promise<string> => signToken({ org, services: ['billing'] }, { expiresInS: issued++ === 0 ? 2 : 3600 });
  // Refreshing ahead of expiry off: this test is about what happens when a token does expire.
  const client = cluster.client({ token, services: ['billing'], tokenRefreshRatio: false });
  const errors: RwErrorPayload[] = [];
  const received: string[] = [];
  client.onError((error) => errors.push(error));
  client.on('billing', 'invoice.paid', (data) => received.push(data.invoiceId));
  await waitUntil(() => client.metrics().connectionState === 'connected', { what: 'the client to connect' });

  await waitUntil(() => errors.some((e) => e.code === 'RW_ERR_TOKEN_EXPIRED'), { what: 'the expiry notice', timeoutMs: 10_000 });
  // Published while the client reconnects with its new token: recovered, not lost.
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'after-expiry', amountCents: 1 });
  await waitUntil(() => received.includes('after-expiry'), { what: 'the event published around the reconnect' });
  expect(issued).toBeGreaterThanOrEqual(2);
  expect(client.metrics().connectionState).toBe('connected');
  client.close();
}, 30_000);
