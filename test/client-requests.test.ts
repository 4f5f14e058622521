import { RoomwireError, orgRoom, serviceRoom, type ErrorCode, type RwErrorPayload } from '@roomwire/shared';
import type { ClientOptions, RoomwireClient } from '@roomwire/client';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

// Issue 12, item 8: every promise of the client API settles, resolved only when the server confirmed
// the request, rejected with a RoomwireError otherwise.

let cluster: TestCluster;
let limited: TestCluster;
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  // One request per connection per second: the second request of a second is refused (retryable).
  limited = await startCluster({ nodes: 1, node: { rateLimits: { clientEventsPerSocketPerSecond: 1 } } });
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await cluster?.cleanup();
  await limited?.cleanup();
});

type Node = TestCluster['nodes'][0];

function node(of: TestCluster = cluster): Node {
  return of.nodes[0] as Node;
}

/** Sockets of `org` in the room of `service` on the node. */
function members(org: string, service: string, of: TestCluster = cluster): number {
  return node(of).io.of('/').adapter.rooms.get(serviceRoom(org, service))?.size ?? 0;
}

/** How a promise settled, recorded as it happens, so a test can wait for it or check that it has not. */
interface Outcome {
  settled: boolean;
  resolvedAt?: number;
  error?: unknown;
}

function track(promise: Promise<unknown>): Outcome {
  const outcome: Outcome = { settled: false };
  promise.then(
    () => Object.assign(outcome, { settled: true, resolvedAt: Date.now() }),
    (error: unknown) => Object.assign(outcome, { settled: true, error }),
  );
  return outcome;
}

/** Waits until `outcome` is settled and returns its RoomwireError; fails if it resolved or rejected with something else. */
async function rejection(outcome: Outcome, what: string, timeoutMs = 5000): Promise<RoomwireError> {
  await waitUntil(() => outcome.settled, { what: `${what} to settle`, timeoutMs });
  if (!(outcome.error instanceof RoomwireError)) throw new Error(`${what}: expected a RoomwireError, got ${outcome.error === undefined ? 'a resolution' : String(outcome.error)}`);
  return outcome.error;
}

async function resolution(outcome: Outcome, what: string, timeoutMs = 5000): Promise<void> {
  await waitUntil(() => outcome.settled, { what: `${what} to settle`, timeoutMs });
  if (outcome.error !== undefined) throw new Error(`${what}: expected a resolution, got ${String(outcome.error)}`);
}

function expectCode(error: RoomwireError, code: ErrorCode, retryable: boolean): void {
  expect({ code: error.code, retryable: error.retryable }).toEqual({ code, retryable });
}

function openClient(org: string, options: Partial<ClientOptions> & { proxied?: TcpProxy; of?: TestCluster } = {}): RoomwireClient {
  const { proxied, of = cluster, ...rest } = options;
  return of.client({
    token: () => signToken({ org, services: ['billing', 'tickets'] }),
    ...(proxied ? { url: proxied.url } : {}),
    ...rest,
  });
}

async function proxy(of: TestCluster = cluster): Promise<TcpProxy> {
  const p = await startTcpProxy(Number(new URL(node(of).url).port));
  proxies.push(p);
  return p;
}

async function connected(client: RoomwireClient): Promise<void> {
  await waitUntil(() => client.state === 'connected', { what: 'the client to connect' });
}

