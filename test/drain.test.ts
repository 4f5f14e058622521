import { io as ioClient } from 'socket.io-client';
import { createNode, type RoomwireNode } from '@roomwire/server';
import type { EventEnvelope, RwErrorPayload } from '@roomwire/shared';
import { DEFAULT_WAIT_MS, startTcpProxy, waitFor, waitUntil, type TcpProxy } from './harness';
import { startCluster, testNodeOptions, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

/**
 * How long the draining node keeps answering after `close()`: the test's checks (a /readyz request and
 * a refused handshake) must land inside it. They take milliseconds on a quiet machine; on a busy one the
 * event loop stalls for up to ~800 ms at a time (docs/reliability.md), so the window is several stalls long.
 */
const DRAIN_DELAY_MS = 3000;

let cluster: TestCluster;
let draining: RoomwireNode;
let proxy: TcpProxy | undefined;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  draining = await createNode(testNodeOptions({ redisUrl: cluster.redis.url, drainDelayMs: DRAIN_DELAY_MS, nodeId: 'draining' }));
});

afterAll(async () => {
  await proxy?.close();
  await draining?.close();
  await cluster?.cleanup();
});

test('a draining node fails /readyz, refuses new handshakes, tells its clients, and they recover on another node', async () => {
  const other = cluster.nodes[0] as TestCluster['nodes'][0];
  const org = uniqueOrg();
  proxy = await startTcpProxy(Number(new URL(draining.url).port));
  const client = cluster.client({ url: proxy.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
  const received: EventEnvelope[] = [];
  const notices: RwErrorPayload[] = [];
  client.on('billing', 'invoice.paid', (_d, e) => received.push(e));
  client.onError((e) => notices.push(e));
  await waitUntil(() => client.state === 'connected', { what: 'connected to the node about to drain' });
  const ids: string[] = [];
  const publish = async (tag: string): Promise<void> => {
    ids.push((await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: tag, amountCents: ids.length })).id);
  };
  await publish('before');

  // New connections now go to the other node, as a load balancer would route them once /readyz fails.
  proxy.setTarget(Number(new URL(other.url).port));
  const closing = draining.close();
  const readyz = await fetch(`${draining.url}/readyz`);
  expect(readyz.status).toBe(503);
  expect(await readyz.json()).toMatchObject({ draining: true });
  const late = ioClient(draining.url, { transports: ['websocket'], reconnection: false, auth: { token: await signToken({ org, services: ['billing'] }), v: 1 } });
  const refused = await waitFor<Error & { data?: RwErrorPayload }>(late, 'connect_error', DEFAULT_WAIT_MS, 'a refused handshake while draining');
  late.close();
  expect(refused.data?.code).toBe('RW_ERR_DRAINING');
  await publish('during');
  await closing;
  await publish('after');

  await waitUntil(() => received.length === 3, { what: 'every event, through the other node', timeoutMs: 10_000 });
  expect(received.map((e) => e.id)).toEqual(ids);
  expect(notices.map((n) => n.code)).toContain('RW_ERR_DRAINING');
  expect(client.metrics().recoveries.resynced).toBe(0);
  expect(client.metrics().duplicatesDetected).toBe(0);
});
