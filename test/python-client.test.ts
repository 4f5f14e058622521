import { spawnSync } from 'node:child_process';
import { createPublisher, type Publisher, type RoomwireNode } from '@roomwire/server';
import { ERROR_CODES, compareOffsets } from '@roomwire/shared';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { findPython, PYTHON_CLIENT_DIR, startPythonClient, type PythonClient } from './support/python-client';
import { signToken, uniqueOrg } from './support/tokens';

/** A replay longer than this many frames is refused (`replay-too-long`): the resync test publishes more. */
const MAX_REPLAY_FRAMES = 40;

let python: string;
let cluster: TestCluster;
let node: RoomwireNode;
/** Every event in a frame of its own, so a test knows how many frames it published. */
let unbatched: Publisher;
const clients: PythonClient[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  // Fails (never skips) when no interpreter can run the client: CI installs python3-socketio.
  python = findPython();
  cluster = await startCluster({ nodes: 1, node: { maxReplayFrames: MAX_REPLAY_FRAMES } });
  node = cluster.nodes[0] as RoomwireNode;
  unbatched = await createPublisher({ redisUrl: cluster.redis.url, batching: false });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await unbatched?.close();
  await cluster?.cleanup();
});

async function open(
  org: string,
  services: string[],
  via: 'direct' | 'proxy' = 'direct',
  slowApp: { maxPendingPackets?: number; handlerDelayS?: number } = {},
): Promise<{ client: PythonClient; proxy?: TcpProxy }> {
  const proxy = via === 'proxy' ? await startTcpProxy(Number(new URL(node.url).port)) : undefined;
  if (proxy) proxies.push(proxy);
  const token = await signToken({ org, services: ['billing', 'tickets'] });
  const client = startPythonClient(python, { url: proxy?.url ?? node.url, token, services, ...slowApp });
  clients.push(client);
  await client.waitForState('connected');
  return proxy ? { client, proxy } : { client };
}

const invoice = (i: number): { invoiceId: string; amountCents: number } => ({ invoiceId: `in-${i}`, amountCents: i });

async function publishSequentially(publisher: Publisher, org: string, count: number, from = 0): Promise<{ id: string; offset: string | null }[]> {
  const results: { id: string; offset: string | null }[] = [];
  for (let i = from; i < from + count; i++) results.push(await publisher.to(org, 'billing').emit('invoice.paid', invoice(i)));
  return results;
}

function idsOf(client: PythonClient, service = 'billing'): string[] {
  return client
    .events()
    .filter((e) => e.service === service)
    .map((e) => e.id);
}

test('the Python unit tests pass (dedup, positions, frames, backoff, options, ordered dispatch, handler-thread logic)', () => {
  const result = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], { cwd: PYTHON_CLIENT_DIR, encoding: 'utf8', timeout: 60_000 });
  expect({ status: result.status, output: result.status === 0 ? '' : `${result.stdout}\n${result.stderr}` }).toEqual({ status: 0, output: '' });
  expect(result.stderr).toMatch(/Ran [1-9]\d* tests/);
});

