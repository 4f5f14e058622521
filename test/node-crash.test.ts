import type { EventEnvelope } from '@roomwire/shared';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { createPublisher, type Publisher } from '@roomwire/server';
import { NODE_START_TIMEOUT_MS, freePort, spawnNode, startRedis, startTcpProxy, waitUntil, type ChildNodeHandle, type RedisServerHandle, type TcpProxy } from './harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

let redis: RedisServerHandle;
let publisher: Publisher;
let proxy: TcpProxy;
let client: RoomwireClient | undefined;
const children: ChildNodeHandle[] = [];

async function startChild(): Promise<{ handle: ChildNodeHandle; port: number }> {
  const port = await freePort();
  const handle = await spawnNode({
    env: {
      PORT: String(port),
      REDIS_URL: redis.url,
      JWT_SECRET: TEST_JWT_SECRET,
      PUBLISH_API_KEY: TEST_PUBLISH_KEY,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
    },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
  children.push(handle);
  return { handle, port };
}

beforeAll(async () => {
  redis = await startRedis();
  publisher = await createPublisher({ redisUrl: redis.url });
});

afterAll(async () => {
  client?.close();
  await proxy?.close();
  await Promise.allSettled(children.map((c) => c.kill()));
  await publisher?.close();
  await redis?.cleanup();
});

test('after SIGKILL of its node, a client reconnects to another node and receives every missed event once, in order', async () => {
  const [a, b] = await Promise.all([startChild(), startChild()]);
  proxy = await startTcpProxy(a.port);
  const org = uniqueOrg();
  client = createClient({ url: proxy.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'], minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
  const received: EventEnvelope[] = [];
  client.on('billing', 'invoice.paid', (_data, envelope) => received.push(envelope));
  await waitUntil(() => client?.state === 'connected', { what: 'client connected to node A' });

  const ids: string[] = [];
  const publish = async (tag: string): Promise<void> => {
    ids.push((await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: tag, amountCents: ids.length })).id);
  };
  for (let i = 0; i < 5; i++) await publish(`live-${i}`);
  await waitUntil(() => received.length === 5, { what: 'five live events on node A' });

  // The node dies without closing anything: no recovery session is saved.
  proxy.cut();
  await a.handle.kill('SIGKILL');
  for (let i = 0; i < 50; i++) await publish(`missed-${i}`);
  proxy.setTarget(b.port);
  proxy.restore();

  await waitUntil(() => received.length >= 55, { what: 'the 50 missed events through node B', timeoutMs: 15_000 });
  await publish('after');
  await waitUntil(() => received.length >= 56, { what: 'a live event on node B' });
  expect(received.map((e) => e.id)).toEqual(ids);
  expect(client.metrics().recoveries).toEqual({ recovered: 1, resynced: 0 });
  expect(client.metrics().duplicatesDetected).toBe(0);
  // Two child nodes start in the test, each within the harness's NODE_START_TIMEOUT_MS.
}, 2 * NODE_START_TIMEOUT_MS);
