import { clientDefaults, createClient, type RoomwireClient, type StateChange } from '@roomwire/client';
import { io as ioClient } from 'socket.io-client';
import { createPublisher, nodeDefaults, type Publisher } from '@roomwire/server';
import { freePort, spawnNode, startRedis, startTcpProxy, waitUntil, type ChildNodeHandle, type RedisServerHandle, type TcpProxy } from './harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

// Issue 12, item 9: a client of a frozen node (SIGSTOP: the process holds its sockets open but answers
// nothing) notices within its livenessTimeoutMs (plus up to 1 s of checks), with the node's default heartbeat,
// and is on another node within 10 s. Issue 13: that liveness costs no ping per connection: a node
// sends only silent connections a heartbeat (an Engine.IO noop), which nobody answers.

/** The bound of issue 12: from SIGSTOP until the node's clients are connected elsewhere. */
const MOVED_WITHIN_MS = 10_000;

interface Child {
  handle: ChildNodeHandle;
  port: number;
  url: string;
}

let redis: RedisServerHandle;
let publisher: Publisher;
/** Node A runs with the default ping settings and is frozen; node B takes its settings from the environment. */
let a: Child;
let b: Child;
let frozen = false;
const proxies: TcpProxy[] = [];
const clients: RoomwireClient[] = [];
const children: ChildNodeHandle[] = [];

async function startChild(env: Record<string, string> = {}): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const handle = await spawnNode({
    env: { PORT: String(port), REDIS_URL: redis.url, JWT_SECRET: TEST_JWT_SECRET, PUBLISH_API_KEY: TEST_PUBLISH_KEY, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
    readyUrl: `${url}/readyz`,
    timeoutMs: 30_000,
  });
  children.push(handle);
  return { handle, port, url };
}

/** SIGSTOP node A (once): it keeps its sockets open and answers nothing. Returns when. */
function freezeA(): number {
  if (!frozen) {
    process.kill(a.handle.pid, 'SIGSTOP');
    frozen = true;
  }
  return Date.now();
}

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy(port);
  proxies.push(proxy);
  return proxy;
}

