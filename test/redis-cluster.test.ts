import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import calculateSlot from 'cluster-key-slot';
import { createCluster } from 'redis';
import { createNode, createPublisher, type Publisher, type RoomwireNode } from '@roomwire/server';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { serviceRoom } from '@roomwire/shared';
import { partitionKeys, partitionOf } from '../server/src/stream/partitions';
import { startRedisCluster, waitUntil, type ClusterNode, type RedisClusterHandle } from './harness';
import { testNodeOptions } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

/**
 * Partitioned streams on a real Redis Cluster (3 masters, 3 replicas): orgs hash to 16 partitions whose
 * keys spread over the masters; nodes read only the partitions their sockets' orgs are in; a failover
 * that loses acknowledged writes ends in a resync for the affected orgs only, never in silence.
 */

const PARTITIONS = 16;
const GRACE_MS = 1000;

let redis: RedisClusterHandle;
const nodes: RoomwireNode[] = [];
let publisher: Publisher;
const clients: RoomwireClient[] = [];

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  for (const id of ['a', 'b', 'c']) {
    nodes.push(
      await createNode(testNodeOptions({ nodeId: `node-${id}`, redisClusterUrls: redis.urls, streamPartitions: PARTITIONS, partitionIdleGraceMs: GRACE_MS })),
    );
  }
  publisher = await createPublisher({ redisCluster: redis.urls, streamPartitions: PARTITIONS });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await publisher?.close();
  await Promise.allSettled(nodes.map((node) => node.close()));
  await redis?.cleanup();
}, 60_000);

/** The i-th node (0: a, 1: b, 2: c). */
const node = (i: number): RoomwireNode => nodes[i] as RoomwireNode;

function open(node: RoomwireNode, org: string): { client: RoomwireClient; received: string[]; resyncs: string[]; resyncAt: () => number } {
  const client = createClient({ url: node.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'], minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
  clients.push(client);
  const received: string[] = [];
  const resyncs: string[] = [];
  let resyncAt = 0;
  client.on('billing', 'invoice.paid', (_data, envelope) => {
    if (envelope.org !== org) throw new Error(`a client of ${org} was sent an event of ${envelope.org}`);
    received.push(envelope.id);
  });
  client.onResync((info) => {
    resyncs.push(info.reason);
    resyncAt = Date.now();
  });
  return { client, received, resyncs, resyncAt: () => resyncAt };
}

/** An org (new name) whose events go to a partition that `accept` likes. */
function orgIn(accept: (partition: number) => boolean, prefix = 'org'): string {
  for (;;) {
    const org = uniqueOrg(prefix);
    if (accept(partitionOf(org, PARTITIONS))) return org;
  }
}

/** The event ids of a stream entry's frame (inflated when it is stored compressed). */
function eventIds(message: Record<string, string>): string[] {
  const json = message.f ?? inflateRawSync(Buffer.from(message.z as string, 'base64')).toString('utf8');
  return (JSON.parse(json) as { events: { id: string }[] }).events.map((e) => e.id);
}

const slotOf = (partition: number): number => calculateSlot(partitionKeys('roomwire', partition, PARTITIONS).stream);

test('the 16 partitions spread over all three masters, and every client gets its own org’s events, in order, and only those', async () => {
  const masters = new Set<number>();
  for (let p = 0; p < PARTITIONS; p++) masters.add((await redis.masterOf(slotOf(p))).port);
  expect(masters.size).toBe(3);

  const orgs = Array.from({ length: 12 }, () => uniqueOrg('spread'));
  expect(new Set(orgs.map((org) => partitionOf(org, PARTITIONS))).size).toBeGreaterThan(4);
  const opened = orgs.map((org, i) => ({ org, ...open(nodes[i % 3] as RoomwireNode, org) }));
  await waitUntil(() => opened.every((o) => o.client.state === 'connected'), { what: 'every client connected' });
  const sent = new Map<string, string[]>(orgs.map((org) => [org, []]));
  for (let i = 0; i < 20; i++) {
    const results = await Promise.all(orgs.map((org) => publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `${org}-${i}`, amountCents: i })));
    results.forEach((result, k) => sent.get(orgs[k] as string)?.push(result.id));
  }
  await waitUntil(() => opened.every((o) => o.received.length >= 20), { what: '20 events on every client' });
  for (const o of opened) expect(o.received).toEqual(sent.get(o.org));
  for (const o of opened) o.client.close();
}, 60_000);

test('a node reads only the partitions of its sockets’ orgs, and stops a grace period after the last one left', async () => {
  const c = node(2);
  await waitUntil(() => c.stats().partitionsRead.length === 0, { what: 'node-c to read nothing', timeoutMs: 10_000 });
  const org = uniqueOrg('reader');
  const mine = partitionOf(org, PARTITIONS);
  const other = orgIn((p) => p !== mine, 'elsewhere');
  const { client, received } = open(c, org);
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });
  expect(c.stats().partitionsRead).toEqual([mine]);

  const before = c.stats().entriesRead[partitionOf(other, PARTITIONS)] ?? 0;
  for (let i = 0; i < 10; i++) await publisher.to(other, 'billing').emit('invoice.paid', { invoiceId: `o${i}`, amountCents: i });
  const own = await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'mine', amountCents: 1 });
  await waitUntil(() => received.includes(own.id), { what: 'the client’s own event' });
  expect(c.stats().entriesRead[partitionOf(other, PARTITIONS)] ?? 0).toBe(before);

  client.close();
  await waitUntil(() => c.stats().partitionsRead.length === 0, { what: `node-c to stop reading partition ${mine} after the grace`, timeoutMs: GRACE_MS + 10_000 });
}, 60_000);

