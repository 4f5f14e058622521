import { inflateRawSync } from 'node:zlib';
import { createClient as createRedisClient } from 'redis';
import type { EventEnvelope } from '@roomwire/shared';
import { partitionKeys } from '../server/src/stream/partitions';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;

beforeAll(async () => {
  // No batching: every publish is an entry of its own, so concurrent publishes make reads of many entries.
  cluster = await startCluster({ nodes: 1, node: { batching: false } });
});

afterAll(async () => {
  await cluster?.cleanup();
});

/** The ids of the durable events of the stream, in stream order (plain frames in `f`, compressed ones in `z`). */
async function streamOrder(): Promise<string[]> {
  const redis = createRedisClient({ url: cluster.redis.url });
  await redis.connect();
  try {
    const entries = await redis.xRange(partitionKeys('roomwire', 0, 1).stream, '-', '+');
    const ids: string[] = [];
    for (const { message } of entries) {
      const json = message.f ?? (message.z === undefined ? undefined : inflateRawSync(Buffer.from(message.z, 'base64')).toString('utf8'));
      if (json === undefined) continue;
      for (const event of (JSON.parse(json) as { events: EventEnvelope[] }).events) ids.push(event.id);
    }
    return ids;
  } finally {
    await redis.close();
  }
}

test('reads of many entries, for two rooms of one socket, arrive once each and in stream order', async () => {
  const [node] = cluster.nodes as [TestCluster['nodes'][0]];
  const org = uniqueOrg();
  const client = cluster.client({ token: () => signToken({ org, services: '*' }), services: ['billing', 'tickets'] });
  const got: EventEnvelope[] = [];
  client.onEvent((e) => got.push(e));
  await waitUntil(() => client.state === 'connected', { what: 'the client connected' });

  const published: string[] = [];
  // Concurrent publishes to two rooms of the socket: the reader gets several entries per read, so the
  // socket's writes of a read are coalesced, with the two rooms' frames interleaved.
  for (let round = 0; round < 6; round++) {
    const chunk = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? node.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: `in_${round}_${i}`, amountCents: i } })
          : node.publish({ org, service: 'tickets', type: 'ticket.updated', data: { ticketId: `t_${round}_${i}`, status: 'open' } }),
      ),
    );
    published.push(...chunk.map((r) => r.id));
  }
  await waitUntil(() => got.length >= published.length, { what: `all ${published.length} events on the client` });

  const order = (await streamOrder()).filter((id) => published.includes(id));
  expect(order).toHaveLength(published.length);
  expect(got.map((e) => e.id)).toEqual(order);
  expect(new Set(got.map((e) => e.id)).size).toBe(published.length);
  expect(client.metrics().duplicatesDetected).toBe(0);
});
