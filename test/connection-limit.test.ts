import { io as ioClient, type Socket } from 'socket.io-client';
import { createNode, type RoomwireNode } from '@roomwire/server';
import { deferred, waitUntil } from './harness';
import { testNodeOptions } from './support/cluster';
import { rawBody, rawStatus, sendRaw, sendRequest } from './support/hostile-http';
import { signToken, uniqueOrg } from './support/tokens';

const LIMIT = 3;
let node: RoomwireNode;
const clients: Socket[] = [];

beforeAll(async () => {
  node = await createNode(testNodeOptions({ maxConnections: LIMIT }));
});

afterAll(async () => {
  for (const client of clients) client.close();
  await node?.close();
});

/** A Roomwire client over WebSocket (one TCP connection); resolves once connected, or with why not. */
async function connectClient(): Promise<{ client: Socket; outcome: 'connected' | string }> {
  const client = ioClient(node.url, { transports: ['websocket'], reconnection: false, auth: { token: await signToken({ org: uniqueOrg('cap'), services: ['billing'] }), v: 1 } });
  clients.push(client);
  const ended = deferred<'connected' | string>();
  client.once('connect', () => ended.resolve('connected'));
  client.once('connect_error', (err: Error) => ended.resolve(err.message));
  return { client, outcome: await ended.promise };
}

test('connections over the limit are answered 503 RW_ERR_CONNECTION_LIMIT with Retry-After and closed; the open ones are untouched', async () => {
  const held = [];
  for (let i = 0; i < LIMIT; i++) held.push(await connectClient());
  expect(held.map((h) => h.outcome)).toEqual(Array(LIMIT).fill('connected'));

  const refused = await sendRaw(node.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  expect(refused.closedByServer).toBe(true);
  expect(rawStatus(refused.text)).toBe(503);
  expect(refused.text).toMatch(/\r\nRetry-After: \d+\r\n/);
  expect(JSON.parse(rawBody(refused.text))).toEqual({ error: { code: 'RW_ERR_CONNECTION_LIMIT', message: expect.stringContaining(`limit of ${LIMIT} connections`) } });

  // A publish over the limit is refused before it is read: nothing is published.
  const publish = await sendRequest(node.url, { headers: { 'Content-Type': 'application/json' }, chunks: ['{}'] });
  expect(publish.status).toBe(503);

  const extra = await connectClient();
  expect(extra.outcome).not.toBe('connected');
  expect(held.every((h) => h.client.connected)).toBe(true);

  // One leaves: a new connection is served again, and the refusals were counted.
  held[0]?.client.close();
  await waitUntil(async () => (await sendRequest(node.url, { method: 'GET', path: '/healthz' })).status === 200, { what: 'a free connection slot' });
  const metrics = await sendRequest(node.url, { method: 'GET', path: '/metrics' });
  expect(Number(/^roomwire_connections_refused_total\{[^}]*\} (\d+)/m.exec(metrics.body)?.[1])).toBeGreaterThanOrEqual(3);
});
