import { z } from 'zod';
import { catalog as exampleCatalog, defineEvents, event, type ClientPublishAck, type EventEnvelope } from '@roomwire/shared';
import { createClient, RoomwireError, type RoomwireClient } from '@roomwire/client';
import { io as ioClient, type Socket } from 'socket.io-client';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

// The example catalog (presence/user.typing: volatile, clientPublish) plus a durable type clients may send.
const testCatalog = defineEvents({
  ...exampleCatalog,
  chat: { 'message.posted': event(z.object({ text: z.string().min(1).max(500) }), { clientPublish: true }) },
});
type TestCatalog = typeof testCatalog;

let cluster: TestCluster;
const clients: RoomwireClient<TestCatalog>[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 2,
    node: { catalog: testCatalog, rateLimits: { clientPublishesPerSocketPerSecond: 2, clientPublishBurstPerSocket: 5 } },
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const socket of sockets) socket.close();
  await cluster?.cleanup();
});

/** A typed client of the test catalog on node `index`, connected. */
async function connect(index: number, token: () => Promise<string>, services: ('chat' | 'presence' | 'billing')[] = []): Promise<RoomwireClient<TestCatalog>> {
  const node = cluster.nodes[index] as TestCluster['nodes'][0];
  const client = createClient<TestCatalog>({ url: node.url, token, services, minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
  clients.push(client);
  await waitUntil(() => client.state === 'connected', { what: `a client connected to node ${index}` });
  return client;
}

/** A raw Socket.IO connection, to send what the typed client cannot. */
async function rawSocket(index: number, token: string): Promise<Socket> {
  const node = cluster.nodes[index] as TestCluster['nodes'][0];
  const socket = ioClient(node.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token, v: 1 } });
  sockets.push(socket);
  await waitUntil(() => socket.connected, { what: 'the raw socket connected' });
  return socket;
}

test('a durable client event reaches subscribers on the other node, from the stream, with the sender\'s sub', async () => {
  const org = uniqueOrg('cpub');
  const receiver = await connect(1, () => signToken({ org, services: ['chat'] }), ['chat']);
  const got: EventEnvelope[] = [];
  receiver.on('chat', 'message.posted', (data, envelope) => {
    const text: string = data.text;
    void text;
    got.push(envelope);
  });
  const sender = await connect(0, () => signToken({ org, services: [], sub: 'alice', publish: ['chat'] }));

  const sent = await sender.publish('chat', 'message.posted', { text: 'hello' });
  expect(sent.offset).toMatch(/^\d+-\d+$/);
  await waitUntil(() => got.length === 1, { what: 'the chat message on node 1' });
  expect(got[0]).toMatchObject({ id: sent.id, org, service: 'chat', type: 'message.posted', sub: 'alice', data: { text: 'hello' } });
  expect(receiver.position?.offset).toBe(sent.offset);
});

test('a volatile client event (presence/user.typing) goes over pub/sub to the other node: no offset', async () => {
  const org = uniqueOrg('cpub');
  const receiver = await connect(1, () => signToken({ org, services: ['presence'] }), ['presence']);
  const got: EventEnvelope[] = [];
  receiver.on('presence', 'user.typing', (_data, envelope) => got.push(envelope));
  const sender = await connect(0, () => signToken({ org, services: ['presence'], sub: 'bob', publish: '*' }));

  // A volatile event reaches only sockets whose transport is ready: send one every 600 ms until one arrives.
  const sent = new Map<string, string | null>();
  await waitUntil(
    async () => {
      if (got.some((e) => sent.has(e.id))) return true;
      const result = await sender.publish('presence', 'user.typing', { userId: 'u_bob' });
      sent.set(result.id, result.offset);
      return false;
    },
    { what: 'a typing event on node 1', intervalMs: 600 },
  );
  const arrived = got.find((e) => sent.has(e.id));
  expect(sent.get(arrived?.id ?? '')).toBeNull();
  expect(arrived).toMatchObject({ org, service: 'presence', type: 'user.typing', sub: 'bob', data: { userId: 'u_bob' } });
});

test('the envelope\'s sub and org come from the token: fields a client adds are ignored or stripped', async () => {
  const org = uniqueOrg('cpub');
  const receiver = await connect(1, () => signToken({ org, services: ['chat'] }), ['chat']);
  const got: EventEnvelope[] = [];
  receiver.onEvent((envelope) => got.push(envelope));
  const socket = await rawSocket(0, await signToken({ org, services: [], sub: 'carol', publish: ['chat'] }));

  const forged = { service: 'chat', type: 'message.posted', data: { text: 'hi', sub: 'mallory' }, sub: 'mallory', org: 'victim-org', id: 'chosen-id' };
  const ack = (await socket.timeout(10_000).emitWithAck('rw:publish', forged)) as ClientPublishAck;
  expect(ack).toMatchObject({ ok: true });
  await waitUntil(() => got.length === 1, { what: 'the message on node 1' });
  expect(got[0]).toMatchObject({ org, sub: 'carol', data: { text: 'hi' } });
  expect(got[0]?.id).not.toBe('chosen-id');
  expect(got[0]?.data).not.toHaveProperty('sub');

  // A token without sub: the envelope has none (a client cannot supply one).
  const anonymous = await rawSocket(0, await signToken({ org, services: [], publish: ['chat'] }));
  const second = (await anonymous.timeout(10_000).emitWithAck('rw:publish', { ...forged, data: { text: 'anon' } })) as ClientPublishAck;
  expect(second).toMatchObject({ ok: true });
  await waitUntil(() => got.length === 2, { what: 'the anonymous message' });
  expect(got[1]).not.toHaveProperty('sub');
});

