import type { EventEnvelope, RefreshAck, RwErrorPayload } from '@roomwire/shared';
import { io as ioClient, type Socket } from 'socket.io-client';
import { waitFor, waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
const sockets: Socket[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2 });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await cluster?.cleanup();
});

/** A raw Socket.IO connection on node `index`, subscribed to `services`, recording its `rw:event` envelopes and `rw:error` notices. */
async function rawSubscriber(index: number, token: string, services: string[]): Promise<{ socket: Socket; events: EventEnvelope[]; notices: RwErrorPayload[] }> {
  const node = cluster.nodes[index] as TestCluster['nodes'][0];
  const socket = ioClient(node.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token, v: 1 } });
  sockets.push(socket);
  const events: EventEnvelope[] = [];
  const notices: RwErrorPayload[] = [];
  socket.on('rw:event', (frame: { events?: EventEnvelope[] }) => events.push(...(frame.events ?? [])));
  socket.on('rw:error', (notice: RwErrorPayload) => notices.push(notice));
  await waitFor(socket, 'connect');
  expect(await socket.timeout(10_000).emitWithAck('rw:subscribe', { services })).toMatchObject({ ok: true });
  return { socket, events, notices };
}

const refresh = async (socket: Socket, token: unknown): Promise<RefreshAck> => (await socket.timeout(10_000).emitWithAck('rw:refresh', { token })) as RefreshAck;

test('5-second tokens for 60 s of events: refreshed on the open connections, on both nodes, with 0 disconnects and 0 missed events', async () => {
  const org = uniqueOrg('refresh');
  let issued = 0;
  const token = async (): Promise<string> => {
    issued += 1;
    return signToken({ org, services: ['billing'] }, { expiresInS: 5 });
  };
  const clients = [0, 1].map((i) => cluster.client({ url: (cluster.nodes[i] as TestCluster['nodes'][0]).url, token, services: ['billing'] }));
  const received = clients.map(() => [] as string[]);
  const errors: RwErrorPayload[] = [];
  clients.forEach((client, i) => {
    client.on('billing', 'invoice.paid', (data) => received[i]?.push(data.invoiceId));
    client.onError((error) => errors.push(error));
  });
  await waitUntil(() => clients.every((c) => c.state === 'connected'), { what: 'both clients connected' });

  // 60 s of events, 5 a second, through both nodes in turn.
  const sent: string[] = [];
  const endAt = Date.now() + 60_000;
  for (let i = 0; Date.now() < endAt; i++) {
    const id = `in_${i}`;
    await (cluster.nodes[i % 2] as TestCluster['nodes'][0]).publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: id, amountCents: i } });
    sent.push(id);
    await waitUntil(() => received.every((r) => r.length === sent.length), { what: `event ${i} on both clients` });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  for (const [i, client] of clients.entries()) {
    const metrics = client.metrics();
    expect({ client: i, disconnects: metrics.totalDisconnects, state: metrics.connectionState }).toEqual({ client: i, disconnects: 0, state: 'connected' });
    // A 5-s token is refreshed at 4 s: about 15 times in 60 s.
    expect(metrics.tokenRefreshes).toBeGreaterThanOrEqual(12);
    expect(received[i]).toEqual(sent);
  }
  expect(sent.length).toBeGreaterThan(200);
  expect(issued).toBeGreaterThanOrEqual(26);
  expect(errors).toEqual([]);
}, 120_000);

test('a refreshed token that no longer allows a service: the connection leaves it and reports RW_ERR_FORBIDDEN, the others go on', async () => {
  const org = uniqueOrg('refresh');
  let calls = 0;
  // The first token allows billing and tickets (for 2 s); every later one billing only.
  const token = async (): Promise<string> => signToken({ org, services: calls++ === 0 ? ['billing', 'tickets'] : ['billing'] }, { expiresInS: calls === 1 ? 2 : 3600 });
  const client = cluster.client({ url: (cluster.nodes[1] as TestCluster['nodes'][0]).url, token, services: ['billing', 'tickets'] });
  const errors: RwErrorPayload[] = [];
  const received: string[] = [];
  client.onError((error) => errors.push(error));
  client.onEvent((envelope) => received.push(envelope.type));
  await waitUntil(() => client.state === 'connected', { what: 'the client connected' });

  await waitUntil(() => client.metrics().tokenRefreshes === 1, { what: 'the refresh', timeoutMs: 10_000 });
  expect(errors).toEqual([expect.objectContaining({ code: 'RW_ERR_FORBIDDEN', message: expect.stringContaining('tickets') })]);
  expect(client.services).toEqual(['billing']);
  await cluster.publisher.to(org, 'tickets').emit('ticket.updated', { ticketId: 'T-1', status: 'open' });
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'in_1', amountCents: 1 });
  await waitUntil(() => received.includes('invoice.paid'), { what: 'the billing event' });
  expect(received).toEqual(['invoice.paid']);
  expect(client.metrics().totalDisconnects).toBe(0);
  // Subscribing again is refused under the new token.
  await expect(client.subscribe('tickets')).rejects.toMatchObject({ code: 'RW_ERR_FORBIDDEN' });
});