function billingClient(url: string, org: string): RoomwireClient {
  const client = createClient({ url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
  clients.push(client);
  return client;
}

/** The Engine.IO handshake's ping settings, as a client gets them. */
async function pingSettings(url: string): Promise<{ pingInterval: number; pingTimeout: number }> {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  // An Engine.IO OPEN packet: `0` then JSON.
  const open = JSON.parse(body.slice(body.indexOf('0') + 1)) as { pingInterval: number; pingTimeout: number };
  return { pingInterval: open.pingInterval, pingTimeout: open.pingTimeout };
}

beforeAll(async () => {
  redis = await startRedis();
  publisher = await createPublisher({ redisUrl: redis.url });
  [a, b] = await Promise.all([startChild(), startChild({ PING_INTERVAL_MS: '2000', PING_TIMEOUT_MS: '1500' })]);
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(proxies.map((p) => p.close()));
  if (frozen) process.kill(a.handle.pid, 'SIGCONT');
  await Promise.allSettled(children.map((c) => c.kill()));
  await publisher?.close();
  await redis?.cleanup();
});

test('the ping settings in force reach clients in the handshake: the defaults, or PING_INTERVAL_MS / PING_TIMEOUT_MS', async () => {
  expect(await pingSettings(a.url)).toEqual({ pingInterval: nodeDefaults.pingIntervalMs, pingTimeout: nodeDefaults.pingTimeoutMs });
  expect(await pingSettings(b.url)).toEqual({ pingInterval: 2000, pingTimeout: 1500 });
});

test.each([
  // A WebSocket is silent for at most heartbeatMs; a parked long-poll for at most 1.5 × heartbeatMs.
  ['websocket', 1],
  ['polling', 1.5],
] as const)('an idle %s connection hears from the node at least every HEARTBEAT_MS (a noop it does not answer), and is never pinged at that pace', async (transport, bound) => {
  const heartbeatMs = 500;
  const c = await startChild({ HEARTBEAT_MS: String(heartbeatMs) });
  const token = await signToken({ org: uniqueOrg(), services: ['billing'] });
  const socket = ioClient(c.url, { transports: [transport], auth: { token, v: 1 }, reconnection: false, forceNew: true });
  const packets: { type: string; at: number }[] = [];
  socket.io.on('open', () => socket.io.engine.on('packet', (packet: { type: string }) => packets.push({ type: packet.type, at: Date.now() })));
  try {
    await waitUntil(() => socket.connected, { what: 'a plain Socket.IO client connected' });
    const from = Date.now();
    await waitUntil(() => packets.filter((p) => p.type === 'noop' && p.at > from).length >= 6, { what: 'six heartbeats', timeoutMs: 10 * heartbeatMs + 5000 });
    const seen = packets.filter((p) => p.at > from);
    const gaps = seen.slice(1).map((p, i) => p.at - (seen[i] as { at: number }).at);
    // Silent for at most heartbeatMs (plus the timer's own delay on a busy machine); never a ping.
    expect(Math.max(...gaps)).toBeLessThanOrEqual(bound * heartbeatMs + 400);
    expect(seen.map((p) => p.type).filter((t) => t !== 'noop')).toEqual([]);
  } finally {
    socket.close();
  }
}, 30_000);

test('a client of a SIGSTOPped node notices within livenessTimeoutMs and is on another node within 10 s, missing nothing', async () => {
  const livenessTimeoutMs = clientDefaults.livenessTimeoutMs as number;
  // The shared liveness timer checks twice a second: a silence is seen to start up to one check late,
  // and is called up to one check after the timeout.
  const noticeWithinMs = livenessTimeoutMs + 1000;
  // The proxy stands in for the load balancer: new connections go to B once A is frozen.
  const proxy = await proxyTo(a.port);
  const org = uniqueOrg();
  const client = billingClient(proxy.url, org);
  const received: string[] = [];
  const changes: (StateChange & { at: number })[] = [];
  client.on('billing', 'invoice.paid', (data) => received.push(data.invoiceId));
  client.onState((change) => changes.push({ ...change, at: Date.now() }));
  await waitUntil(() => client.state === 'connected', { what: 'the client connected to node A' });
  await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'before', amountCents: 1 });
  await waitUntil(() => received.includes('before'), { what: 'a live event through node A' });

  const frozenAt = freezeA();
  proxy.setTarget(b.port);
  await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'during', amountCents: 2 });

  await waitUntil(() => client.state === 'reconnecting', { what: 'the client to notice the frozen node', timeoutMs: noticeWithinMs + 5000 });
  const noticedMs = (client.metrics().lastDisconnectedAt as number) - frozenAt;
  await waitUntil(() => client.state === 'connected', { what: 'the client connected to node B', timeoutMs: MOVED_WITHIN_MS });
  const movedMs = (changes.at(-1)?.at as number) - frozenAt;
  await waitUntil(() => received.includes('during'), { what: 'the event published while A was frozen' });

  // The last packet came at most one heartbeat before the freeze, so the silence can only be called
  // after livenessTimeoutMs − heartbeatMs at the earliest; at the latest two checks (1 s) after the timeout
  // (plus the timer's own delay on a busy machine).
  expect(noticedMs).toBeGreaterThanOrEqual(livenessTimeoutMs - nodeDefaults.heartbeatMs - 100);
  expect(noticedMs).toBeLessThanOrEqual(noticeWithinMs + 500);
  expect(movedMs).toBeLessThanOrEqual(MOVED_WITHIN_MS);
  expect(changes.map(({ from, to }) => `${from}→${to}`)).toEqual(['connecting→connected', 'connected→reconnecting', 'reconnecting→connected']);
  expect(received).toEqual(['before', 'during']);
  expect(client.metrics().totalDisconnects).toBe(1);
}, 60_000);

test('a connection attempt that reaches the frozen node is given up after connectTimeoutMs, and the next one goes elsewhere', async () => {
  freezeA();
  // As a load balancer that has not marked A down yet: the first attempt goes to A, which accepts the
  // TCP connection (its kernel does) and never answers.
  const proxy = await proxyTo(a.port);
  const startedAt = Date.now();
  const client = billingClient(proxy.url, uniqueOrg());
  await waitUntil(() => proxy.connections() === 1, { what: 'the first attempt to reach node A' });
  proxy.setTarget(b.port);
  await waitUntil(() => client.state === 'connected', { what: 'the client connected to node B', timeoutMs: MOVED_WITHIN_MS });
  const connectedInMs = Date.now() - startedAt;

  // Given up after connectTimeoutMs (not Socket.IO's 20 s), then the first reconnect delay (≤ 1.5 s).
  expect(connectedInMs).toBeGreaterThanOrEqual(clientDefaults.connectTimeoutMs);
  expect(connectedInMs).toBeLessThanOrEqual(clientDefaults.connectTimeoutMs + clientDefaults.minReconnectDelayMs * 1.5 + 1500);
  expect(client.metrics().reconnectAttempts).toBe(1);
}, 60_000);
