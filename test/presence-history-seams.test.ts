import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import type { EventEnvelope, PlainFrame } from '@roomwire/shared';
import { memoryPresenceEngine, type PresenceChangeKind, type PresenceEngine } from '../server/src/presence/presence-engine';
import { redisPresenceEngine } from '../server/src/presence/redis-presence';
import type { EventLog } from '../server/src/stream/event-log';
import { MemoryStreamLog } from '../server/src/stream/memory-stream-log';
import { partitionKeys } from '../server/src/stream/partitions';
import { standaloneHandle, type RedisHandle } from '../server/src/stream/redis-client';
import { RedisStreamLog } from '../server/src/stream/redis-stream-log';
import { startRedis, waitUntil, type RedisServerHandle } from './harness';
import { uniqueOrg } from './support/tokens';

/**
 * The presence and history seams, one suite each, run against every implementation (memory for a lone
 * node, Redis for a cluster), as the event log's seam is: the node must not be able to tell them apart.
 */

type Delivered = { room: string; userId: string; kind: PresenceChangeKind };

let redis: RedisServerHandle;
let client: ReturnType<typeof createClient>;
let subscriber: ReturnType<typeof createClient>;
let handle: RedisHandle;
const KEY_PREFIX = 'seams';
const delivered: Delivered[] = [];

beforeAll(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url });
  await client.connect();
  subscriber = client.duplicate();
  await subscriber.connect();
  handle = standaloneHandle(client, { owned: false, onError: () => undefined });
  // What a node would receive on the partition's volatile channel.
  await subscriber.subscribe(partitionKeys(KEY_PREFIX, 0, 1).volatileChannel, (message) => {
    const { room, presence } = JSON.parse(message) as { room: string; presence: { type: PresenceChangeKind; userId: string } };
    delivered.push({ room, userId: presence.userId, kind: presence.type });
  });
});

afterAll(async () => {
  await handle?.close();
  await subscriber?.close();
  await client?.close();
  await redis?.cleanup();
});

type MakeEngine = (nodeId: string, livenessMs?: number) => PresenceEngine;
const redisEngine: MakeEngine = (nodeId, livenessMs = 60_000) => redisPresenceEngine({ redis: handle, keyPrefix: KEY_PREFIX, partitionCount: 1, nodeId, livenessMs });
const engines: [string, MakeEngine][] = [
  ['memory', () => memoryPresenceEngine((room, userId, kind) => delivered.push({ room, userId, kind }))],
  ['redis', redisEngine],
];

describe.each(engines)('presence engine: %s', (_name, make) => {
  test('a user joins at its first connection and leaves at its last, once each', async () => {
    const engine = make('n1');
    const room = `org:${uniqueOrg()}:svc:billing`;
    const mine = (): Delivered[] => delivered.filter((d) => d.room === room);
    expect((await engine.set(room, 'ann', 1)).change).toBe('join');
    expect((await engine.set(room, 'ann', 2)).change).toBeNull();
    expect((await engine.set(room, 'ann', 2)).change).toBeNull();
    expect(await engine.read(room, 10)).toEqual({ users: 1, connections: 2, members: [{ userId: 'ann', connections: 2 }] });
    expect((await engine.set(room, 'ann', 1)).change).toBeNull();
    expect((await engine.set(room, 'ann', 0)).change).toBe('leave');
    await waitUntil(() => mine().length === 2, { what: 'two changes delivered' });
    expect(mine().map((d) => `${d.kind} ${d.userId}`)).toEqual(['join ann', 'leave ann']);
    expect(await engine.read(room, 10)).toEqual({ users: 0, connections: 0, members: [] });
  });

  test('above the member cap a read answers counts only', async () => {
    const engine = make('n1');
    const room = `org:${uniqueOrg()}:svc:billing`;
    for (const user of ['a', 'b', 'c']) await engine.set(room, user, 2);
    expect(await engine.read(room, 3)).toMatchObject({ users: 3, connections: 6 });
    expect(await engine.read(room, 2)).toEqual({ users: 3, connections: 6, members: null });
  });
});