test('a refused refresh (invalid, expired, another org, malformed) changes nothing and keeps the connection', async () => {
  const org = uniqueOrg('refresh');
  const { socket, events } = await rawSubscriber(0, await signToken({ org, services: ['billing'] }), ['billing']);
  expect(await refresh(socket, 'not-a-jwt')).toMatchObject({ ok: false, error: { code: 'RW_ERR_UNAUTHORIZED' } });
  expect(await refresh(socket, await signToken({ org, services: ['billing'] }, { secret: 'another-secret-0123456789-abcdefghijklmnop' }))).toMatchObject({ ok: false, error: { code: 'RW_ERR_UNAUTHORIZED' } });
  expect(await refresh(socket, await signToken({ org, services: ['billing'] }, { expiresInS: -10 }))).toMatchObject({ ok: false, error: { code: 'RW_ERR_TOKEN_EXPIRED' } });
  expect(await refresh(socket, await signToken({ org: uniqueOrg('other'), services: '*' }))).toMatchObject({ ok: false, error: { code: 'RW_ERR_FORBIDDEN' } });
  expect(await refresh(socket, 42)).toMatchObject({ ok: false, error: { code: 'RW_ERR_INVALID_REQUEST' } });
  expect(((await socket.timeout(10_000).emitWithAck('rw:refresh', 'x')) as RefreshAck).ok).toBe(false);

  expect(socket.connected).toBe(true);
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'still-here', amountCents: 1 });
  await waitUntil(() => events.some((e) => (e.data as { invoiceId: string }).invoiceId === 'still-here'), { what: 'an event after the refused refreshes' });
});

test('a token that does expire still closes the connection (RW_ERR_TOKEN_EXPIRED); a refreshed one moves the expiry', async () => {
  const org = uniqueOrg('refresh');
  // Signed first: its exp is at or before the other's, so the sweep that closes the other is past it.
  const refreshedFirst = await signToken({ org, services: ['billing'] }, { expiresInS: 2 });
  const expiring = await rawSubscriber(1, await signToken({ org, services: ['billing'] }, { expiresInS: 2 }), ['billing']);
  const refreshed = await rawSubscriber(1, refreshedFirst, ['billing']);
  const ack = await refresh(refreshed.socket, await signToken({ org, services: ['billing'] }, { expiresInS: 3600 }));
  expect(ack).toMatchObject({ ok: true, left: [] });
  expect(ack.ok && ack.exp).toBeGreaterThan(Date.now() / 1000 + 3000);

  await waitFor(expiring.socket, 'disconnect', 10_000);
  expect(expiring.notices).toEqual([{ code: 'RW_ERR_TOKEN_EXPIRED', message: 'token expired' }]);
  // The expiry sweep that closed the first has passed the second's old exp too: it is still open.
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'after-old-exp', amountCents: 1 });
  await waitUntil(() => refreshed.events.some((e) => (e.data as { invoiceId: string }).invoiceId === 'after-old-exp'), { what: 'an event on the refreshed connection' });
  expect(refreshed.socket.connected).toBe(true);
  expect(refreshed.notices).toEqual([]);
});

test('the refresh timer ends with the client: close() before the refresh time means the token function is not called again', async () => {
  const org = uniqueOrg('refresh');
  let calls = 0;
  const token = async (): Promise<string> => {
    calls += 1;
    return signToken({ org, services: ['billing'] }, { expiresInS: 2 });
  };
  const client = cluster.client({ token, services: ['billing'] });
  await waitUntil(() => client.state === 'connected', { what: 'the client connected' });
  client.close();
  const closedAt = Date.now();
  const callsAtClose = calls;
  // A refresh is due at most 1.6 s after the token was fetched: wait until well past that, then check.
  await waitUntil(() => Date.now() - closedAt > 2500, { what: 'past the refresh time', timeoutMs: 5000 });
  expect(calls).toBe(callsAtClose);
});

test('a refresh whose token function fails is reported and tried again before the expiry: the connection stays', async () => {
  const org = uniqueOrg('refresh');
  let calls = 0;
  // The second call (the first refresh, at 4 s of a 5-s token) fails; the retry, halfway to exp, succeeds.
  const token = async (): Promise<string> => {
    calls += 1;
    if (calls === 2) throw new Error('token endpoint down');
    return signToken({ org, services: ['billing'] }, { expiresInS: calls === 1 ? 5 : 3600 });
  };
  const client = cluster.client({ url: (cluster.nodes[0] as TestCluster['nodes'][0]).url, token, services: ['billing'] });
  const errors: RwErrorPayload[] = [];
  client.onError((error) => errors.push(error));
  await waitUntil(() => client.state === 'connected', { what: 'the client connected' });
  await waitUntil(() => client.metrics().tokenRefreshes === 1, { what: 'the retried refresh', timeoutMs: 10_000 });
  expect(calls).toBe(3);
  expect(errors).toEqual([expect.objectContaining({ message: expect.stringContaining('token endpoint down') })]);
  expect(client.metrics().totalDisconnects).toBe(0);
});