describe('a client the server refuses for good', () => {
  test('static token refused: await subscribe rejects with the refusal, and a second subscribe settles too', async () => {
    const client = cluster.client({ token: 'not-a-token', services: ['billing'] });
    const errors: RwErrorPayload[] = [];
    client.onError((error) => errors.push(error));
    // Asked before the refusal arrives, and after it: the scenario.
    const first = track(client.subscribe('tickets'));
    expectCode(await rejection(first, 'the first subscribe'), 'RW_ERR_UNAUTHORIZED', false);
    expect(client.state).toBe('disconnected');
    const second = track(client.subscribe('billing'));
    expectCode(await rejection(second, 'the second subscribe'), 'RW_ERR_UNAUTHORIZED', false);
    const third = track(client.unsubscribe('billing'));
    expectCode(await rejection(third, 'an unsubscribe'), 'RW_ERR_UNAUTHORIZED', false);
    expect(errors.map((e) => e.code)).toEqual(['RW_ERR_UNAUTHORIZED']);
  });

  test('an expired static token stops the client (the same token cannot get in) and rejects requests with RW_ERR_TOKEN_EXPIRED', async () => {
    const org = uniqueOrg();
    const expired = await signToken({ org, services: ['billing'] }, { expiresInS: -60 });
    const client = cluster.client({ token: expired });
    const subscribed = track(client.subscribe('billing'));
    expectCode(await rejection(subscribed, 'the subscribe'), 'RW_ERR_TOKEN_EXPIRED', true);
    expect(client.state).toBe('disconnected');
    expect(client.metrics().reconnectAttempts).toBe(0);
  });

  test('the server disconnecting the socket for good rejects the waiting request and every later one with RW_ERR_CLOSED', async () => {
    const org = uniqueOrg();
    const p = await proxy();
    const client = openClient(org, { proxied: p });
    await connected(client);
    // The request and the server's DISCONNECT cross in the network: neither reaches the other side first.
    p.blackhole();
    const waiting = track(client.subscribe('tickets'));
    for (const socket of await node().io.in(orgRoom(org)).fetchSockets()) socket.disconnect();
    p.heal();
    const error = await rejection(waiting, 'the subscribe in flight');
    expectCode(error, 'RW_ERR_CLOSED', false);
    expect(error.message).toMatch(/io server disconnect/);
    expect(client.state).toBe('disconnected');
    expectCode(await rejection(track(client.subscribe('billing')), 'a later subscribe'), 'RW_ERR_CLOSED', false);
  });
});

describe('close()', () => {
  test('rejects a request still waiting for a connection, and every later one, with RW_ERR_CLOSED', async () => {
    const org = uniqueOrg();
    const p = await proxy();
    const client = openClient(org, { proxied: p, services: ['billing'] });
    await connected(client);
    p.cut();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the client to notice the cut' });
    const waiting = track(client.subscribe('tickets'));
    client.close();
    expectCode(await rejection(waiting, 'the subscribe made offline'), 'RW_ERR_CLOSED', false);
    expectCode(await rejection(track(client.subscribe('tickets')), 'a subscribe after close'), 'RW_ERR_CLOSED', false);
    expectCode(await rejection(track(client.unsubscribe('billing')), 'an unsubscribe after close'), 'RW_ERR_CLOSED', false);
    p.restore();
  });
});

describe('requests while the connection comes and goes', () => {
  test('a subscribe made offline waits for the next connect and resolves only once the server holds the service', async () => {
    const org = uniqueOrg();
    const p = await proxy();
    const client = openClient(org, { proxied: p, services: ['billing'] });
    await connected(client);
    p.cut();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the client to notice the cut' });
    const waiting = track(client.subscribe('tickets'));
    await waitUntil(() => client.metrics().reconnectAttempts >= 2, { what: 'two reconnect attempts while cut' });
    expect(waiting.settled).toBe(false);
    expect(members(org, 'tickets')).toBe(0);

    p.restore();
    await resolution(waiting, 'the subscribe', 10_000);
    expect(members(org, 'tickets')).toBe(1);
    expect(client.state).toBe('connected');
  });

  test('a subscribe whose connection drops before the answer is sent again on the next connection, then resolves', async () => {
    const org = uniqueOrg();
    const p = await proxy();
    const client = openClient(org, { proxied: p, services: ['billing'] });
    await connected(client);
    // The request leaves the client but never reaches the node: the connection is cut under it.
    p.blackhole();
    const waiting = track(client.subscribe('tickets'));
    p.cut();
    p.heal();
    await waitUntil(() => client.state === 'reconnecting', { what: 'the client to notice the cut' });
    expect(waiting.settled).toBe(false);
    p.restore();
    await resolution(waiting, 'the subscribe', 10_000);
    expect(members(org, 'tickets')).toBe(1);
    expect(client.metrics().totalDisconnects).toBe(1);
  });

  test('no answer within requestTimeoutMs of connected time: RW_ERR_TIMEOUT (retryable), and the request goes on', async () => {
    const org = uniqueOrg();
    const p = await proxy();
    const client = openClient(org, { proxied: p, services: ['billing'], requestTimeoutMs: 300 });
    await connected(client);
    p.blackhole();
    const startedAt = Date.now();
    const waiting = track(client.subscribe('tickets'));
    const error = await rejection(waiting, 'the unanswered subscribe');
    expectCode(error, 'RW_ERR_TIMEOUT', true);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    // Still wanted: the request was sent, and its late answer counts.
    expect(client.services).toContain('tickets');
    p.heal();
    await waitUntil(() => members(org, 'tickets') === 1, { what: 'the late request to reach the node' });
    const again = track(client.subscribe('tickets'));
    await resolution(again, 'a second subscribe once the answer came');
    expect(client.metrics().totalDisconnects).toBe(0);
  });
});

