import { io as ioClient, type Socket } from 'socket.io-client';
import { SignJWT, UnsecuredJWT } from 'jose';
import type { EventEnvelope, RwErrorPayload } from '@roomwire/shared';
import { DEFAULT_WAIT_MS, waitFor, waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2 });
});

afterAll(async () => {
  await cluster?.cleanup();
});

async function httpPublish(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/v1/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_PUBLISH_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

test('a client on node A receives, in order, events published through the library and through HTTP on node B', async () => {
  const [nodeA, nodeB] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
  const org = uniqueOrg();
  const client = cluster.client({ url: nodeA.url, token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
  const received: EventEnvelope[] = [];
  client.on('billing', 'invoice.paid', (data, envelope) => {
    expect(typeof data.amountCents).toBe('number');
    received.push(envelope);
  });
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });

  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    const data = { invoiceId: `in_${i}`, amountCents: i };
    if (i % 2 === 0) {
      ids.push((await cluster.publisher.to(org, 'billing').emit('invoice.paid', data)).id);
    } else {
      const res = await httpPublish(nodeB.url, { org, service: 'billing', type: 'invoice.paid', data });
      expect(res.status).toBe(200);
      ids.push((res.json as { id: string }).id);
    }
  }
  await waitUntil(() => received.length >= 10, { what: '10 events on node A' });
  expect(received.map((e) => e.id)).toEqual(ids);
  expect(received.map((e) => (e.data as { invoiceId: string }).invoiceId)).toEqual(ids.map((_, i) => `in_${i}`));
  expect(received.every((e) => e.org === org && e.service === 'billing' && e.type === 'invoice.paid')).toBe(true);
});

test('clients of another org, and of another service, receive none of the events', async () => {
  const [nodeA, nodeB] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
  const org = uniqueOrg();
  const other = uniqueOrg();
  const target = cluster.client({ url: nodeA.url, token: await signToken({ org, services: '*' }), services: ['billing'] });
  const otherOrg = cluster.client({ url: nodeB.url, token: await signToken({ org: other, services: '*' }), services: ['billing', 'tickets'] });
  const otherService = cluster.client({ url: nodeA.url, token: await signToken({ org, services: ['tickets'] }), services: ['tickets'] });
  const leaks: EventEnvelope[] = [];
  otherOrg.onEvent((e) => leaks.push(e));
  otherService.onEvent((e) => leaks.push(e));
  const got: EventEnvelope[] = [];
  target.onEvent((e) => got.push(e));
  await waitUntil(() => [target, otherOrg, otherService].every((c) => c.state === 'connected'), { what: 'three clients connected' });

  for (let i = 0; i < 5; i++) await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `x${i}`, amountCents: 1 });
  // A marker the other-org client does receive proves its stream is live: the leak check is not vacuous.
  await cluster.publisher.to(other, 'tickets').emit('ticket.updated', { ticketId: 'marker', status: 'open' });
  await waitUntil(() => got.length === 5, { what: 'five events for the target' });
  await waitUntil(() => leaks.some((e) => e.org === other), { what: 'the marker on the other org' });
  expect(leaks.filter((e) => e.org === org)).toEqual([]);
  expect(leaks.every((e) => e.org === other && e.service === 'tickets')).toBe(true);
});

describe('handshake and subscribe refusals', () => {
  const connect = (url: string, auth: Record<string, unknown> | undefined): Socket =>
    ioClient(url, { transports: ['websocket'], reconnection: false, ...(auth ? { auth } : {}) });

  async function refusal(auth: Record<string, unknown> | undefined): Promise<RwErrorPayload> {
    const socket = connect((cluster.nodes[0] as TestCluster['nodes'][0]).url, auth);
    try {
      const err = await waitFor<Error & { data?: RwErrorPayload }>(socket, 'connect_error', DEFAULT_WAIT_MS, 'a refused handshake');
      expect(socket.connected).toBe(false);
      return err.data as RwErrorPayload;
    } finally {
      socket.close();
    }
  }

  test('a missing token is refused', async () => {
    expect((await refusal(undefined)).code).toBe('RW_ERR_UNAUTHORIZED');
    expect((await refusal({ v: 1 })).code).toBe('RW_ERR_UNAUTHORIZED');
  });

  test('an expired token is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ org: 'acme', services: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect((await refusal({ token, v: 1 })).code).toBe('RW_ERR_TOKEN_EXPIRED');
  });

  test('a wrongly signed token is refused', async () => {
    const token = await signToken({ org: 'acme', services: '*' }, { secret: 'another-secret-that-is-long-enough-0123456789' });
    expect((await refusal({ token, v: 1 })).code).toBe('RW_ERR_UNAUTHORIZED');
  });

  test('an alg:none token is refused', async () => {
    const token = new UnsecuredJWT({ org: 'acme', services: '*' }).setExpirationTime('1h').encode();
    expect((await refusal({ token, v: 1 })).code).toBe('RW_ERR_UNAUTHORIZED');
  });

  test('a token without the org claim is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ services: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect((await refusal({ token, v: 1 })).code).toBe('RW_ERR_UNAUTHORIZED');
  });

  test('a subscribe outside the claims is refused with a code, and a valid one still works', async () => {
    const socket = connect((cluster.nodes[1] as TestCluster['nodes'][0]).url, { token: await signToken({ org: 'acme', services: ['billing'] }), v: 1 });
    try {
      await waitFor(socket, 'connect', DEFAULT_WAIT_MS, 'connect');
      const refused = await socket.emitWithAck('rw:subscribe', { services: ['tickets'] });
      expect(refused).toEqual({ ok: false, error: { code: 'RW_ERR_FORBIDDEN', message: expect.stringContaining('tickets') } });
      const injected = await socket.emitWithAck('rw:subscribe', { services: ['billing:svc:x'] });
      expect(injected.error.code).toBe('RW_ERR_INVALID_REQUEST');
      const accepted = await socket.emitWithAck('rw:subscribe', { services: ['billing'] });
      expect(accepted).toMatchObject({ ok: true, services: ['billing'], position: { epoch: expect.any(String), offset: expect.stringMatching(/^\d+-\d+$/) } });
    } finally {
      socket.close();
    }
  });
});
