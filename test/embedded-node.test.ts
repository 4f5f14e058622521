import type { EventEnvelope } from '@roomwire/shared';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { createNode, type RoomwireNode } from '@roomwire/server';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { testNodeOptions } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let node: RoomwireNode;
let proxy: TcpProxy;
const clients: RoomwireClient[] = [];

beforeAll(async () => {
  // No redisUrl: the embedded default, one node on the in-memory adapter.
  node = await createNode(testNodeOptions());
  proxy = await startTcpProxy(Number(new URL(node.url).port));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await proxy?.close();
  await node?.close();
});

test('on the in-memory adapter, a client cut while events are published recovers all of them once, in order', async () => {
  const org = uniqueOrg();
  const client = createClient({ url: proxy.url, token: () => signToken({ org, services: ['tickets'] }), services: ['tickets'], minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
  clients.push(client);
  const received: EventEnvelope[] = [];
  client.on('tickets', 'ticket.updated', (data, envelope) => {
    expect(['open', 'pending', 'closed']).toContain(data.status);
    received.push(envelope);
  });
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });
  const ids: string[] = [];
  const publish = async (i: number): Promise<void> => {
    const result = await node.publish({ org, service: 'tickets', type: 'ticket.updated', data: { ticketId: `t${i}`, status: 'open' } });
    expect(result.offset).toMatch(/^\d+-\d+$/);
    ids.push(result.id);
  };
  await publish(0);
  await waitUntil(() => received.length === 1, { what: 'the first event' });
  proxy.cut();
  await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
  for (let i = 1; i <= 30; i++) await publish(i);
  proxy.restore();
  await waitUntil(() => received.length >= 31, { what: '30 missed events' });
  await publish(31);
  await waitUntil(() => received.length >= 32, { what: 'a live event' });
  expect(received.map((e) => e.id)).toEqual(ids);
});

test('on the in-memory adapter, a client that never received an event recovers what it missed', async () => {
  const org = uniqueOrg();
  const client = createClient({ url: proxy.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'], minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
  clients.push(client);
  const received: string[] = [];
  client.onEvent((e) => received.push(e.id));
  await waitUntil(() => client.state === 'connected', { what: 'client connected' });
  proxy.cut();
  await waitUntil(() => client.state === 'reconnecting', { what: 'the cut' });
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await node.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: `i${i}`, amountCents: i } })).id);
  proxy.restore();
  await waitUntil(() => received.length >= 10, { what: 'ten missed events' });
  expect(received).toEqual(ids);
  expect(client.metrics().recoveries).toEqual({ recovered: 1, resynced: 0 });
});