test('refused: a type not marked clientPublish, a token without the publish claim or for another service (RW_ERR_FORBIDDEN); bad data; unknown type', async () => {
  const org = uniqueOrg('cpub');
  const receiver = await connect(1, () => signToken({ org, services: '*' }), ['billing', 'chat', 'presence']);
  const got: EventEnvelope[] = [];
  receiver.onEvent((envelope) => got.push(envelope));

  const full = await rawSocket(0, await signToken({ org, services: '*', publish: '*' }));
  const send = async (socket: Socket, body: unknown): Promise<ClientPublishAck> => (await socket.timeout(10_000).emitWithAck('rw:publish', body)) as ClientPublishAck;
  expect(await send(full, { service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 1 } })).toMatchObject({ ok: false, error: { code: 'RW_ERR_FORBIDDEN' } });
  expect(await send(full, { service: 'chat', type: 'message.posted', data: { text: '' } })).toMatchObject({ ok: false, error: { code: 'RW_ERR_INVALID_PAYLOAD', message: expect.stringContaining('text') } });
  expect(await send(full, { service: 'chat', type: 'message.deleted', data: {} })).toMatchObject({ ok: false, error: { code: 'RW_ERR_UNKNOWN_EVENT' } });
  expect(await send(full, { service: 'chat:x', type: 'message.posted', data: { text: 'x' } })).toMatchObject({ ok: false, error: { code: 'RW_ERR_INVALID_REQUEST' } });
  expect(await send(full, 'not an object')).toMatchObject({ ok: false, error: { code: 'RW_ERR_INVALID_REQUEST' } });

  // The typed client: no publish claim at all, then a claim for another service only.
  const noClaim = await connect(0, () => signToken({ org, services: '*' }));
  await expect(noClaim.publish('chat', 'message.posted', { text: 'x' })).rejects.toMatchObject({ code: 'RW_ERR_FORBIDDEN', message: expect.stringContaining('publish claim') });
  const presenceOnly = await connect(0, () => signToken({ org, services: '*', publish: ['presence'] }));
  const refused = await presenceOnly.publish('chat', 'message.posted', { text: 'x' }).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(RoomwireError);
  expect(refused).toMatchObject({ code: 'RW_ERR_FORBIDDEN', retryable: false });

  // Nothing refused was delivered; an allowed event still is, on the same connections.
  const ok = await presenceOnly.publish('presence', 'user.typing', { userId: 'u1' });
  expect(ok.offset).toBeNull();
  const durable = await send(full, { service: 'chat', type: 'message.posted', data: { text: 'fine' } });
  expect(durable).toMatchObject({ ok: true });
  await waitUntil(() => got.some((e) => e.type === 'message.posted'), { what: 'the allowed message' });
  expect(got.filter((e) => e.service !== 'presence').map((e) => (e.data as { text?: string }).text)).toEqual(['fine']);
  expect(full.connected && presenceOnly.state === 'connected' && noClaim.state === 'connected').toBe(true);
});

test('each connection has a token bucket: a burst beyond it is refused RW_ERR_RATE_LIMITED (retryable), the connection stays', async () => {
  const org = uniqueOrg('cpub');
  const sender = await connect(0, () => signToken({ org, services: [], publish: ['chat'] }));
  const other = await connect(0, () => signToken({ org, services: [], publish: ['chat'] }));
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => sender.publish('chat', 'message.posted', { text: `m${i}` })));
  const accepted = outcomes.filter((o) => o.status === 'fulfilled').length;
  const limited = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  // The burst of 5, plus at most what 2/s refills while the 12 are served.
  expect(accepted).toBeGreaterThanOrEqual(5);
  expect(accepted).toBeLessThanOrEqual(8);
  expect(limited.length).toBe(12 - accepted);
  for (const { reason } of limited) expect(reason).toMatchObject({ code: 'RW_ERR_RATE_LIMITED', retryable: true });
  // Another connection has a bucket of its own; the limited one is still connected and refills.
  await expect(other.publish('chat', 'message.posted', { text: 'other' })).resolves.toMatchObject({ offset: expect.any(String) });
  expect(sender.state).toBe('connected');
  await waitUntil(async () => sender.publish('chat', 'message.posted', { text: 'later' }).then(() => true, () => false), { what: 'the bucket to refill', intervalMs: 250 });
});
