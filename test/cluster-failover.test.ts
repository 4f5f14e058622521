import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import calculateSlot from 'cluster-key-slot';
import { createClient as createRedisClient } from 'redis';
import { createNode, createPublisher, type Publisher, type RoomwireNode } from '@roomwire/server';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { serviceRoom } from '@roomwire/shared';
import { partitionKeys, partitionOf } from '../server/src/stream/partitions';
import { startRedisCluster, waitUntil, type ClusterNode, type RedisClusterHandle } from './harness';
import { testNodeOptions } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

/**
 * A Redis Cluster master failover that loses acknowledged writes, as the chaos scenario
 * `cluster-failover` makes it: the replica is frozen, the master acknowledges more than the socket
 * buffers between them hold, the master is frozen, the replica takes over (`CLUSTER FAILOVER
 * TAKEOVER`), and the old master runs again (its queued commands answered with `MOVED`), while a
 * publisher keeps several appends in flight. Promises checked: the stream holds one publisher's events
 * of a room in publish order, and every client gets every event published after its resync signal
 * (never silence).
 */

const PARTITIONS = 16;

let redis: RedisClusterHandle;
const nodes: RoomwireNode[] = [];
let publisher: Publisher;
const clients: RoomwireClient[] = [];
let ticker: NodeJS.Timeout | undefined;

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  for (const id of ['a', 'b']) {
    nodes.push(await createNode(testNodeOptions({ nodeId: `node-${id}`, redisClusterUrls: redis.urls, streamPartitions: PARTITIONS })));
  }
  publisher = await createPublisher({ redisCluster: redis.urls, streamPartitions: PARTITIONS });
}, 60_000);

afterAll(async () => {
  clearInterval(ticker);
  for (const client of clients) client.close();
  await publisher?.close();
  await Promise.allSettled(nodes.map((node) => node.close()));
  await redis?.cleanup();
}, 60_000);

interface Watcher {
  client: RoomwireClient;
  /** Event numbers in arrival order, each once (the client's dedup by position drops repeats of one epoch). */
  seqs: number[];
  /** When the last resync signal came (0: none). */
  resyncAt: number;
}

