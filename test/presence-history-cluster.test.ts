import type { PresenceChange } from '@roomwire/shared';
import { createNode, createPublisher, type Publisher, type RoomwireNode } from '@roomwire/server';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { partitionKeys, partitionOf } from '../server/src/stream/partitions';
import calculateSlot from 'cluster-key-slot';
import { freePort, NODE_START_TIMEOUT_MS, spawnNode, startRedisCluster, waitUntil, type ChildNodeHandle, type RedisClusterHandle } from './harness';
import { testNodeOptions } from './support/cluster';
import { signToken, TEST_JWT_SECRET, TEST_PUBLISH_KEY, uniqueOrg } from './support/tokens';

/**
 * Presence and history on a real Redis Cluster: every script runs on the master of the org's partition
 * slot (the sweep of a dead node included, which reaches keys named inside the script), and the
 * presence changes travel over sharded pub/sub.
 */

const PARTITIONS = 16;
const HEARTBEAT_MS = 1000;

let redis: RedisClusterHandle;
const nodes: RoomwireNode[] = [];
let publisher: Publisher;
const clients: RoomwireClient[] = [];
const children: ChildNodeHandle[] = [];

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  for (const id of ['a', 'b']) {
    nodes.push(await createNode(testNodeOptions({ nodeId: `node-${id}`, redisClusterUrls: redis.urls, streamPartitions: PARTITIONS, presenceHeartbeatMs: HEARTBEAT_MS })));
  }
  publisher = await createPublisher({ redisCluster: redis.urls, streamPartitions: PARTITIONS });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.allSettled(children.map((child) => child.kill()));
  await publisher?.close();
  await Promise.allSettled(nodes.map((node) => node.close()));
  await redis?.cleanup();
}, 60_000);

async function open(url: string, org: string, sub: string): Promise<RoomwireClient> {
  const client = createClient({ url, token: () => signToken({ org, services: ['billing'], sub }), services: ['billing'], minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
  clients.push(client);
  await waitUntil(() => client.state === 'connected', { what: `${sub} connected` });
  return client;
}

/** Orgs whose partitions sit on different slots (so, with 3 masters, mostly on different masters). */
function orgsOnDifferentSlots(count: number): string[] {
  const orgs: string[] = [];
  const slots = new Set<number>();
  while (orgs.length < count) {
    const org = uniqueOrg();
    const slot = calculateSlot(partitionKeys('roomwire', partitionOf(org, PARTITIONS), PARTITIONS).stream);
    if (slots.has(slot)) continue;
    slots.add(slot);
    orgs.push(org);
  }
  return orgs;
}

test('presence joins and leaves once per user across nodes, per org, on a Redis Cluster', async () => {
  for (const org of orgsOnDifferentSlots(3)) {
    const watcher = await open((nodes[0] as RoomwireNode).url, org, 'watcher');
    const changes: PresenceChange[] = [];
    watcher.onPresence('billing', (change) => changes.push(change));
    const one = await open((nodes[0] as RoomwireNode).url, org, 'amy');
    const two = await open((nodes[1] as RoomwireNode).url, org, 'amy');
    await waitUntil(async () => (await watcher.presence('billing')).connections === 3, { what: `3 connections in ${org}` });
    one.close();
    two.close();
    await waitUntil(() => changes.filter((c) => c.userId === 'amy').length === 2, { what: `amy's join and leave in ${org}` });
    expect(changes.filter((c) => c.userId === 'amy').map((c) => c.type)).toEqual(['join', 'leave']);
    const present = await watcher.presence('billing');
    expect(Array.isArray(present)).toBe(true);
    expect(present).toEqual([{ userId: 'watcher', connections: 1 }]);
    expect({ users: present.users, connections: present.connections, countsOnly: present.countsOnly }).toEqual({ users: 1, connections: 1, countsOnly: false });
  }
});

test('history pages newest first on a Redis Cluster', async () => {
  for (const org of orgsOnDifferentSlots(2)) {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `in-${i}`, amountCents: i })).id);
    const client = await open((nodes[1] as RoomwireNode).url, org, 'reader');
    const first = await client.history('billing', { limit: 4 });
    expect(first.events.map((e) => e.id)).toEqual(ids.slice(3).reverse());
    const second = await client.history('billing', { limit: 4, before: first.next as string });
    expect(second.events.map((e) => e.id)).toEqual(ids.slice(0, 3).reverse());
  }
});

test("a SIGKILLed node's users leave within 3 heartbeats on a Redis Cluster", async () => {
  const port = await freePort();
  const child = await spawnNode({
    env: {
      PORT: String(port),
      REDIS_CLUSTER_URLS: redis.urls.join(','),
      STREAM_PARTITIONS: String(PARTITIONS),
      JWT_SECRET: TEST_JWT_SECRET,
      PUBLISH_API_KEY: TEST_PUBLISH_KEY,
      PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
    },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
  children.push(child);
  const [org] = orgsOnDifferentSlots(1) as [string];
  const watcher = await open((nodes[0] as RoomwireNode).url, org, 'watcher');
  const changes: PresenceChange[] = [];
  watcher.onPresence('billing', (change) => changes.push(change));
  await open(`http://127.0.0.1:${port}`, org, 'kim');
  await waitUntil(() => changes.some((c) => c.userId === 'kim' && c.type === 'join'), { what: "kim's join" });
  const killedAt = Date.now();
  await child.kill('SIGKILL');
  await waitUntil(() => changes.some((c) => c.userId === 'kim' && c.type === 'leave'), { what: "kim's leave", timeoutMs: 10 * HEARTBEAT_MS });
  expect(Date.now() - killedAt).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 500);
}, NODE_START_TIMEOUT_MS + 60_000);
