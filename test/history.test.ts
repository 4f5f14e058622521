import type { EventEnvelope, HistoryPage } from '@roomwire/shared';
import type { RoomwireClient } from '@roomwire/client';
import { createNode, type RoomwireNode } from '@roomwire/server';
import { createClient } from '@roomwire/client';
import { waitUntil } from './harness';
import { startCluster, testNodeOptions, type TestCluster } from './support/cluster';
import { signToken, TEST_PUBLISH_KEY, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
let lone: RoomwireNode | undefined;
const loneClients: RoomwireClient[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2 });
});

afterAll(async () => {
  for (const client of loneClients) client.close();
  await lone?.close();
  await cluster?.cleanup();
});

async function clientOf(org: string, services: string[] | '*', url: string): Promise<RoomwireClient> {
  const client = cluster.client({ url, token: () => signToken({ org, services }), services: [] });
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });
  return client;
}

/** Every page of a service's history, following `next`. */
async function allPages(read: (before: string | undefined) => Promise<HistoryPage>): Promise<{ ids: string[]; sizes: number[] }> {
  const ids: string[] = [];
  const sizes: number[] = [];
  let before: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await read(before);
    sizes.push(page.events.length);
    ids.push(...page.events.map((e) => e.id));
    if (page.next === null) return { ids, sizes };
    before = page.next;
  }
  throw new Error('history never ended');
}

/** Publishes `count` billing events for `org` (in bursts, so several share a batched frame) and returns their ids in publish order. */
async function publishBilling(publish: (data: { invoiceId: string; amountCents: number }) => Promise<{ id: string }>, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 5) {
    const burst = await Promise.all(Array.from({ length: Math.min(5, count - i) }, (_, k) => publish({ invoiceId: `in-${i + k}`, amountCents: i + k })));
    ids.push(...burst.map((r) => r.id));
  }
  return ids;
}

test('history pages through the window newest first, across nodes, with only the service of the org', async () => {
  const org = uniqueOrg();
  const ids = await publishBilling((data) => cluster.publisher.to(org, 'billing').emit('invoice.paid', data), 47);
  // Noise in the same partition: other orgs, and another service of this org.
  await cluster.publisher.to(uniqueOrg(), 'billing').emit('invoice.paid', { invoiceId: 'other-org', amountCents: 1 });
  await cluster.publisher.to(org, 'tickets').emit('ticket.updated', { ticketId: 't1', status: 'open' });

  const client = await clientOf(org, ['billing', 'tickets'], (cluster.nodes[1] as RoomwireNode).url);
  const first = await client.history('billing', { limit: 10 });
  expect(first.events.map((e) => e.id)).toEqual(ids.slice(-10).reverse());
  expect(first.events.every((e: EventEnvelope) => e.org === org && e.service === 'billing' && e.type === 'invoice.paid')).toBe(true);
  expect(first.next).not.toBeNull();

  const { ids: paged, sizes } = await allPages((before) => client.history('billing', { limit: 10, ...(before === undefined ? {} : { before }) }));
  expect(paged).toEqual([...ids].reverse());
  expect(sizes.slice(0, 4)).toEqual([10, 10, 10, 10]);
  expect((await client.history('billing')).events).toHaveLength(20);
  expect((await client.history('tickets')).events.map((e) => e.data)).toEqual([{ ticketId: 't1', status: 'open' }]);
});

test('history refuses a limit above 100, a bad cursor, and services outside the token; another org sees only its own', async () => {
  const org = uniqueOrg();
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'mine', amountCents: 1 });
  const client = await clientOf(org, ['billing'], (cluster.nodes[0] as RoomwireNode).url);
  await expect(client.history('billing', { limit: 101 })).rejects.toMatchObject({ code: 'RW_ERR_INVALID_REQUEST', message: expect.stringContaining('1 to 100') });
  await expect(client.history('billing', { limit: 0 })).rejects.toMatchObject({ code: 'RW_ERR_INVALID_REQUEST' });
  await expect(client.history('billing', { before: 'yesterday' })).rejects.toMatchObject({ code: 'RW_ERR_INVALID_REQUEST' });
  await expect(client.history('tickets')).rejects.toMatchObject({ code: 'RW_ERR_FORBIDDEN' });
  await expect(client.history('nope' as 'billing')).rejects.toMatchObject({ code: 'RW_ERR_UNKNOWN_EVENT' });
  expect((await client.history('billing', { limit: 100 })).events.map((e) => e.data)).toEqual([{ invoiceId: 'mine', amountCents: 1 }]);

  const stranger = await clientOf(uniqueOrg(), '*', (cluster.nodes[1] as RoomwireNode).url);
  expect(await stranger.history('billing')).toEqual({ service: 'billing', events: [], next: null });
});

test('GET /v1/history pages with the publish key, 401 without, 400 for a limit above 100', async () => {
  const org = uniqueOrg();
  const ids = await publishBilling((data) => cluster.publisher.to(org, 'billing').emit('invoice.paid', data), 12);
  const base = (cluster.nodes[0] as RoomwireNode).url;
  const get = (query: string, key: string | null = TEST_PUBLISH_KEY): Promise<Response> =>
    fetch(`${base}/v1/history?${query}`, key === null ? {} : { headers: { authorization: `Bearer ${key}` } });

  const { ids: paged } = await allPages(async (before) => {
    const res = await get(`org=${org}&service=billing&limit=5${before === undefined ? '' : `&before=${encodeURIComponent(before)}`}`);
    expect(res.status).toBe(200);
    return (await res.json()) as HistoryPage;
  });
  expect(paged).toEqual([...ids].reverse());

  const anonymous = await get(`org=${org}&service=billing`, null);
  expect(anonymous.status).toBe(401);
  const tooMany = await get(`org=${org}&service=billing&limit=500`);
  expect(tooMany.status).toBe(400);
  expect(((await tooMany.json()) as { error: { code: string } }).error.code).toBe('RW_ERR_INVALID_REQUEST');
  expect((await get(`org=${org}&service=billing&limit=ten`)).status).toBe(400);
  expect((await get(`service=billing`)).status).toBe(400);
});

test('a lone node without Redis answers history and presence the same way (memory engines)', async () => {
  lone = await createNode(testNodeOptions({ presenceHeartbeatMs: 1000 }));
  const org = uniqueOrg();
  const ids = await publishBilling((data) => (lone as RoomwireNode).publish({ org, service: 'billing', type: 'invoice.paid', data }), 23);
  const client = createClient({ url: lone.url, token: () => signToken({ org, services: ['billing'], sub: 'gina' }), services: ['billing'] });
  loneClients.push(client);
  await waitUntil(() => client.state === 'connected', { what: 'client of the lone node connected' });
  const { ids: paged } = await allPages((before) => client.history('billing', { limit: 7, ...(before === undefined ? {} : { before }) }));
  expect(paged).toEqual([...ids].reverse());
  await waitUntil(async () => (await client.presence('billing')).users === 1, { what: 'gina present on the lone node' });
  const present = await client.presence('billing');
  expect(Array.isArray(present)).toBe(true);
  expect(present).toEqual([{ userId: 'gina', connections: 1 }]);
  expect({ users: present.users, connections: present.connections, countsOnly: present.countsOnly }).toEqual({ users: 1, connections: 1, countsOnly: false });
});
