import { compareOffsets } from '@roomwire/shared';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1, node: { positionIntervalMs: 100 } });
});

afterAll(async () => {
  await cluster?.cleanup();
});

test("a quiet client's position follows the stream through watermarks, so a late cut does not resync it", async () => {
  const org = uniqueOrg();
  const client = cluster.client({ token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });
  const start = client.position;
  expect(start).not.toBeNull();
  // Traffic of another org moves the stream on; this client sees none of it.
  const { offset } = await cluster.publisher.to(uniqueOrg(), 'billing').emit('invoice.paid', { invoiceId: 'noise', amountCents: 1 });
  await waitUntil(() => client.position !== null && compareOffsets(client.position.offset, offset as string) >= 0, {
    what: 'the watermark to pass the other org’s event',
  });
  expect(client.position?.epoch).toBe(start?.epoch);
  expect(client.metrics().eventsReceived).toBe(0);
});
