import { createClient, type RoomwireClient } from '@roomwire/client';
import { createPublisher, type Publisher } from '@roomwire/server';
import { startLocalCluster, type LocalCluster } from '../infra/cluster/launch-cluster';
import { waitUntil } from './harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

const CLIENTS = 200;
const EVENTS = 5000;
/** Events per tick and tick length: 160 events/s, so publishing (~31 s) spans the three restarts (~15-20 s). */
const PER_TICK = 4;
const TICK_MS = 25;
/** Bound on emits not yet acknowledged by Redis: a stalled Redis slows the generator instead of queueing. */
const MAX_IN_FLIGHT = 200;

/** One client and the order it received the publish sequence numbers in. */
interface Receiver {
  client: RoomwireClient;
  /** The next sequence number it should receive. */
  next: number;
  /** The first out-of-order or repeated delivery, if any. */
  anomaly: string | undefined;
  resyncs: number;
}

let cluster: LocalCluster;
let publisher: Publisher;
const receivers: Receiver[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster({ balancer: 'haproxy', jwtSecret: TEST_JWT_SECRET, publishApiKey: TEST_PUBLISH_KEY });
  publisher = await createPublisher({ redisUrl: cluster.redis.url });
}, 60_000);

afterAll(async () => {
  for (const r of receivers) r.client.close();
  await publisher?.close();
  await cluster?.stop();
}, 60_000);

/**
 * Publishes `EVENTS` numbered events at a steady rate, on a clock rather than after each batch is
 * acknowledged, with at most `MAX_IN_FLIGHT` emits unacknowledged; `published()` says how many so far.
 */
function publishSteadily(org: string): { done: Promise<void>; published(): number } {
  let sent = 0;
  const done = (async () => {
    const start = Date.now();
    const inFlight: Promise<unknown>[] = [];
    for (let tick = 0; sent < EVENTS; tick++) {
      for (let k = 0; k < PER_TICK && sent < EVENTS; k++, sent++) {
        inFlight.push(publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `rr-${sent}`, amountCents: sent }));
      }
      while (inFlight.length > MAX_IN_FLIGHT) await inFlight.shift();
      // Pacing a load generator, not waiting for a condition.
      const due = start + (tick + 1) * TICK_MS;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    await Promise.all(inFlight);
  })();
  return { done, published: () => sent };
}

test('a rolling restart (SIGTERM, one node at a time) under load: every client receives every event once, in order, without a resync', async () => {
  const org = uniqueOrg('rolling');
  // WebSocket-only: @roomwire/client does not set `withCredentials`, so in Node it cannot hold
  // HAProxy's stickiness cookie and long-polling through it fails (see infra/README.md).
  for (let i = 0; i < CLIENTS; i++) {
    const client = createClient({
      url: cluster.url,
      token: () => signToken({ org, services: ['billing'] }),
      services: ['billing'],
      transports: ['websocket'],
      minReconnectDelayMs: 100,
      maxReconnectDelayMs: 1000,
    });
    const receiver: Receiver = { client, next: 0, anomaly: undefined, resyncs: 0 };
    client.on('billing', 'invoice.paid', ({ amountCents }) => {
      if (amountCents !== receiver.next) receiver.anomaly ??= `expected #${receiver.next}, got #${amountCents}`;
      receiver.next = amountCents + 1;
    });
    client.onResync(() => (receiver.resyncs += 1));
    receivers.push(receiver);
  }
  await waitUntil(() => receivers.every((r) => r.client.state === 'connected'), { what: `${CLIENTS} clients connected`, timeoutMs: 20_000 }).catch((err: Error) => {
    const states = receivers.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.client.state]: (acc[r.client.state] ?? 0) + 1 }), {});
    throw new Error(`${err.message}: ${JSON.stringify(states)}\n--- node1 ---\n${cluster.nodes[0]?.output().slice(-2000) ?? ''}`);
  });

  const publishing = publishSteadily(org);
  await waitUntil(() => receivers.every((r) => r.next >= 100), { what: 'the first 100 events on every client', timeoutMs: 10_000 });
  const publishedAtRestart: number[] = [];
  for (const node of cluster.nodes) {
    publishedAtRestart.push(publishing.published());
    await node.restart();
  }
  publishedAtRestart.push(publishing.published());
  await publishing.done;

  await waitUntil(() => receivers.every((r) => r.next >= EVENTS || r.anomaly !== undefined), {
    what: `all ${EVENTS} events on all ${CLIENTS} clients`,
    timeoutMs: 30_000,
  });

  // The restarts happened while events were flowing, and every client was moved at least once.
  expect(publishedAtRestart[0]).toBeGreaterThan(0);
  expect(publishedAtRestart[3]).toBeLessThan(EVENTS);
  expect(receivers.filter((r) => r.client.metrics().totalDisconnects === 0)).toHaveLength(0);

  expect(receivers.filter((r) => r.anomaly !== undefined).map((r) => r.anomaly)).toEqual([]);
  expect(receivers.filter((r) => r.next !== EVENTS)).toHaveLength(0);
  expect(receivers.filter((r) => r.resyncs > 0 || r.client.metrics().recoveries.resynced > 0)).toHaveLength(0);
  expect(receivers.reduce((sum, r) => sum + r.client.metrics().eventsReceived, 0)).toBe(CLIENTS * EVENTS);
}, 120_000);
