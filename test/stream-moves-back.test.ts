import { createClient as createRedisClient } from 'redis';
import { io as ioClient } from 'socket.io-client';
import type { ResumeAck, SubscribeAck } from '@roomwire/shared';
import type { RoomwireClient } from '@roomwire/client';
import { startTcpProxy, waitFor, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

/**
 * The stream must never move backwards silently. Whatever takes a Redis back in time (a restart onto a
 * host whose clock is behind, an older snapshot, a shutdown that loses what was not persisted), every
 * client either gets every event published after the fault or is told to resync: here, each client must
 * receive every event whose publish started after the last resync it was told of.
 */

/** A client of the scenario's org and what it saw. */
interface Watched {
  name: string;
  client: RoomwireClient;
  received: Set<string>;
  /** When (local clock) it was last told to resync; 0 if never. */
  resyncAt: number;
  resyncs: string[];
}

interface Published {
  id: string;
  startedAt: number;
}

let cluster: TestCluster;
const proxies: TcpProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await cluster?.cleanup();
}, 30_000);

function watch(name: string, client: RoomwireClient): Watched {
  const watched: Watched = { name, client, received: new Set(), resyncAt: 0, resyncs: [] };
  client.on('billing', 'invoice.paid', (_data, envelope) => watched.received.add(envelope.id));
  client.onResync((info) => {
    watched.resyncAt = Date.now();
    watched.resyncs.push(info.reason);
  });
  return watched;
}

/** Three clients of one org: two on the first node, one on the second (and optionally a proxied one on the first). */
async function clientsOf(org: string, withProxy: boolean): Promise<{ watched: Watched[]; proxy?: TcpProxy }> {
  const [a, b] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
  const token = () => signToken({ org, services: ['billing'] });
  const watched = [
    watch('a1', cluster.client({ url: a.url, token, services: ['billing'] })),
    watch('a2', cluster.client({ url: a.url, token, services: ['billing'] })),
    watch('b1', cluster.client({ url: b.url, token, services: ['billing'] })),
  ];
  let proxy: TcpProxy | undefined;
  if (withProxy) {
    proxy = await startTcpProxy(Number(new URL(a.url).port));
    proxies.push(proxy);
    watched.push(watch('proxied', cluster.client({ url: proxy.url, token, services: ['billing'] })));
  }
  await waitUntil(() => watched.every((w) => w.client.state === 'connected'), { what: 'every client connected' });
  return { watched, ...(proxy ? { proxy } : {}) };
}

/** Publishes one event after another into `org` until stopped; records those the stream acknowledged. */
function startPublishing(org: string, parallel = 1): { published: Published[]; stop(): Promise<void> } {
  const published: Published[] = [];
  let running = true;
  let n = 0;
  const worker = async (): Promise<void> => {
    while (running) {
      const startedAt = Date.now();
      try {
        const { id } = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `e-${n}`, amountCents: n++ });
        published.push({ id, startedAt });
      } catch {
        // Redis is away: nothing was acknowledged, so nothing is owed. Retry shortly.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const workers = Array.from({ length: parallel }, worker);
  return {
    published,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/**
 * Keeps publishing until every client has been told to resync and `after` events have been published
 * after the last of those resyncs; then checks that every client received each event published after its
 * own last resync.
 */
async function expectNoSilentLoss(org: string, watched: Watched[], publishing: { published: Published[]; stop(): Promise<void> }, after = 100): Promise<void> {
  const since = (): number => Math.max(...watched.map((w) => w.resyncAt));
  await waitUntil(() => watched.every((w) => w.resyncAt > 0), {
    what: `a resync on every client (got ${watched.map((w) => `${w.name}: ${w.resyncs.join(',') || 'none'}`).join('; ')})`,
    timeoutMs: 20_000,
  });
  await waitUntil(() => publishing.published.filter((p) => p.startedAt > since()).length >= after, {
    what: `${after} events published after the last resync`,
    timeoutMs: 30_000,
  });
  await publishing.stop();
  const marker = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'marker', amountCents: 0 });
  await waitUntil(() => watched.every((w) => w.received.has(marker.id)), { what: 'the marker on every client', timeoutMs: 20_000 });
  for (const w of watched) {
    const owed = publishing.published.filter((p) => p.startedAt > w.resyncAt);
    const missing = owed.filter((p) => !w.received.has(p.id));
    expect({ client: w.name, owed: owed.length >= after, missing: missing.length }).toEqual({ client: w.name, owed: true, missing: 0 });
  }
}

test('Redis restarted without persistence on a clock 30 s behind: every client resyncs, then gets every event', async () => {
  cluster = await startCluster({ nodes: 2 });
  const org = uniqueOrg('clock');
  const { watched } = await clientsOf(org, false);
  const publishing = startPublishing(org);
  await waitUntil(() => watched.every((w) => w.received.size >= 20), { what: '20 events on every client before the fault' });

  await cluster.redis.kill('SIGKILL');
  await cluster.redis.restart({ clockOffsetMs: -30_000 });
  const redis = createRedisClient({ url: cluster.redis.url });
  await redis.connect();
  try {
    const [seconds] = await redis.time();
    // The precondition: the new Redis really is behind.
    expect(Date.now() / 1000 - Number(seconds)).toBeGreaterThan(25);
  } finally {
    await redis.close();
  }
  await expectNoSilentLoss(org, watched, publishing);
  expect(watched.every((w) => w.resyncs.includes('stream-reset'))).toBe(true);
}, 90_000);

test('Redis restored from an older snapshot: connected clients and a client away during the fault resync; none misses an event', async () => {
  cluster = await startCluster({ nodes: 2 });
  const org = uniqueOrg('snapshot');
  const { watched, proxy } = await clientsOf(org, true);
  if (proxy === undefined) throw new Error('no proxy');
  const away = watched.find((w) => w.name === 'proxied') as Watched;
  const emit = (n: number) => cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `pre-${n}`, amountCents: n });
  for (let i = 0; i < 10; i++) await emit(i);
  await waitUntil(() => watched.every((w) => w.received.size === 10), { what: 'the first 10 events everywhere' });

  // The snapshot the Redis will come back with.
  const older = await cluster.redis.snapshot();

  // Events after the snapshot: every client gets the first 10, then one client goes away, then 10 more.
  for (let i = 10; i < 20; i++) await emit(i);
  await waitUntil(() => watched.every((w) => w.received.size === 20), { what: '10 events after the snapshot everywhere' });
  proxy.cut();
  await waitUntil(() => away.client.state === 'reconnecting', { what: 'the proxied client to notice the cut' });
  for (let i = 20; i < 30; i++) await emit(i);
  await waitUntil(() => watched.every((w) => w === away || w.received.size === 30), { what: 'the last 10 on the connected clients' });

  // Redis dies; its disk holds the older snapshot: same epoch, a head behind what every node has read.
  await cluster.redis.kill('SIGKILL');
  const publishing = startPublishing(org);
  await cluster.redis.restart({ fromSnapshot: older });
  proxy.restore();
  await expectNoSilentLoss(org, watched, publishing);
  // The client that was away resumed from a position the restored stream no longer has.
  expect(away.resyncs.some((r) => r === 'unknown-position' || r === 'stream-reset')).toBe(true);
}, 90_000);

