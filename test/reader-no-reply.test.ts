import { connectRedis, type RedisHandle } from '../server/src/stream/redis-client';
import { RedisStreamLog } from '../server/src/stream/redis-stream-log';
import { PartitionReader } from '../server/src/stream/partition-reader';
import { partitionKeys } from '../server/src/stream/partitions';
import { startRedis, waitUntil, type RedisServerHandle } from './harness';

/**
 * A node's reader must not wait for ever on a read that gets no reply. Found by the chaos
 * cluster-failover scenario: after a Redis Cluster failover one node's reader of the failed-over
 * partition read nothing more (read lag growing past 60 s) and its clients got nothing after their
 * resync signal, while the other nodes read on. Here the read that never gets a reply is made on
 * purpose: the reader's first connection, on a real Redis, never answers its second read.
 */

const KEYS = partitionKeys('reader-no-reply', 0, 1);
const ROOM = 'org:o:svc:billing';

let redis: RedisServerHandle;
let client: RedisHandle;
const opened: RedisHandle[] = [];
let reader: PartitionReader | undefined;

beforeAll(async () => {
  redis = await startRedis();
  client = await connectRedis({ url: redis.url }, { failFast: true, name: 'reader-no-reply', onError: () => undefined });
});

afterAll(async () => {
  await reader?.stop();
  await Promise.allSettled(opened.map((c) => c.close()));
  await client?.close();
  await redis?.cleanup();
});

/** A dedicated connection whose reads, from the `after`-th on, never get a reply (what a stuck connection does). */
async function stuckAfter(after: number): Promise<RedisHandle> {
  const own = await client.dedicated('reader-no-reply-stuck');
  opened.push(own);
  let reads = 0;
  const wrapped = Object.create(own) as RedisHandle;
  wrapped.send = <T>(key: string, args: readonly string[]) => {
    reads += 1;
    return reads < after ? own.send<T>(key, args) : new Promise<T>(() => undefined);
  };
  return wrapped;
}

test('a read that gets no reply fails after blockMs + replyTimeoutMs: the reader takes a new connection, checks the stream and reads on', async () => {
  const log = new RedisStreamLog(client, KEYS, { replayWindowMs: 60_000, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  const offsets: string[] = [];
  const failures: string[] = [];
  let reconnects = 0;
  reader = await PartitionReader.start(
    log,
    await stuckAfter(2),
    {
      blockMs: 100,
      readCount: 100,
      heartbeatIntervalMs: 60_000,
      checkIntervalMs: 60_000,
      nodeId: 'n',
      replyTimeoutMs: 300,
      reconnect: async () => {
        reconnects += 1;
        const fresh = await client.dedicated('reader-no-reply-fresh');
        opened.push(fresh);
        return fresh;
      },
    },
    {
      frame: (offset) => offsets.push(offset),
      read: () => undefined,
      epochChanged: () => undefined,
      fellBehind: () => undefined,
      failed: (err) => failures.push(err.message),
    },
  );
  const frame = (n: number) => ({ events: [{ id: `e${n}`, org: 'o', service: 'billing', type: 'invoice.paid', ts: Date.now(), data: { invoiceId: `in_${n}`, amountCents: n } }] });
  const first = await log.append(ROOM, frame(0), { volatile: false });
  await waitUntil(() => offsets.includes(first.offset as string), { what: 'the first entry, read on the first connection' });
  // The reader's next read is the one that never gets a reply: what is appended now comes on the new connection.
  const later: string[] = [];
  for (let i = 1; i <= 5; i++) later.push((await log.append(ROOM, frame(i), { volatile: false })).offset as string);
  await waitUntil(() => later.every((offset) => offsets.includes(offset)), { what: 'the entries appended while the read was stuck', timeoutMs: 10_000 });
  expect(offsets).toEqual([first.offset, ...later]);
  expect(reconnects).toBe(1);
  expect(failures).toEqual([expect.stringContaining('no reply to a stream read within 400 ms')]);
});
