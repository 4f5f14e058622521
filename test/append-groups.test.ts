import { compareOffsets } from '@roomwire/shared';
import { connectRedis, type RedisHandle } from '../server/src/stream/redis-client';
import { RedisStreamLog } from '../server/src/stream/redis-stream-log';
import { partitionKeys } from '../server/src/stream/partitions';
import { startRedis, type RedisServerHandle } from './harness';
import { numberedFrame, storedAmounts } from './support/stream-log';

/**
 * The appends a writer issues in one synchronous run (a publisher's burst, `emitMany`, a batch over
 * HTTP, the rooms of one tick) reach Redis as one script call: one round trip, and one wake-up of the
 * nodes' readers for all of them. Each append still gets its own result, in issue order.
 */

const KEYS = partitionKeys('append-groups', 0, 1);

let redis: RedisServerHandle;
let client: RedisHandle;

beforeAll(async () => {
  redis = await startRedis();
  client = await connectRedis({ url: redis.url }, { failFast: true, name: 'append-groups', onError: () => undefined });
});

afterAll(async () => {
  await client?.close();
  await redis?.cleanup();
});

/** `handle`, counting its script calls. */
function counting(handle: RedisHandle): RedisHandle & { calls: number } {
  const wrapped = Object.create(handle) as RedisHandle & { calls: number };
  wrapped.calls = 0;
  wrapped.run = (script, keys, args, options) => {
    wrapped.calls += 1;
    return handle.run(script, keys, args, options);
  };
  return wrapped;
}

const frame = numberedFrame;
const stored = (): Promise<number[]> => storedAmounts(client, KEYS);

test('appends of one synchronous run go in one call, stored in issue order, each with its own result', async () => {
  await client.send(KEYS.stream, ['DEL', KEYS.stream]);
  const handle = counting(client);
  const log = new RedisStreamLog(handle, KEYS, { replayWindowMs: 60_000, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  const results = await Promise.all([
    log.append('org:o:svc:billing', frame(1), { volatile: false }),
    log.append('org:o:svc:tickets', frame(2), { volatile: false, idempotency: { key: 'o/k', eventId: 'e2' } }),
    log.append('org:p:svc:billing', frame(3), { volatile: false }),
    // The same key again in the same group: a repeat of the append before it, nothing stored.
    log.append('org:o:svc:tickets', frame(4), { volatile: false, idempotency: { key: 'o/k', eventId: 'e4' } }),
    log.append('org:o:svc:billing', frame(5), { volatile: false }),
  ]);
  expect(handle.calls).toBe(1);
  expect(await stored()).toEqual([1, 2, 3, 5]);
  const [first, second, third, repeat, fifth] = results;
  expect(repeat).toEqual({ offset: second?.offset, duplicateOf: { id: 'e2', offset: second?.offset } });
  const offsets = [first, second, third, fifth].map((r) => r?.offset as string);
  for (let i = 1; i < offsets.length; i++) expect(compareOffsets(offsets[i - 1] as string, offsets[i] as string)).toBeLessThan(0);

  // A later run is a later call, after the first.
  const next = await log.append('org:o:svc:billing', frame(6), { volatile: false });
  expect(handle.calls).toBe(2);
  expect(compareOffsets(offsets[3] as string, next.offset as string)).toBeLessThan(0);
});

test('a run of more appends than one call carries is split into calls, still in issue order', async () => {
  await client.send(KEYS.stream, ['DEL', KEYS.stream]);
  const handle = counting(client);
  const log = new RedisStreamLog(handle, KEYS, { replayWindowMs: 60_000, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  const amounts = Array.from({ length: 250 }, (_, i) => 1000 + i);
  const results = await Promise.all(amounts.map((n) => log.append('org:o:svc:billing', frame(n), { volatile: false })));
  expect(handle.calls).toBe(3);
  expect(await stored()).toEqual(amounts);
  expect(new Set(results.map((r) => r.offset)).size).toBe(250);
});

test('a group that fails rejects each of its appends; the writer goes on', async () => {
  const flaky = Object.create(client) as RedisHandle & { down: boolean };
  flaky.down = true;
  flaky.run = (script, keys, args, options) => (flaky.down ? Promise.reject(new Error('connection lost')) : client.run(script, keys, args, options));
  const log = new RedisStreamLog(flaky, KEYS, { replayWindowMs: 60_000, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  const outcomes = await Promise.allSettled([log.append('org:o:svc:billing', frame(7), { volatile: false }), log.append('org:o:svc:billing', frame(8), { volatile: false })]);
  expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code?: string }).code : o.status))).toEqual(['RW_ERR_UNAVAILABLE', 'RW_ERR_UNAVAILABLE']);
  flaky.down = false;
  await expect(log.append('org:o:svc:billing', frame(9), { volatile: false })).resolves.toEqual({ offset: expect.any(String) });
});