test('SHUTDOWN NOSAVE under load, then a restart: every client resyncs, then gets every event', async () => {
  cluster = await startCluster({ nodes: 2 });
  const org = uniqueOrg('nosave');
  const { watched } = await clientsOf(org, false);
  const publishing = startPublishing(org, 8);
  await waitUntil(() => publishing.published.length >= 300, { what: '300 events published before the fault' });
  const admin = createRedisClient({ url: cluster.redis.url });
  // The server closes this connection as it shuts down.
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.sendCommand(['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
  admin.destroy();
  await waitUntil(() => !cluster.redis.running(), { what: 'redis-server to exit' });
  await cluster.redis.restart();
  await expectNoSilentLoss(org, watched, publishing, 300);
}, 90_000);

test('a resume from a position ahead of the stream is refused with a resync, and the ack position is one to resume from later', async () => {
  cluster = await startCluster({ nodes: 1 });
  const [node] = cluster.nodes as [TestCluster['nodes'][0]];
  const org = uniqueOrg('ahead');
  const token = await signToken({ org, services: ['billing'] });
  const open = () => ioClient(node.url, { transports: ['websocket'], reconnection: false, auth: { token, v: 1 } });
  const first = open();
  try {
    await waitFor(first, 'connect', 5000, 'connect');
    const subscribed = (await first.emitWithAck('rw:subscribe', { services: ['billing'] })) as SubscribeAck;
    if (!subscribed.ok) throw new Error(`subscribe failed: ${JSON.stringify(subscribed)}`);
    const bogus = { epoch: subscribed.position.epoch, offset: '99999999999999-0' };
    const refused = (await first.emitWithAck('rw:resume', { services: ['billing'], position: bogus })) as ResumeAck;
    expect(refused).toMatchObject({ ok: true, recovered: false, reason: 'unknown-position' });
    if (!refused.ok) throw new Error('unreachable');
    first.close();

    // Away with the ack's position; 5 events published meanwhile; resuming from it recovers all 5.
    const missed: string[] = [];
    for (let i = 0; i < 5; i++) missed.push((await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `m${i}`, amountCents: i })).id);
    const second = open();
    const replayed: string[] = [];
    second.on('rw:event', (frame: { events?: { id: string }[] }) => replayed.push(...(frame.events ?? []).map((e) => e.id)));
    try {
      await waitFor(second, 'connect', 5000, 'connect');
      const resumed = (await second.emitWithAck('rw:resume', { services: ['billing'], position: refused.position })) as ResumeAck;
      expect(resumed).toMatchObject({ ok: true, recovered: true });
      expect(replayed).toEqual(missed);
    } finally {
      second.close();
    }
  } finally {
    first.close();
  }
}, 30_000);
