import { createClient as createRedisClient } from 'redis';
import { partitionKeys } from '../server/src/stream/partitions';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { uniqueOrg } from './support/tokens';

// maxStreamLength (MAX_STREAM_LENGTH) caps the stream whatever the replay window: at a high enough rate
// it, not the window, decides how far back a client can recover (3 333 events/s for 5 min with the
// defaults, docs/benchmarks.md). Past the cap the client must be told to resync, never replayed in part.
const CAP = 200;
/** Redis trims `MAXLEN ~` by whole stream nodes (`stream-node-max-entries`, 100 by default). */
const STREAM_NODE_ENTRIES = 100;

let cluster: TestCluster;

beforeAll(async () => {
  // recoveryCacheBytes 1: the node's in-memory tail holds nothing, so replays read the (trimmed) stream.
  cluster = await startCluster({ nodes: 1, node: { maxStreamLength: CAP, recoveryCacheBytes: 1 } });
});

afterAll(async () => {
  await cluster?.cleanup();
});

test('a client whose position was trimmed off by the length cap is told to resync and gets no partial replay', async () => {
  const org = uniqueOrg();
  const { client, proxy, received, resyncs } = await cluster.proxiedClient(org);
  // A first live event fixes the client's position in the stream.
  const first = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'before', amountCents: 0 });
  await waitUntil(() => received.some((e) => e.id === first.id), { what: 'the first event' });

  proxy.cut();
  await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
  // Well within the replay window (5 min), but 5 × the cap: its event and its position are trimmed off.
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'missed', amountCents: 1 });
  // One org each: the publisher batches a room's events into one frame (one stream entry), so one
  // room per event makes every event an entry.
  for (let i = 0; i < 5 * CAP; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, k) => cluster.publisher.to(uniqueOrg(), 'billing').emit('invoice.paid', { invoiceId: `x-${i + k}`, amountCents: i + k })));
  }
  const redis = createRedisClient({ url: cluster.redis.url });
  await redis.connect();
  try {
    const length = await redis.xLen(partitionKeys('roomwire', 0, 1).stream);
    expect(length).toBeGreaterThanOrEqual(CAP);
    expect(length).toBeLessThan(CAP + STREAM_NODE_ENTRIES + 50);
  } finally {
    await redis.quit();
  }
  proxy.restore();

  await waitUntil(() => resyncs.length === 1, { what: 'a resync signal', timeoutMs: 10_000 });
  expect(resyncs[0]?.services).toEqual(['billing']);
  expect(received.map((e) => e.id)).toEqual([first.id]);
  await waitUntil(() => client.state === 'connected', { what: 'connected again' });

  // After the resync the client is live again.
  const { id } = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'fresh', amountCents: 2 });
  await waitUntil(() => received.some((e) => e.id === id), { what: 'a live event after the resync' });
  expect(received.map((e) => e.id)).toEqual([first.id, id]);
});