function watch(node: RoomwireNode, org: string): Watcher {
  const client = createClient({ url: node.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'], minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
  clients.push(client);
  const watcher: Watcher = { client, seqs: [], resyncAt: 0 };
  const seen = new Set<number>();
  client.on('billing', 'invoice.paid', (data) => {
    if (data.invoiceId.startsWith('filler')) return;
    if (seen.has(data.amountCents)) return;
    seen.add(data.amountCents);
    watcher.seqs.push(data.amountCents);
  });
  client.onResync(() => {
    watcher.resyncAt = Date.now();
  });
  return watcher;
}

const slotOf = (org: string): number => calculateSlot(partitionKeys('roomwire', partitionOf(org, PARTITIONS), PARTITIONS).stream);

/** Where a sequence of numbers goes down: `[earlier, later]` pairs, at most 5. */
function descents(seqs: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < seqs.length && out.length < 5; i++) if ((seqs[i] as number) < (seqs[i - 1] as number)) out.push([seqs[i - 1] as number, seqs[i] as number]);
  return out;
}

test('a failover that loses acknowledged writes keeps the publish order in the stream, and every client gets everything after its resync', async () => {
  const org = uniqueOrg('failover');
  const filler = uniqueOrg('filler');
  // The filler shares the org's stream (same partition), so the lost writes are the org's stream's.
  let fillerOrg = filler;
  while (partitionOf(fillerOrg, PARTITIONS) !== partitionOf(org, PARTITIONS)) fillerOrg = uniqueOrg('filler');
  const watchers = Array.from({ length: 6 }, (_, i) => watch(nodes[i % 2] as RoomwireNode, org));
  await waitUntil(() => watchers.every((w) => w.client.state === 'connected' && w.client.position !== null), { what: 'every client subscribed' });

  // A steady load with several publishes in flight at once (not one after the other's ack).
  const records: { startedAt: number; ok: boolean }[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const emit = (): void => {
    const seq = records.length;
    const record = { startedAt: Date.now(), ok: false };
    records.push(record);
    const settled = publisher
      .to(org, 'billing')
      .emit('invoice.paid', { invoiceId: `e${seq}`, amountCents: seq })
      .then(
        () => {
          record.ok = true;
        },
        () => undefined,
      )
      .finally(() => inFlight.delete(settled));
    inFlight.add(settled);
  };
  ticker = setInterval(() => {
    // Bounded: a hanging Redis must not queue without end.
    if (inFlight.size < 500) for (let i = 0; i < 3; i++) emit();
  }, 10);
  await waitUntil(() => watchers.every((w) => w.seqs.length >= 30), { what: 'traffic before the fault' });

  const master: ClusterNode = await redis.masterOf(slotOf(org));
  const replica = await redis.replicaOf(master.port);
  const key = partitionKeys('roomwire', partitionOf(org, PARTITIONS), PARTITIONS).stream;
  redis.pause(replica);
  let lastFiller = '';
  let resumedAt = 0;
  try {
    for (let i = 0; i < 25; i++) {
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => publisher.to(fillerOrg, 'billing').emit('invoice.paid', { invoiceId: `filler${randomBytes(24_000).toString('base64')}`, amountCents: 0 })),
      );
      lastFiller = burst[burst.length - 1]?.offset ?? lastFiller;
    }
    // Acknowledged by the master only, while publishes of the org keep coming.
    const mark = records.length;
    await waitUntil(() => records.length >= mark + 60 && records.slice(mark, mark + 30).every((r) => r.ok), { what: 'org events acknowledged by the master only' });
    redis.pause(master);
    redis.resume(replica);
    await redis.failover(replica, 'TAKEOVER');
  } finally {
    redis.resume(replica);
    redis.resume(master);
    resumedAt = Date.now();
  }
  await redis.waitHealthy(30_000);

  // The precondition: the new master lost acknowledged writes.
  const probe = createRedisClient({ url: replica.url });
  probe.on('error', () => undefined);
  await probe.connect();
  try {
    expect(await probe.xRange(key, lastFiller, lastFiller)).toEqual([]);
  } finally {
    probe.destroy();
  }

  await waitUntil(() => watchers.every((w) => w.resyncAt >= resumedAt - 30_000 && w.resyncAt > 0), { what: 'a resync signal on every client', timeoutMs: 30_000 });
  const lastResync = Math.max(...watchers.map((w) => w.resyncAt));
  const after = records.length;
  await waitUntil(() => records.length >= after + 300, { what: '300 more publishes after the last resync' });
  clearInterval(ticker);
  ticker = undefined;
  await Promise.allSettled([...inFlight]);

  // Every acknowledged event published after a client's resync reaches it (a bounded wait: not silence).
  for (const [i, w] of watchers.entries()) {
    const owed = records.flatMap((r, seq) => (r.ok && r.startedAt > w.resyncAt ? [seq] : []));
    expect(owed.length).toBeGreaterThan(100);
    const got = (): Set<number> => new Set(w.seqs);
    await waitUntil(() => owed.every((seq) => got().has(seq)), {
      what: `client ${i} (node ${i % 2}) to get the ${owed.length} events published after its resync (missing ${owed.filter((seq) => !got().has(seq)).length})`,
      timeoutMs: 15_000,
    });
  }
  expect(lastResync).toBeGreaterThan(0);

  // The stream holds the org's events in publish order, and so does every client.
  const reader = createRedisClient({ url: replica.url });
  reader.on('error', () => undefined);
  await reader.connect();
  try {
    const stored: number[] = [];
    for (const { message } of await reader.xRange(key, '-', '+')) {
      if (message.r !== serviceRoom(org, 'billing')) continue;
      const json = message.f ?? inflateRawSync(Buffer.from(message.z as string, 'base64')).toString('utf8');
      for (const event of (JSON.parse(json) as { events: { data: { amountCents: number } }[] }).events) stored.push(event.data.amountCents);
    }
    expect(stored.length).toBeGreaterThan(300);
    expect(descents(stored)).toEqual([]);
  } finally {
    reader.destroy();
  }
  for (const w of watchers) {
    const sinceResync = w.seqs.slice(w.seqs.findIndex((seq) => (records[seq]?.startedAt ?? 0) > w.resyncAt));
    expect(descents(sinceResync)).toEqual([]);
  }
}, 90_000);