test("the Python client's error codes and retryable flags are shared/src/codes.ts's", () => {
  const result = spawnSync(python, ['-c', 'import json, roomwire; print(json.dumps(list(roomwire.RETRYABLE.items())))'], { cwd: PYTHON_CLIENT_DIR, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual(Object.entries(ERROR_CODES).map(([code, { retryable }]) => [code, retryable]));
});

test('a slow Python app under backpressure gets 2 000 events in stream order, each once, across plain and compressed frames; close stops its threads', async () => {
  const org = uniqueOrg('py');
  // A handler that takes 0.5 ms and room for 8 pending packets: the reading thread waits for the app,
  // the way packets pile up under load. (With python-engineio's thread per message, this reorders
  // hundreds of these events and delivers only part of them within the timeout.)
  const { client } = await open(org, ['billing'], 'direct', { maxPendingPackets: 8, handlerDelayS: 0.0005 });
  const published: { id: string; offset: string | null }[] = [];
  for (let round = 0; round < 20; round++) {
    // A burst becomes batched frames, large ones compressed (binary attachments)…
    published.push(...(await Promise.all(Array.from({ length: 40 }, (_, i) => cluster.publisher.to(org, 'billing').emit('invoice.paid', invoice(round * 100 + i))))));
    // …and a burst without batching many small plain frames, back to back.
    published.push(...(await Promise.all(Array.from({ length: 60 }, (_, i) => unbatched.to(org, 'billing').emit('invoice.paid', invoice(round * 100 + 40 + i))))));
  }
  // Stream order: by offset; events of one frame share it and keep their publish order (a stable sort).
  const inStreamOrder = [...published].sort((a, b) => compareOffsets(a.offset as string, b.offset as string)).map((r) => r.id);
  await waitUntil(() => client.events().length >= published.length, { what: `${published.length} events in Python`, timeoutMs: 20_000 });
  expect(idsOf(client)).toEqual(inStreamOrder);
  const metrics = await client.metrics();
  expect(metrics.compressed_frames).toBeGreaterThan(0);
  expect(metrics.frames).toBeGreaterThan(1200);
  expect(metrics.bad_frames).toBe(0);
  expect(client.resyncs()).toEqual([]);
  expect(await client.close()).toEqual([]);
});

test('after a connection cut the Python client resumes: missed events arrive once and in order, a service added while away is resumed too, and the token function is called again', async () => {
  const org = uniqueOrg('pycut');
  const { client, proxy } = (await open(org, ['billing'], 'proxy')) as { client: PythonClient; proxy: TcpProxy };
  const before = (await publishSequentially(cluster.publisher, org, 10)).map((r) => r.id);
  await waitUntil(() => client.events().length === 10, { what: 'the first 10 events' });

  client.setToken(await signToken({ org, services: ['billing', 'tickets'], sub: 'second-token' }));
  proxy.cut();
  await client.waitForState('reconnecting');
  const subscribed = client.change('subscribe', ['tickets']);
  const missed = (await publishSequentially(cluster.publisher, org, 30, 10)).map((r) => r.id);
  const missedTicket = await cluster.publisher.to(org, 'tickets').emit('ticket.updated', { ticketId: 'T-1', status: 'open' });
  proxy.restore();

  await client.waitForState('connected');
  await subscribed;
  await waitUntil(() => client.events().length >= 41, { what: '30 missed billing events and 1 ticket event' });
  expect(idsOf(client)).toEqual([...before, ...missed]);
  expect(idsOf(client, 'tickets')).toEqual([missedTicket.id]);
  // Live delivery goes on after the resume.
  const after = (await publishSequentially(cluster.publisher, org, 5, 40)).map((r) => r.id);
  await waitUntil(() => idsOf(client).length === 45, { what: 'live events after the resume' });
  expect(idsOf(client)).toEqual([...before, ...missed, ...after]);

  const metrics = await client.metrics();
  expect(metrics).toMatchObject({ resumes: 1, recovered: 1, resyncs: 0 });
  expect(metrics.connects).toBeGreaterThanOrEqual(2);
  expect(metrics.token_calls).toBeGreaterThanOrEqual(2);
  expect(client.resyncs()).toEqual([]);
  // The reconnect used the token the function returned then, not the first one.
  const subs = [...node.io.of('/').sockets.values()].filter((s) => s.data.claims?.org === org).map((s) => s.data.claims.sub);
  expect(subs).toEqual(['second-token']);
});

test('the Python client takes a silent connection (a frozen node, a black hole) for dead within its liveness timeout, not the 45 s ping timeout, and resumes', async () => {
  const org = uniqueOrg('pysilent');
  const { client, proxy } = (await open(org, ['billing'], 'proxy')) as { client: PythonClient; proxy: TcpProxy };
  const before = (await publishSequentially(cluster.publisher, org, 3)).map((r) => r.id);
  await waitUntil(() => client.events().length === 3, { what: 'the first 3 events' });

  // Nothing flows either way and nothing is closed: only the silence tells.
  proxy.blackhole();
  const silentAt = Date.now();
  const missed = (await publishSequentially(cluster.publisher, org, 5, 3)).map((r) => r.id);
  await client.waitForState('reconnecting', 20_000);
  const noticedMs = Date.now() - silentAt;
  proxy.heal();
  await client.waitForState('connected', 20_000);
  await waitUntil(() => idsOf(client).length === 8, { what: 'the events published during the silence' });

  // The default liveness_timeout_s (6 s), plus the last heartbeat's age and a busy machine's slack.
  expect(noticedMs).toBeLessThan(12_000);
  expect(idsOf(client)).toEqual([...before, ...missed]);
}, 60_000);

test('when the missed range cannot be replayed the Python client reports a resync of its services, and live delivery goes on', async () => {
  const org = uniqueOrg('pyresync');
  const { client, proxy } = (await open(org, ['billing'], 'proxy')) as { client: PythonClient; proxy: TcpProxy };
  const first = (await publishSequentially(unbatched, org, 1)).map((r) => r.id);
  await waitUntil(() => client.events().length === 1, { what: 'the first event' });

  proxy.cut();
  await client.waitForState('reconnecting');
  const missed = await publishSequentially(unbatched, org, MAX_REPLAY_FRAMES + 5, 1);
  expect(new Set(missed.map((r) => r.offset)).size).toBeGreaterThan(MAX_REPLAY_FRAMES);
  proxy.restore();

  await client.waitForState('connected');
  await waitUntil(() => client.resyncs().length > 0, { what: 'a resync' });
  expect(client.resyncs()).toEqual([{ t: 'resync', services: ['billing'], reason: 'replay-too-long' }]);
  const live = (await publishSequentially(unbatched, org, 3, 100)).map((r) => r.id);
  await waitUntil(() => client.events().length >= 4, { what: 'live events after the resync' });
  // Nothing of the refused range was replayed: the app reloads state instead (never a partial replay).
  expect(idsOf(client)).toEqual([...first, ...live]);
  expect(await client.metrics()).toMatchObject({ resumes: 1, recovered: 0, resyncs: 1 });
});

test('the Python client subscribes while connected, reports a refused service and keeps the others', async () => {
  const org = uniqueOrg('pysub');
  const { client } = await open(org, ['billing']);
  await client.change('subscribe', ['tickets', 'presence']);
  expect(client.errors()).toEqual([expect.objectContaining({ code: 'RW_ERR_FORBIDDEN', message: expect.stringContaining('presence') })]);
  const ticket = await cluster.publisher.to(org, 'tickets').emit('ticket.updated', { ticketId: 'T-9', status: 'closed' });
  await waitUntil(() => idsOf(client, 'tickets').length === 1, { what: 'the ticket event' });
  expect(idsOf(client, 'tickets')).toEqual([ticket.id]);

  await client.change('unsubscribe', ['tickets']);
  await cluster.publisher.to(org, 'tickets').emit('ticket.updated', { ticketId: 'T-10', status: 'open' });
  const billing = await cluster.publisher.to(org, 'billing').emit('invoice.paid', invoice(1));
  // Events of one org arrive in publish order: once the billing event is here, a ticket event would be too.
  await waitUntil(() => idsOf(client).includes(billing.id), { what: 'the billing event after the unsubscribe' });
  expect(idsOf(client, 'tickets')).toEqual([ticket.id]);
});