describe('presence engine: redis, several nodes', () => {
  test("the cluster-wide count decides: a user on two nodes leaves only when the last one's share goes", async () => {
    const a = redisEngine('node-a');
    const b = redisEngine('node-b');
    const room = `org:${uniqueOrg()}:svc:billing`;
    expect((await a.set(room, 'bo', 1)).change).toBe('join');
    expect((await b.set(room, 'bo', 1)).change).toBeNull();
    expect(await a.read(room, 10)).toEqual({ users: 1, connections: 2, members: [{ userId: 'bo', connections: 2 }] });
    expect((await a.set(room, 'bo', 0)).change).toBeNull();
    expect((await b.set(room, 'bo', 0)).change).toBe('leave');
  });

  test("a node whose heartbeat expires is swept by others (its last users leave), and learns it at its next heartbeat", async () => {
    const dying = redisEngine('node-dying', 200);
    const sweeper = redisEngine('node-sweeper');
    const room = `org:${uniqueOrg()}:svc:billing`;
    const mine = (): Delivered[] => delivered.filter((d) => d.room === room);
    expect((await dying.set(room, 'cy', 1)).wasAlive).toBe(false);
    expect((await dying.set(room, 'di', 1)).wasAlive).toBe(true);
    await sweeper.set(room, 'di', 1);
    await waitUntil(
      async () => {
        await sweeper.sweep([0]);
        return (await sweeper.read(room, 10)).users === 1;
      },
      { what: 'the dying node swept' },
    );
    expect(await sweeper.read(room, 10)).toEqual({ users: 1, connections: 1, members: [{ userId: 'di', connections: 1 }] });
    await waitUntil(() => mine().some((d) => d.kind === 'leave'), { what: "cy's leave" });
    expect(mine().filter((d) => d.kind === 'leave').map((d) => d.userId)).toEqual(['cy']);
    expect(await dying.heartbeat([0])).toEqual([0]);
    // Writing its share again restores it (absolute counts): cy joins again, di was never gone.
    expect((await dying.set(room, 'cy', 1)).change).toBe('join');
    expect((await dying.set(room, 'di', 1)).change).toBeNull();
    await dying.leave([0]);
    expect(await sweeper.read(room, 10)).toEqual({ users: 1, connections: 1, members: [{ userId: 'di', connections: 1 }] });
  });
});

function envelope(org: string, n: number): EventEnvelope {
  return { id: randomUUID(), org, service: 'billing', type: 'invoice.paid', ts: Date.now(), data: { invoiceId: `in-${n}`, amountCents: n } };
}

const logs: [string, () => EventLog][] = [
  [
    'memory',
    () => {
      const log = new MemoryStreamLog({ replayWindowMs: 60_000, maxStreamLength: 100_000, compressFramesMinBytes: 200 });
      log.bind((room, frame) => log.record([room], frame));
      return log;
    },
  ],
  ['redis', () => new RedisStreamLog(handle, partitionKeys(KEY_PREFIX, 0, 1), { replayWindowMs: 60_000, maxStreamLength: 100_000, compressFramesMinBytes: 200 })],
];

describe.each(logs)('history: %s log', (_name, make) => {
  test('pages newest first through batched and compressed entries, other rooms left out', async () => {
    const log = make();
    const org = uniqueOrg();
    const room = `org:${org}:svc:billing`;
    const published: string[] = [];
    // Entries of 1, 3 and 5 events (the 5-event one is compressed), interleaved with other rooms.
    for (const size of [1, 3, 5, 1, 3]) {
      const frame: PlainFrame = { events: Array.from({ length: size }, () => envelope(org, published.length)) };
      for (const e of frame.events) published.push(e.id);
      await log.append(room, frame, { volatile: false });
      await log.append(`org:${uniqueOrg()}:svc:billing`, { events: [envelope('noise', 0)] }, { volatile: false });
      await log.append(`org:${org}:svc:tickets`, { events: [envelope(org, -1)] }, { volatile: false });
    }
    const newestFirst = [...published].reverse();
    for (const limit of [1, 2, 4, 13, 100]) {
      const seen: string[] = [];
      let before: { offset: string; index: number } | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await log.history(room, { limit, windowMs: 60_000, ...(before ? { before } : {}) });
        expect(page.events.length).toBeLessThanOrEqual(limit);
        seen.push(...page.events.map((e) => e.id));
        if (page.next === null) break;
        const [offset, index] = page.next.split(':') as [string, string | undefined];
        before = { offset, index: index === undefined ? 0 : Number(index) };
      }
      expect({ limit, seen }).toEqual({ limit, seen: newestFirst });
    }
    expect((await log.history(`org:${uniqueOrg()}:svc:billing`, { limit: 10, windowMs: 60_000 })).events).toEqual([]);
  });
});
