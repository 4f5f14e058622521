import { connectRedis, type RedisHandle } from '../server/src/stream/redis-client';
import { RedisStreamLog } from '../server/src/stream/redis-stream-log';
import { partitionKeys } from '../server/src/stream/partitions';
import { startRedis, type RedisServerHandle } from './harness';

/**
 * A Redis restart (with or without AOF) empties its script cache: the appends in flight then fail with
 * NOSCRIPT and are sent again. Found by the chaos redis-restart scenario ("60 out of order"): appends
 * sent again after a later one had already succeeded were stored after it.
 */

const KEYS = partitionKeys('append-order', 0, 1);
const ROOM = 'org:o:svc:billing';
const ROUNDS = 30;
/** Appends made per turn of the event loop: several in flight at once, as a busy publisher has. */
const PER_TURN = 3;
const TURNS = 20;

let redis: RedisServerHandle;
let client: RedisHandle;

beforeAll(async () => {
  redis = await startRedis();
  client = await connectRedis({ url: redis.url }, { failFast: true, name: 'append-order', onError: () => undefined });
});

afterAll(async () => {
  await client?.close();
  await redis?.cleanup();
});

test('appends in flight when Redis loses its scripts (a restart) are stored in the order they were made', async () => {
  const log = new RedisStreamLog(client, KEYS, { replayWindowMs: 60_000, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  let seq = 0;
  const append = (): Promise<unknown> => {
    const n = seq++;
    return log.append(ROOM, { events: [{ id: `e${n}`, org: 'o', service: 'billing', type: 'invoice.paid', ts: Date.now(), data: { invoiceId: `in_${n}`, amountCents: n } }] }, { volatile: false });
  };
  for (let round = 0; round < ROUNDS; round++) {
    await append();
    await client.send(KEYS.stream, ['SCRIPT', 'FLUSH']);
    const pending: Promise<unknown>[] = [];
    for (let turn = 0; turn < TURNS; turn++) {
      for (let k = 0; k < PER_TURN; k++) pending.push(append());
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
  }
  const entries = await client.send<[string, string[]][]>(KEYS.stream, ['XRANGE', KEYS.stream, '-', '+']);
  // Frames only: the epoch marker is not an append of this test.
  const stored = entries.filter(([, fields]) => fields[0] === 'r').map(([, fields]) => Number(/"amountCents":(\d+)/.exec(String(fields[7]))?.[1]));
  expect(stored).toHaveLength(seq);
  const late = stored.filter((n, i) => i > 0 && n < (stored[i - 1] as number));
  expect(late).toEqual([]);
});