test('the first subscribe of a partition starts its reader without a gap: every event after the ack’s position arrives', async () => {
  for (let round = 0; round < 3; round++) {
    const c = node(2);
    await waitUntil(() => c.stats().partitionsRead.length === 0, { what: 'node-c to read nothing', timeoutMs: GRACE_MS + 10_000 });
    const org = uniqueOrg('gapless');
    let running = true;
    const publishing = Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; running; i++) await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `w${w}-${i}`, amountCents: i });
      }),
    );
    const { client, received } = open(c, org);
    await waitUntil(() => client.state === 'connected' && client.position !== null, { what: 'subscribed' });
    const from = client.position?.offset as string;
    await waitUntil(() => received.length >= 50, { what: '50 live events' });
    running = false;
    await publishing;
    // What the stream holds for the org after the ack's position is exactly what the client got.
    const keys = partitionKeys('roomwire', partitionOf(org, PARTITIONS), PARTITIONS);
    const reader = createCluster({ rootNodes: redis.urls.map((url) => ({ url })) });
    await reader.connect();
    try {
      const inRoom = (entries: Awaited<ReturnType<typeof reader.xRange>>): string[] =>
        entries.filter((e) => e.message.r === serviceRoom(org, 'billing')).flatMap((e) => eventIds(e.message));
      const all = inRoom(await reader.xRange(keys.stream, '-', '+'));
      // `from` was read once the client was subscribed; live events may have moved it past the ack's
      // position by then. So: every event after `from` arrived, and what arrived is one unbroken run
      // of the stream up to its end (a gap after the ack would break the run or miss events after `from`).
      const afterFrom = inRoom(await reader.xRange(keys.stream, `(${from}`, '+'));
      await waitUntil(() => received.at(-1) === all.at(-1), { what: `every one of the ${afterFrom.length} events after the ack` });
      const start = all.indexOf(received[0] as string);
      expect(start).toBeGreaterThanOrEqual(0);
      expect(received).toEqual(all.slice(start));
      expect(received.slice(received.length - afterFrom.length)).toEqual(afterFrom);
    } finally {
      client.close();
      await reader.close();
    }
  }
}, 120_000);

test('a master failover that loses acknowledged writes: its orgs’ clients resync, then get every event; orgs on other masters see nothing', async () => {
  // X: an org on a partition of one master; Y: an org on another master.
  const partitionX = Math.floor(PARTITIONS / 2);
  const masterX = await redis.masterOf(slotOf(partitionX));
  const orgX = orgIn((p) => p === partitionX, 'failover');
  let orgY = '';
  for (;;) {
    orgY = uniqueOrg('bystander');
    if ((await redis.masterOf(slotOf(partitionOf(orgY, PARTITIONS)))).port !== masterX.port) break;
  }
  const x1 = open(node(0), orgX);
  const x2 = open(node(1), orgX);
  const y = open(node(0), orgY);
  await waitUntil(() => [x1, x2, y].every((c) => c.client.state === 'connected'), { what: 'clients connected' });

  const sentX: { id: string; startedAt: number }[] = [];
  const sentY: string[] = [];
  let running = true;
  const loop = async (org: string, record: (id: string, startedAt: number) => void): Promise<void> => {
    for (let i = 0; running; i++) {
      const startedAt = Date.now();
      try {
        record((await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `${i}`, amountCents: i })).id, startedAt);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const loops = [loop(orgX, (id, startedAt) => sentX.push({ id, startedAt })), loop(orgY, (id) => sentY.push(id))];
  await waitUntil(() => x1.received.length >= 20 && y.received.length >= 20, { what: 'traffic before the fault' });

  // The replica stops taking the master's writes. The master acknowledges more than the kernel's socket
  // buffers between the two can hold (what is buffered there still reaches the replica), then dies.
  const replica: ClusterNode = await redis.replicaOf(masterX.port);
  redis.pause(replica);
  const filler = (): string => randomBytes(24_000).toString('base64');
  let lastOffset = '';
  for (let i = 0; i < 25; i++) {
    const burst = await Promise.all(Array.from({ length: 20 }, () => publisher.to(orgX, 'billing').emit('invoice.paid', { invoiceId: filler(), amountCents: 0 })));
    lastOffset = burst[burst.length - 1]?.offset ?? lastOffset;
  }
  await masterX.server.kill('SIGKILL');
  redis.resume(replica);
  await redis.waitHealthy(30_000);
  // The precondition: the promoted replica does not have the last acknowledged writes.
  const probe = createCluster({ rootNodes: [{ url: replica.url }] });
  await probe.connect();
  try {
    expect(await probe.xRange(partitionKeys('roomwire', partitionX, PARTITIONS).stream, lastOffset, lastOffset)).toEqual([]);
  } finally {
    await probe.close();
  }

  await waitUntil(() => x1.resyncs.length > 0 && x2.resyncs.length > 0, { what: 'a resync on both clients of the failed-over partition', timeoutMs: 30_000 });
  const since = Math.max(x1.resyncAt(), x2.resyncAt());
  await waitUntil(() => sentX.filter((s) => s.startedAt > since).length >= 50, { what: '50 events after the resyncs', timeoutMs: 30_000 });
  running = false;
  await Promise.all(loops);
  const lastX = sentX[sentX.length - 1] as { id: string };
  const lastY = sentY[sentY.length - 1] as string;
  await waitUntil(() => x1.received.includes(lastX.id) && x2.received.includes(lastX.id) && y.received.includes(lastY), { what: 'the last events' });
  for (const x of [x1, x2]) {
    const missing = sentX.filter((s) => s.startedAt > x.resyncAt() && !x.received.includes(s.id));
    expect(missing).toEqual([]);
  }
  // The other master's org: no resync, no loss, in order.
  expect(y.resyncs).toEqual([]);
  expect(y.received).toEqual(sentY);
}, 120_000);
