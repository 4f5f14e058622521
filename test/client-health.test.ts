import { EVENTS, serviceRoom, type EventEnvelope, type RwErrorPayload } from '@roomwire/shared';
import type { RoomwireClient, StateChange } from '@roomwire/client';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await cluster?.cleanup();
});

function node(): TestCluster['nodes'][0] {
  return cluster.nodes[0] as TestCluster['nodes'][0];
}

async function connectedClient(org: string, url?: string): Promise<{ client: RoomwireClient; received: EventEnvelope[]; changes: StateChange[] }> {
  const client = cluster.client({ ...(url ? { url } : {}), token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
  const received: EventEnvelope[] = [];
  const changes: StateChange[] = [];
  client.onState((change) => changes.push(change));
  client.on('billing', 'invoice.paid', (_data, envelope) => received.push(envelope));
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });
  return { client, received, changes };
}

test('an event delivered twice reaches the handler once and counts as a duplicate', async () => {
  const org = uniqueOrg();
  const { client, received } = await connectedClient(org);
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'once', amountCents: 1 });
  await waitUntil(() => received.length === 1, { what: 'the first delivery' });
  const [first] = received as [EventEnvelope];
  const deliveredAt = client.position;
  expect(deliveredAt).not.toBeNull();

  // The same frame again, from the real server, as a replay would send it: with its stream offset.
  node().io.local.to(serviceRoom(org, 'billing')).emit(EVENTS.event, { events: [first] }, deliveredAt?.offset);
  const marker = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'marker', amountCents: 2 });
  await waitUntil(() => received.some((e) => e.id === marker.id), { what: 'the marker event' });
  await waitUntil(() => client.metrics().duplicatesDetected === 1, { what: 'the duplicate to be counted' });

  expect(received.map((e) => e.data)).toEqual([
    { invoiceId: 'once', amountCents: 1 },
    { invoiceId: 'marker', amountCents: 2 },
  ]);
  const metrics = client.metrics();
  expect(metrics.eventsReceived).toBe(2);
  expect(metrics.lastEventAt).not.toBeNull();
  expect(metrics.latency.samples).toBe(2);
  expect(metrics.latency.p50).not.toBeNull();
  expect(metrics.latency.p99).toBeGreaterThanOrEqual(metrics.latency.p50 as number);
  expect(metrics.role).toBe('standalone');
});

test('cutting the connection moves totalDisconnects and reconnectAttempts, and the state goes through reconnecting', async () => {
  const org = uniqueOrg();
  const proxy = await startTcpProxy(Number(new URL(node().url).port));
  proxies.push(proxy);
  const { client, received, changes } = await connectedClient(org, proxy.url);
  const before = client.metrics();
  expect(before).toMatchObject({ connectionState: 'connected', totalDisconnects: 0, reconnectAttempts: 0, lastDisconnectedAt: null });
  expect(before.lastConnectedAt).not.toBeNull();

  proxy.cut();
  await waitUntil(() => client.state === 'reconnecting', { what: 'the client to notice the cut' });
  await waitUntil(() => client.metrics().reconnectAttempts >= 2, { what: 'two reconnect attempts while cut' });
  const missed = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'missed', amountCents: 3 });
  proxy.restore();
  await waitUntil(() => client.state === 'connected', { what: 'the client to reconnect', timeoutMs: 10_000 });
  await waitUntil(() => received.some((e) => e.id === missed.id), { what: 'the missed event' });

  const after = client.metrics();
  expect(after.totalDisconnects).toBe(1);
  expect(after.reconnectAttempts).toBeGreaterThanOrEqual(2);
  expect(after.lastDisconnectedAt).toBeGreaterThanOrEqual(before.lastConnectedAt as number);
  expect(after.lastConnectedAt).toBeGreaterThanOrEqual(after.lastDisconnectedAt as number);
  expect(after.recoveries).toEqual({ recovered: 1, resynced: 0 });
  expect(changes).toEqual([
    { from: 'connecting', to: 'connected' },
    { from: 'connected', to: 'reconnecting' },
    { from: 'reconnecting', to: 'connected' },
  ]);
});

test('a refused handshake is retried with backoff and a fresh token until the server accepts', async () => {
  const org = uniqueOrg();
  let calls = 0;
  const errors: RwErrorPayload[] = [];
  const client = cluster.client({
    token: async () => (++calls <= 3 ? 'not-a-token' : signToken({ org, services: ['billing'] })),
    services: ['billing'],
  });
  client.onError((error) => errors.push(error));
  await waitUntil(() => client.state === 'connected', { what: 'the client to get in with a good token', timeoutMs: 10_000 });
  expect(calls).toBe(4);
  expect(errors.map((e) => e.code)).toEqual(['RW_ERR_UNAUTHORIZED', 'RW_ERR_UNAUTHORIZED', 'RW_ERR_UNAUTHORIZED']);
  expect(client.metrics().reconnectAttempts).toBe(3);
});

test('a static token the server refuses is not retried: the client stops', async () => {
  const client = cluster.client({ token: 'not-a-token', services: ['billing'] });
  const changes: StateChange[] = [];
  client.onState((change) => changes.push(change));
  await waitUntil(() => client.state === 'disconnected', { what: 'the client to give up' });
  expect(changes).toEqual([{ from: 'connecting', to: 'disconnected' }]);
});
