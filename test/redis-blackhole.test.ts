import { createNode } from '@roomwire/server';
import { RoomwireError } from '@roomwire/shared';
import { adapterClient } from '../server/src/stream/adapter-client';
import { connectRedis } from '../server/src/stream/redis-client';
import { RedisStreamLog } from '../server/src/stream/redis-stream-log';
import { partitionKeys } from '../server/src/stream/partitions';
import { startRedis, startTcpProxy, waitUntil, type RedisServerHandle, type TcpProxy } from './harness';
import { testNodeOptions } from './support/cluster';
import { TEST_PUBLISH_KEY } from './support/tokens';

let redis: RedisServerHandle;
let proxy: TcpProxy;

beforeAll(async () => {
  redis = await startRedis();
  proxy = await startTcpProxy(redis.port);
}, 20_000);

afterAll(async () => {
  await proxy?.close();
  await redis?.cleanup();
}, 20_000);

test('an append into a network black hole (no reply, no reset) fails with RW_ERR_UNAVAILABLE at the command timeout instead of hanging', async () => {
  const client = await connectRedis({ url: `redis://127.0.0.1:${proxy.port}` }, { failFast: true, name: 'blackhole-test', onError: () => undefined });
  const log = new RedisStreamLog(client, partitionKeys('blackhole', 0, 1), {
    replayWindowMs: 60_000,
    maxStreamLength: 1000,
    compressFramesMinBytes: 0,
    commandTimeoutMs: 300,
  });
  const frame = { events: [{ id: 'e1', org: 'o', service: 'billing', type: 'invoice.paid', ts: Date.now(), data: {} }] };
  try {
    // Loads the script while the network works: only the append itself meets the black hole.
    await log.append('org:o:svc:billing', frame, { volatile: false });
    proxy.blackhole();
    const started = Date.now();
    let bound: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      log.append('org:o:svc:billing', frame, { volatile: false }).then(
        () => 'resolved',
        (err: unknown) => err,
      ),
      // A bound on the wait, so that a hang fails this test quickly and by name.
      new Promise((resolve) => (bound = setTimeout(resolve, 5000, 'still pending after 5 s'))),
    ]).finally(() => clearTimeout(bound));
    expect(outcome).toBeInstanceOf(RoomwireError);
    expect((outcome as RoomwireError).code).toBe('RW_ERR_UNAVAILABLE');
    expect((outcome as RoomwireError).retryable).toBe(true);
    // The deadline, not the end of the outage (the hole is still open here).
    expect(Date.now() - started).toBeLessThan(5000);
  } finally {
    proxy.heal();
    client.client.destroy();
  }
}, 20_000);

test('a node cut off from Redis by a black hole stays up, fails /readyz, and answers POST /v1/publish with 503 RW_ERR_UNAVAILABLE instead of hanging', async () => {
  const node = await createNode(testNodeOptions({ redisUrl: `redis://127.0.0.1:${proxy.port}`, nodeId: 'blackhole-node', port: 0 }));
  const publish = (): Promise<Response> =>
    fetch(`${node.url}/v1/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_PUBLISH_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ org: 'blackhole', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 1 } }),
      // A bound on the wait, so that a hang fails this test quickly and by name.
      signal: AbortSignal.timeout(9000),
    });
  try {
    expect((await publish()).status).toBe(200);
    proxy.blackhole();
    const started = Date.now();
    const res = await publish();
    // The rate limiter's counter (1 s, then its in-memory insurance) and the append's deadline (5 s).
    expect(Date.now() - started).toBeLessThan(8000);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RW_ERR_UNAVAILABLE');
    expect((await fetch(`${node.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  } finally {
    proxy.heal();
    await node.close();
  }
}, 30_000);

test("the Socket.IO adapter's subscriber, closed while its SUBSCRIBE waits in a black hole, reports the failure instead of leaving it unhandled", async () => {
  const handle = await connectRedis({ url: `redis://127.0.0.1:${proxy.port}` }, { failFast: false, name: 'blackhole-adapter', onError: () => undefined });
  const failures: string[] = [];
  // What @socket.io/redis-streams-adapter does with the client it is given: a duplicate, connected,
  // whose subscribe promise it never handles, then disconnect() on close. An unhandled rejection here
  // fails this test (and would end a node).
  const subscriber = adapterClient(handle.client, (err, what) => failures.push(`${what}: ${err.message}`)).duplicate();
  subscriber.on('error', () => undefined);
  try {
    await subscriber.connect();
    proxy.blackhole();
    void subscriber.subscribe('roomwire-blackhole-test', () => undefined);
    void subscriber.disconnect();
    await waitUntil(() => failures.length > 0, { what: 'the pending SUBSCRIBE reported' });
    expect(failures[0]).toMatch(/^adapter subscriber subscribe: /);
  } finally {
    proxy.heal();
    await handle.close();
  }
}, 20_000);
