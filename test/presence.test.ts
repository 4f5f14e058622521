import type { PresenceChange } from '@roomwire/shared';
import type { PresenceList, RoomwireClient } from '@roomwire/client';
import type { RoomwireNode } from '@roomwire/server';
import { freePort, NODE_START_TIMEOUT_MS, spawnNode, startTcpProxy, waitUntil, type ChildNodeHandle, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, TEST_JWT_SECRET, TEST_PUBLISH_KEY, uniqueOrg } from './support/tokens';

/** Short heartbeats so that a killed node's users leave within seconds. */
const HEARTBEAT_MS = 1000;
const MAX_MEMBERS = 3;

let cluster: TestCluster;
const children: ChildNodeHandle[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2, node: { presenceHeartbeatMs: HEARTBEAT_MS, presenceMaxMembers: MAX_MEMBERS } });
});

afterAll(async () => {
  await Promise.allSettled(children.map((child) => child.kill()));
  await cluster?.cleanup();
  await Promise.all(proxies.map((proxy) => proxy.close()));
});

function url(i: number): string {
  return cluster.nodes[i]?.url as string;
}

/** A client of `org`'s billing as user `sub` (no `sub` claim when undefined), on node `node`, waited until synced. */
async function member(org: string, sub: string | undefined, node: number | string): Promise<RoomwireClient> {
  const client = cluster.client({
    url: typeof node === 'number' ? url(node) : node,
    token: () => signToken({ org, services: ['billing'], ...(sub === undefined ? {} : { sub }) }),
    services: ['billing'],
  });
  await waitUntil(() => client.state === 'connected', { what: `${sub ?? 'anonymous'} connected` });
  return client;
}

/** A subscribed client that records the presence changes of billing. */
async function watcher(org: string, node: number): Promise<{ client: RoomwireClient; changes: PresenceChange[] }> {
  const client = await member(org, 'watcher', node);
  const changes: PresenceChange[] = [];
  client.onPresence('billing', (change) => changes.push(change));
  return { client, changes };
}

function connectionsOf(list: PresenceList, userId: string): number {
  return list.find((m) => m.userId === userId)?.connections ?? 0;
}

/** What a presence list is besides its members: a real array, and its totals. */
function shapeOf(list: PresenceList): { isArray: boolean; users: number; connections: number; countsOnly: boolean } {
  return { isArray: Array.isArray(list), users: list.users, connections: list.connections, countsOnly: list.countsOnly };
}

test('a user joins once at its first connection and leaves once at its last, across nodes and tabs', async () => {
  const org = uniqueOrg();
  const { client: watching, changes } = await watcher(org, 0);
  const aliceOf = (): PresenceChange[] => changes.filter((c) => c.userId === 'alice');

  const tab1 = await member(org, 'alice', 0);
  const tab2 = await member(org, 'alice', 1);
  await waitUntil(async () => connectionsOf(await watching.presence('billing'), 'alice') === 2, { what: 'alice with 2 connections in presence' });
  const present = await watching.presence('billing');
  expect(shapeOf(present)).toEqual({ isArray: true, users: 2, connections: 3, countsOnly: false });
  expect(present).toHaveLength(2);
  expect(present).toEqual(expect.arrayContaining([{ userId: 'alice', connections: 2 }, { userId: 'watcher', connections: 1 }]));
  expect(present.find((m) => m.userId === 'alice')).toEqual({ userId: 'alice', connections: 2 });
  await waitUntil(() => aliceOf().length === 1, { what: "alice's join notice" });

  tab1.close();
  await waitUntil(async () => connectionsOf(await watching.presence('billing'), 'alice') === 1, { what: 'alice down to 1 connection' });
  tab2.close();
  await waitUntil(() => aliceOf().length === 2, { what: "alice's leave notice" });
  expect(aliceOf()).toEqual([
    { service: 'billing', type: 'join', userId: 'alice' },
    { service: 'billing', type: 'leave', userId: 'alice' },
  ]);
  expect(await watching.presence('billing')).toEqual([{ userId: 'watcher', connections: 1 }]);
  // Seen from the other node too, cluster-wide.
  const other = await member(org, 'bob', 1);
  expect(await other.presence('billing')).toEqual(expect.arrayContaining([{ userId: 'watcher', connections: 1 }, { userId: 'bob', connections: 1 }]));
});

test('unsubscribing from the service is a leave', async () => {
  const org = uniqueOrg();
  const { client: watching, changes } = await watcher(org, 1);
  const carol = await member(org, 'carol', 0);
  await waitUntil(() => changes.some((c) => c.userId === 'carol' && c.type === 'join'), { what: "carol's join" });
  await carol.unsubscribe('billing');
  await waitUntil(() => changes.some((c) => c.userId === 'carol' && c.type === 'leave'), { what: "carol's leave on unsubscribe" });
  expect(connectionsOf(await watching.presence('billing'), 'carol')).toBe(0);
});

