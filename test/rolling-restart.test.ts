import { createClient, type RoomwireClient } from '@roomwire/client';
import { createPublisher, type Publisher } from '@roomwire/server';
import { RoomwireError } from '@roomwire/shared';
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

/** One client and the publish sequence numbers its app received, in arrival order. */
interface Receiver {
  client: RoomwireClient;
  received: number[];
  /** The first delivery that was not after the one before it (out of order, or repeated), if any. */
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

/** What became of each publish, by sequence number. */
interface Outcomes {
  /** Sequence numbers whose publish resolved: the event is in the stream, and owed to every client. */
  stored: number[];
  /** Publishes that were refused, with the error each got. */
  failed: { seq: number; error: unknown }[];
}

/** A publisher running until it is stopped. */
interface SteadyPublisher {
  /** Publishes started so far, numbered 0 … sent() − 1. */
  sent(): number;
  /** Publishes resolved so far. */
  stored(): number;
  /** Stops the clock, waits until every publish settled, and says what became of each. */
  stop(): Promise<Outcomes>;
}

/**
 * Publishes numbered events at a steady rate until `stop()`, on a clock rather than after each batch is
 * acknowledged, with at most `MAX_IN_FLIGHT` unsettled. It runs until the test says so, not for a fixed
 * count: the restarts must happen while events flow, however long a restart takes. A publish may fail
 * (a starved machine can hold Redis's reply past the 5 s append deadline): it is recorded, not retried,
 * and owed to no one; the test checks that it failed loudly and reached every client or none.
 */
function publishUntilStopped(org: string): SteadyPublisher {
  let sent = 0;
  let stopping = false;
  const stored: number[] = [];
  const failed: Outcomes['failed'] = [];
  const done = (async () => {
    const start = Date.now();
    const inFlight: Promise<void>[] = [];
    for (let tick = 0; !stopping; tick++) {
      for (let k = 0; k < PER_TICK; k++, sent++) {
        const seq = sent;
        inFlight.push(
          publisher
            .to(org, 'billing')
            .emit('invoice.paid', { invoiceId: `rr-${seq}`, amountCents: seq })
            .then(
              () => void stored.push(seq),
              (error: unknown) => void failed.push({ seq, error }),
            ),
        );
      }
      while (inFlight.length > MAX_IN_FLIGHT) await inFlight.shift();
      // Pacing a load generator, not waiting for a condition.
      const due = start + (tick + 1) * TICK_MS;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    await Promise.all(inFlight);
  })();
  return {
    sent: () => sent,
    stored: () => stored.length,
    async stop() {
      stopping = true;
      await done;
      return { stored: [...stored].sort((a, b) => a - b), failed: [...failed].sort((a, b) => a.seq - b.seq) };
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
    const receiver: Receiver = { client, received: [], anomaly: undefined, resyncs: 0 };
    client.on('billing', 'invoice.paid', ({ amountCents }) => {
      const last = receiver.received.at(-1);
      if (last !== undefined && amountCents <= last) receiver.anomaly ??= `#${amountCents} after #${last}`;
      receiver.received.push(amountCents);
    });
    client.onResync(() => (receiver.resyncs += 1));
    receivers.push(receiver);
  }
  await waitUntil(() => receivers.every((r) => r.client.state === 'connected'), { what: `${CLIENTS} clients connected`, timeoutMs: 30_000 }).catch((err: Error) => {
    const states = receivers.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.client.state]: (acc[r.client.state] ?? 0) + 1 }), {});
    throw new Error(`${err.message}: ${JSON.stringify(states)}\n--- node1 ---\n${cluster.nodes[0]?.output().slice(-2000) ?? ''}`);
  });

  const publishing = publishUntilStopped(org);
  await waitUntil(() => receivers.every((r) => r.received.length >= 100), { what: 'the first 100 events on every client', timeoutMs: 30_000 });
  const sentAtRestart: number[] = [];
  for (const node of cluster.nodes) {
    sentAtRestart.push(publishing.sent());
    await node.restart();
  }
  // Every node is new and back in rotation; publishing goes on until the new cluster has been given more.
  const sentAfterRestarts = publishing.sent();
  const storedAfterRestarts = publishing.stored();
  await waitUntil(() => publishing.stored() >= storedAfterRestarts + AFTER_LAST_RESTART, { what: `${AFTER_LAST_RESTART} events stored after the last restart`, timeoutMs: 30_000 });
  const { stored, failed } = await publishing.stop();
  const lastStored = stored.at(-1) as number;

  // Each client receives in order (checked on arrival), so once it has the last stored event it has all it will get.
  await waitUntil(() => receivers.every((r) => (r.received.at(-1) ?? -1) >= lastStored || r.anomaly !== undefined), {
    what: `the last of ${stored.length} stored events on all ${CLIENTS} clients`,
    timeoutMs: 30_000,
  });

  // The restarts happened while events were flowing (each began after more publishes than the one
  // before, and more came after the last), and every client was moved at least once.
  expect(sentAtRestart[0]).toBeGreaterThanOrEqual(100);
  const sentDuringEachRestart = [...sentAtRestart.slice(1), sentAfterRestarts].map((n, i) => n - (sentAtRestart[i] as number));
  expect(sentDuringEachRestart.filter((n) => n <= 0)).toEqual([]);
  expect(receivers.filter((r) => r.client.metrics().totalDisconnects === 0)).toHaveLength(0);

  // A publish that failed did so loudly and retryably, and reached every client or none.
  expect(failed.filter(({ error }) => !(error instanceof RoomwireError && error.retryable)).map(({ error }) => String(error))).toEqual([]);
  const delivered = (seq: number): number => receivers.filter((r) => r.received.includes(seq)).length;
  const failedAndDelivered = failed.map(({ seq }) => seq).filter((seq) => delivered(seq) > 0);
  expect(failedAndDelivered.filter((seq) => delivered(seq) !== CLIENTS)).toEqual([]);

  // Every stored event reached every client once, in order (plus any failed-but-stored one, on all of them).
  const owed = [...stored, ...failedAndDelivered].sort((a, b) => a - b);
  expect(receivers.filter((r) => r.anomaly !== undefined).map((r) => r.anomaly)).toEqual([]);
  expect(receivers.filter((r) => r.received.length !== owed.length || r.received.some((seq, i) => seq !== owed[i])).length).toBe(0);
  expect(receivers.filter((r) => r.resyncs > 0 || r.client.metrics().recoveries.resynced > 0)).toHaveLength(0);
  expect(receivers.reduce((sum, r) => sum + r.client.metrics().eventsReceived, 0)).toBe(CLIENTS * owed.length);
  // A guard against a hang: three restarts (drain, start, back in rotation), each a minute at worst.
}, 300_000);
