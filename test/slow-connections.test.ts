import { connect, type Socket as NetSocket } from 'node:net';
import { createClient as createRedisClient } from 'redis';
import { io as ioClient, type Socket } from 'socket.io-client';
import type { RoomwireNode } from '@roomwire/server';
import { EVENTS, type DeliveryFrame } from '@roomwire/shared';
import { partitionKeys } from '../server/src/stream/partitions';
import { deferred, waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1200;
const KEEP_ALIVE_TIMEOUT_MS = 400;
/** Slack for a loaded machine; Node's own defaults (60 s, 300 s) are far beyond it. */
const SLACK_MS = 4000;

let cluster: TestCluster;
let node: RoomwireNode;
const open: NetSocket[] = [];
const clients: Socket[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 1,
    node: {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
      // Long-polling GETs are held up to the ping interval: longer than the request timeout, on purpose.
      pingIntervalMs: 2 * REQUEST_TIMEOUT_MS,
      pingTimeoutMs: 2000,
    },
  });
  node = cluster.nodes[0] as RoomwireNode;
});

afterAll(async () => {
  for (const socket of open) socket.destroy();
  for (const client of clients) client.close();
  await cluster?.cleanup();
});

/** A raw connection: what it was sent, and when (ms after it connected) the server closed it. */
interface Watched {
  socket: NetSocket;
  received(): string;
  closed: Promise<number>;
}

function watch(first?: string): Promise<Watched> {
  const { port } = new URL(node.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    open.push(socket);
    let text = '';
    const closed = deferred<number>();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      const startedAt = Date.now();
      socket.once('close', () => closed.resolve(Date.now() - startedAt));
      if (first !== undefined) socket.write(first);
      resolve({ socket, received: () => text, closed: closed.promise });
    });
  });
}

/** Writes `text` one byte every `everyMs` until the socket closes. */
function drip(socket: NetSocket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) {
      clearInterval(timer);
      return;
    }
    socket.write(text[i % text.length] as string);
    i += 1;
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

test('a connection that sends nothing is answered 408 and closed after the headers timeout', async () => {
  const idle = await watch();
  expect(await idle.closed).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
  expect(idle.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
});

test('a client that drips its headers a byte at a time is answered 408 and closed after the headers timeout', async () => {
  const dripper = await watch('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  drip(dripper.socket, 'X-Slow: abcdefgh\r\n', 50);
  expect(await dripper.closed).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
  expect(dripper.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
});

test('a client that drips a publish body is answered 408 and closed after the request timeout, and nothing is published', async () => {
  const org = uniqueOrg('drip');
  const body = JSON.stringify({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'slow', amountCents: 1 } });
  const dripper = await watch(
    `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_PUBLISH_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  drip(dripper.socket, body.slice(0, -1), 50);
  expect(await dripper.closed).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
  expect(dripper.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  const redis = createRedisClient({ url: cluster.redis.url });
  await redis.connect();
  try {
    const entries = await redis.xRange(partitionKeys('roomwire', 0, 1).stream, '-', '+');
    expect(entries.filter((e) => e.message.f?.includes(org))).toEqual([]);
  } finally {
    await redis.close();
  }
});

test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
  const keptAlive = await watch('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  expect(await keptAlive.closed).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + SLACK_MS);
  expect(keptAlive.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Keep-Alive: timeout=\d+/);
  expect(keptAlive.received()).not.toContain('408');
});

test.each([['websocket'], ['polling']])('a %s client stays connected and served through many timeout periods', async (transport) => {
  const org = uniqueOrg(`alive-${transport}`);
  const client = ioClient(node.url, { transports: [transport], reconnection: false, auth: { token: await signToken({ org, services: ['billing'] }), v: 1 } });
  clients.push(client);
  const disconnects: string[] = [];
  client.on('disconnect', (reason) => disconnects.push(reason));
  let pings = 0;
  client.io.on('ping', () => (pings += 1));
  const frames: DeliveryFrame[] = [];
  client.on(EVENTS.event, (frame: DeliveryFrame) => frames.push(frame));
  await waitUntil(() => client.connected, { what: `${transport} client connected` });
  const ack = (await client.emitWithAck(EVENTS.subscribe, { services: ['billing'] })) as { ok: boolean };
  expect(ack.ok).toBe(true);
  // Three pings: over 7 s of long-polling GETs held past the request timeout, or of an idle WebSocket.
  await waitUntil(() => pings >= 3, { what: 'three pings', timeoutMs: 30_000 });
  await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'after-idle', amountCents: 1 });
  await waitUntil(() => frames.length > 0, { what: 'the event published after the idle period' });
  expect(client.connected).toBe(true);
  expect(disconnects).toEqual([]);
  client.close();
});