describe('requests the server confirms or refuses', () => {
  test('subscribe resolves once the server holds the service; unsubscribe once it has let it go', async () => {
    const org = uniqueOrg();
    const client = openClient(org, { services: ['billing'] });
    await connected(client);
    const subscribed = track(client.subscribe('tickets'));
    await resolution(subscribed, 'the subscribe');
    expect(members(org, 'tickets')).toBe(1);
    const unsubscribed = track(client.unsubscribe('tickets'));
    await resolution(unsubscribed, 'the unsubscribe');
    expect(members(org, 'tickets')).toBe(0);
  });

  test('a service outside the token: RW_ERR_FORBIDDEN, and the service is no longer wanted', async () => {
    const org = uniqueOrg();
    const client = cluster.client({ token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
    await connected(client);
    expectCode(await rejection(track(client.subscribe('tickets')), 'the subscribe'), 'RW_ERR_FORBIDDEN', false);
    expect(client.services).toEqual(['billing']);
  });

  test('a later call for the same service cancels the earlier one that was not confirmed yet (RW_ERR_CANCELLED)', async () => {
    const org = uniqueOrg();
    const client = openClient(org, { services: ['billing'] });
    await connected(client);
    const subscribed = track(client.subscribe('tickets'));
    const unsubscribed = track(client.unsubscribe('tickets'));
    expectCode(await rejection(subscribed, 'the replaced subscribe'), 'RW_ERR_CANCELLED', false);
    await resolution(unsubscribed, 'the unsubscribe');
    expect(members(org, 'tickets')).toBe(0);

    const left = track(client.unsubscribe('billing'));
    const back = track(client.subscribe('billing'));
    expectCode(await rejection(left, 'the replaced unsubscribe'), 'RW_ERR_CANCELLED', false);
    await resolution(back, 'the subscribe');
    expect(members(org, 'billing')).toBe(1);
  });

  test('a retryable refusal (rate limited) rejects with its code, and the client subscribes the service by itself later', async () => {
    const org = uniqueOrg();
    const client = openClient(org, { of: limited });
    const errors: RwErrorPayload[] = [];
    client.onError((error) => errors.push(error));
    await connected(client);
    await resolution(track(client.subscribe('billing')), 'the first subscribe');
    const refused = track(client.subscribe('tickets'));
    expectCode(await rejection(refused, 'the rate-limited subscribe'), 'RW_ERR_RATE_LIMITED', true);
    expect(client.services).toEqual(['billing', 'tickets']);
    expect(errors.map((e) => e.code)).toContain('RW_ERR_RATE_LIMITED');
    await waitUntil(() => members(org, 'tickets', limited) === 1, { what: 'the client to subscribe tickets by itself', timeoutMs: 10_000 });
    await resolution(track(client.subscribe('tickets')), 'a subscribe of the now-held service', 10_000);
  });
});