test('a connection that drops and comes back (its session restored) is present again', async () => {
  const org = uniqueOrg();
  const { client: watching, changes } = await watcher(org, 0);
  const proxy = await startTcpProxy(Number(new URL(url(0)).port));
  proxies.push(proxy);
  const hal = await member(org, 'hal', proxy.url);
  await waitUntil(async () => connectionsOf(await watching.presence('billing'), 'hal') === 1, { what: 'hal present' });
  // An event gives the connection an offset, so that Socket.IO restores its session on reconnect.
  let received = 0;
  hal.onEvent(() => (received += 1));
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'in-1', amountCents: 1 });
  await waitUntil(() => received === 1, { what: 'an event to hal' });
  proxy.cut();
  await waitUntil(() => changes.some((c) => c.userId === 'hal' && c.type === 'leave'), { what: "hal's leave when his connection dropped" });
  proxy.restore();
  await waitUntil(() => hal.metrics().recoveries.recovered >= 1 && hal.state === 'connected', { what: 'hal back and recovered' });
  await waitUntil(async () => connectionsOf(await watching.presence('billing'), 'hal') === 1, { what: 'hal present again' });
  expect(changes.filter((c) => c.userId === 'hal').map((c) => c.type)).toEqual(['join', 'leave', 'join']);
  // The path under test: Socket.IO restored the session (rooms rejoined before the handshake was checked).
  const halSockets = [...(cluster.nodes[0] as RoomwireNode).io.of('/').sockets.values()].filter((socket) => socket.data.claims?.sub === 'hal');
  expect(halSockets.map((socket) => socket.recovered)).toEqual([true]);
});

test('above the member cap a service answers counts only', async () => {
  const org = uniqueOrg();
  const users = ['u1', 'u2', 'u3'];
  for (const [i, user] of users.entries()) await member(org, user, i % 2);
  const asker = cluster.nodes[0] as { url: string };
  const listed = await (await member(org, 'u1', asker.url)).presence('billing');
  expect(shapeOf(listed)).toEqual({ isArray: true, users: 3, connections: 4, countsOnly: false });
  expect(listed.map((m) => m.userId).sort()).toEqual(users);

  const fourth = await member(org, 'u4', 1);
  const counted = await fourth.presence('billing');
  expect(shapeOf(counted)).toEqual({ isArray: true, users: 4, connections: 5, countsOnly: true });
  expect(counted).toHaveLength(0);
  // The wire shape is unchanged: backends read members null above the cap.
  const http = await fetch(`${url(0)}/v1/presence?org=${org}&service=billing`, { headers: { authorization: `Bearer ${TEST_PUBLISH_KEY}` } });
  expect(await http.json()).toEqual({ service: 'billing', users: 4, connections: 5, members: null });
});

test('GET /v1/presence answers backends with the publish key, 401 without, 400 for a bad service', async () => {
  const org = uniqueOrg();
  await member(org, 'dave', 1);
  const get = (query: string, key?: string): Promise<Response> =>
    fetch(`${url(0)}/v1/presence?${query}`, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });
  const ok = await get(`org=${org}&service=billing`, TEST_PUBLISH_KEY);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ service: 'billing', users: 1, connections: 1, members: [{ userId: 'dave', connections: 1 }] });

  const anonymous = await get(`org=${org}&service=billing`);
  expect(anonymous.status).toBe(401);
  expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('RW_ERR_UNAUTHORIZED');
  expect((await get(`org=${org}&service=billing`, 'wrong-key-0123456789')).status).toBe(401);

  const unknown = await get(`org=${org}&service=nope`, TEST_PUBLISH_KEY);
  expect(unknown.status).toBe(400);
  expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('RW_ERR_UNKNOWN_EVENT');
  const badOrg = await get(`org=${encodeURIComponent('a:b')}&service=billing`, TEST_PUBLISH_KEY);
  expect(badOrg.status).toBe(400);
  const post = await fetch(`${url(0)}/v1/presence?org=${org}&service=billing`, { method: 'POST', headers: { authorization: `Bearer ${TEST_PUBLISH_KEY}` } });
  expect(post.status).toBe(405);
});

test('a token without sub is refused presence with a clear error, and is not counted', async () => {
  const org = uniqueOrg();
  const anonymous = await member(org, undefined, 0);
  await expect(anonymous.presence('billing')).rejects.toMatchObject({ code: 'RW_ERR_FORBIDDEN', message: expect.stringContaining('sub') });
  const named = await member(org, 'erin', 1);
  const erin = await named.presence('billing');
  expect(erin).toEqual([{ userId: 'erin', connections: 1 }]);
  expect(shapeOf(erin)).toEqual({ isArray: true, users: 1, connections: 1, countsOnly: false });
  await expect(named.presence('tickets' as 'billing')).rejects.toMatchObject({ code: 'RW_ERR_FORBIDDEN' });
});

test('the users of a node killed with SIGKILL leave within 3 heartbeats', async () => {
  const port = await freePort();
  const child = await spawnNode({
    env: {
      PORT: String(port),
      REDIS_URL: cluster.redis.url,
      JWT_SECRET: TEST_JWT_SECRET,
      PUBLISH_API_KEY: TEST_PUBLISH_KEY,
      PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
    },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
  children.push(child);
  const org = uniqueOrg();
  const { client: watching, changes } = await watcher(org, 0);
  const frank = await member(org, 'frank', `http://127.0.0.1:${port}`);
  await waitUntil(() => changes.some((c) => c.userId === 'frank' && c.type === 'join'), { what: "frank's join through the child node" });

  const killedAt = Date.now();
  await child.kill('SIGKILL');
  await waitUntil(() => changes.some((c) => c.userId === 'frank' && c.type === 'leave'), { what: "frank's leave after SIGKILL", timeoutMs: 10 * HEARTBEAT_MS });
  const elapsedMs = Date.now() - killedAt;
  frank.close();
  // 3 heartbeats, plus a little for timers firing late on a busy machine.
  expect(elapsedMs).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 500);
  expect(connectionsOf(await watching.presence('billing'), 'frank')).toBe(0);
  process.stdout.write(`presence: SIGKILLed node's user left after ${elapsedMs} ms (heartbeat ${HEARTBEAT_MS} ms)\n`);
}, NODE_START_TIMEOUT_MS + 30_000);
