import { RoomwireError } from '@roomwire/shared';
import { connectRedis, type RedisHandle } from '../server/src/stream/redis-client';
import { RedisStreamLog } from '../server/src/stream/redis-stream-log';
import { partitionKeys } from '../server/src/stream/partitions';
import { startRedis, type RedisServerHandle } from './harness';
import { numberedFrame, storedAmounts } from './support/stream-log';

/**
 * A writer's appends reach Redis in the order it made them, or not at all. Found by the chaos
 * cluster-failover scenario: the Redis Cluster client sends a command again on its own after a `MOVED`
 * (a failover), so appends queued on the old master reached the new one after newer ones sent there
 * directly, and were stored after them. Here the same late arrival is made on purpose: a handle on a
 * real Redis that holds one append's command back until a later append has been stored.
 */

const KEYS = partitionKeys('append-fence', 0, 1);
const ROOM = 'org:o:svc:billing';

let redis: RedisServerHandle;
let client: RedisHandle;

beforeAll(async () => {
  redis = await startRedis();
  client = await connectRedis({ url: redis.url }, { failFast: true, name: 'append-fence', onError: () => undefined });
});

afterAll(async () => {
  await client?.close();
  await redis?.cleanup();
});

/** `handle`, except that the script calls made while `hold` is set wait until `release` is called. */
function delaying(handle: RedisHandle): RedisHandle & { hold: boolean; release(): void } {
  const waiting: (() => void)[] = [];
  const wrapped = Object.create(handle) as RedisHandle & { hold: boolean; release(): void };
  wrapped.hold = false;
  wrapped.release = () => {
    for (const go of waiting.splice(0)) go();
  };
  wrapped.run = (script, keys, args, options) => {
    if (!wrapped.hold) return handle.run(script, keys, args, options);
    return new Promise<void>((resolve) => waiting.push(resolve)).then(() => handle.run(script, keys, args, options));
  };
  return wrapped;
}

const frame = numberedFrame;
const stored = (): Promise<number[]> => storedAmounts(client, KEYS);

test('an append that reaches Redis after a later append of the same writer is refused (retryable), not stored after it', async () => {
  const handle = delaying(client);
  const log = new RedisStreamLog(handle, KEYS, { replayWindowMs: 60_000, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  await log.append(ROOM, frame(0), { volatile: false });
  handle.hold = true;
  const late = log.append(ROOM, frame(1), { volatile: false });
  // Appends issued in one synchronous run go to Redis together: let this one go (and be held) alone.
  await new Promise((resolve) => setImmediate(resolve));
  handle.hold = false;
  await log.append(ROOM, frame(2), { volatile: false });
  handle.release();
  const error = await late.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(RoomwireError);
  expect((error as RoomwireError).code).toBe('RW_ERR_UNAVAILABLE');
  expect((error as RoomwireError).retryable).toBe(true);
  expect(await stored()).toEqual([0, 2]);

  // The writer goes on: its next appends are stored, in order.
  await log.append(ROOM, frame(3), { volatile: false });
  expect(await stored()).toEqual([0, 2, 3]);
});

test('two writers of one stream are fenced each on its own: one writer’s appends never refuse the other’s', async () => {
  const first = new RedisStreamLog(client, KEYS, { replayWindowMs: 60_000, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  const second = new RedisStreamLog(client, KEYS, { replayWindowMs: 60_000, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  for (let i = 0; i < 5; i++) await second.append(ROOM, frame(100 + i), { volatile: false });
  await first.append(ROOM, frame(200), { volatile: false });
  const all = await stored();
  expect(all.slice(-6)).toEqual([100, 101, 102, 103, 104, 200]);
});
