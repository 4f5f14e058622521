import { createClient, type RoomwireClient } from '@roomwire/client';
import { createPublisher, type Publisher } from '@roomwire/server';
import { startLocalCluster, type LocalCluster } from '../infra/cluster/launch-cluster';
import { waitUntil } from './harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

const CLIENTS = 200;
/** Events per tick and tick length: 160 events/s while the three restarts run. */
const PER_TICK = 4;
const TICK_MS = 25;
/** Bound on emits not yet acknowledged by Redis: a stalled Redis slows the generator instead of queueing. */
const MAX_IN_FLIGHT = 200;
/** Events published after the last restart has completed: the cluster is seen delivering once every node is new. */
const AFTER_LAST_RESTART = 200;

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
  // Three child nodes start at once, each within the harness's NODE_START_TIMEOUT_MS.
}, 150_000);

afterAll(async () => {
  for (const r of receivers) r.client.close();
  await publisher?.close();
  await cluster?.stop();
}, 60_000);

/** A publisher running until it is stopped: how many it has sent so far, and a stop that returns the total. */
interface SteadyPublisher {
  /** Events handed to the publisher so far, numbered 0 … published() − 1. */
  published(): number;
  /** Stops the clock, waits until Redis acknowledged every emit, and resolves with how many were published. */
  stop(): Promise<number>;
}

/**
 * Publishes numbered events at a steady rate until `stop()`, on a clock rather than after each batch is
 * acknowledged, with at most `MAX_IN_FLIGHT` emits unacknowledged. It runs until the test says so, not
 * for a fixed count: the restarts must happen while events flow, however long a restart takes.
 */
function publishUntilStopped(org: string): SteadyPublisher {
  let sent = 0;
  let stopping = false;
  const done = (async () => {
    const start = Date.now();
    const inFlight: Promise<unknown>[] = [];
    for (let tick = 0; !stopping; tick++) {
      for (let k = 0; k < PER_TICK; k++, sent++) {
        inFlight.push(publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `rr-${sent}`, amountCents: sent }));
      }
      while (inFlight.length > MAX_IN_FLIGHT) await inFlight.shift();
      // Pacing a load generator, not waiting for a condition.
      const due = start + (tick + 1) * TICK_MS;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    await Promise.all(inFlight);
  })();
  // A failed emit fails the test in stop(); until then it must not surface as an unhandled rejection.
  done.catch(() => undefined);
  return {
    published: () => sent,
    async stop() {
      stopping = true;
      await done;
      return sent;
    },
  };
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

  const publishing = publishUntilStopped(org);
  await waitUntil(() => receivers.every((r) => r.next >= 100), { what: 'the first 100 events on every client', timeoutMs: 20_000 });
  const publishedAtRestart: number[] = [];
  for (const node of cluster.nodes) {
    publishedAtRestart.push(publishing.published());
    await node.restart();
  }
  // Every node is new and back in rotation; publishing goes on until the new cluster has carried more.
  const publishedAfterRestarts = publishing.published();
  await waitUntil(() => publishing.published() >= publishedAfterRestarts + AFTER_LAST_RESTART, { what: `${AFTER_LAST_RESTART} events after the last restart`, timeoutMs: 20_000 });
  const events = await publishing.stop();

  await waitUntil(() => receivers.every((r) => r.next >= events || r.anomaly !== undefined), {
    what: `all ${events} events on all ${CLIENTS} clients`,
    timeoutMs: 30_000,
  });

  // The restarts happened while events were flowing (each began after more events than the one before,
  // and more came after the last), and every client was moved at least once.
  expect(publishedAtRestart[0]).toBeGreaterThanOrEqual(100);
  const duringEachRestart = [...publishedAtRestart.slice(1), publishedAfterRestarts].map((n, i) => n - (publishedAtRestart[i] as number));
  expect(duringEachRestart.filter((n) => n <= 0)).toEqual([]);
  expect(events - publishedAfterRestarts).toBeGreaterThanOrEqual(AFTER_LAST_RESTART);
  expect(receivers.filter((r) => r.client.metrics().totalDisconnects === 0)).toHaveLength(0);

  expect(receivers.filter((r) => r.anomaly !== undefined).map((r) => r.anomaly)).toEqual([]);
  expect(receivers.filter((r) => r.next !== events)).toHaveLength(0);
  expect(receivers.filter((r) => r.resyncs > 0 || r.client.metrics().recoveries.resynced > 0)).toHaveLength(0);
  expect(receivers.reduce((sum, r) => sum + r.client.metrics().eventsReceived, 0)).toBe(CLIENTS * events);
  // A guard against a hang: three restarts (drain, start, back in rotation), each a minute at worst.
}, 300_000);
