import { io as ioClient } from 'socket.io-client';
import { createNode, type RoomwireNode } from '@roomwire/server';
import type { RwErrorPayload } from '@roomwire/shared';
import { deferred, waitFor } from './harness';
import { testNodeOptions } from './support/cluster';

const USER = 'ops';
const PASSWORD = 'correct horse battery';
let node: RoomwireNode;

beforeAll(async () => {
  // One proxy hop trusted: each test's X-Forwarded-For stands for a different client address.
  node = await createNode(testNodeOptions({ trustProxy: 1, adminUi: { username: USER, password: PASSWORD, loginFailuresPerIpPerMinute: 3 } }));
});

afterAll(async () => {
  await node?.close();
});

/**
 * Opens the admin namespace with `auth` from `address`; resolves with what the handshake ended in and,
 * for a login with a password, the session the node issued.
 */
async function adminLogin(
  auth: Record<string, unknown>,
  address: string,
): Promise<{ outcome: 'connected'; session: string | undefined } | { outcome: 'refused'; error: RwErrorPayload }> {
  const socket = ioClient(`${node.url}/admin`, { transports: ['websocket'], reconnection: false, auth, extraHeaders: { 'X-Forwarded-For': address } });
  const session = waitFor<string>(socket, 'session', 5000, `an admin session for ${address}`);
  session.catch(() => undefined);
  const ended = deferred<'connect' | RwErrorPayload>();
  socket.once('connect', () => ended.resolve('connect'));
  socket.once('connect_error', (err: Error & { data?: unknown }) => ended.resolve(err.data as RwErrorPayload));
  try {
    const result = await ended.promise;
    if (result !== 'connect') return { outcome: 'refused', error: result };
    return { outcome: 'connected', session: auth.password === undefined ? undefined : await session };
  } finally {
    socket.close();
  }
}

async function metricValue(series: RegExp): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => series.test(l));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** A GET's status, its body read (an unread one holds its connection until it is garbage-collected). */
async function statusOf(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

test('the admin UI is served from the package, without links to the internet', async () => {
  const page = await fetch(`${node.url}/admin/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<div id="app">');
  expect(html).not.toMatch(/href="https?:/);
  const script = /src="?(js\/app\.[^" >]+\.js)/.exec(html)?.[1];
  expect(script).toBeDefined();
  const js = await fetch(`${node.url}/admin/${script}`);
  expect(js.status).toBe(200);
  expect(js.headers.get('content-type')).toContain('javascript');
  // Each body is read or cancelled: an unread one holds its connection until it is garbage-collected.
  await js.body?.cancel();
  const traversal = await fetch(`${node.url}/admin/..%2F..%2Fpackage.json`);
  await traversal.body?.cancel();
  expect(traversal.status).toBe(404);
});

test.each([['/admin/%E0%A4%A'], ['/admin/%'], ['/admin/%C0%AF'], ['/admin/js/%ED%A0%80.js'], ['/admin/%FF%FE']])(
  'GET %s (malformed percent-encoding) is a 400 invalid request, and the node stays up',
  async (path) => {
    const res = await fetch(`${node.url}${path}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'RW_ERR_INVALID_REQUEST', message: expect.any(String) } });
    expect(await statusOf(`${node.url}/healthz`)).toBe(200);
  },
);

test('the admin namespace requires its credentials, and a session it issued lets the UI back in', async () => {
  expect(await adminLogin({ username: USER, password: 'wrong password!!' }, '192.0.2.1')).toEqual({
    outcome: 'refused',
    error: { code: 'RW_ERR_UNAUTHORIZED', message: 'invalid credentials' },
  });
  const admitted = await adminLogin({ username: USER, password: PASSWORD }, '192.0.2.1');
  expect(admitted.outcome).toBe('connected');
  const session = admitted.outcome === 'connected' ? admitted.session : undefined;
  expect(session).toMatch(/^[0-9a-f]{32}$/);
  expect((await adminLogin({ sessionId: session }, '192.0.2.1')).outcome).toBe('connected');
  expect((await adminLogin({ sessionId: 'f'.repeat(32) }, '192.0.2.1')).outcome).toBe('refused');
});

test.each([
  ['no credentials', {}, '192.0.2.2'],
  ['a wrong user name', { username: 'root', password: PASSWORD }, '192.0.2.3'],
  ['non-string credentials', { username: { toString: 1 }, password: [PASSWORD] }, '192.0.2.4'],
  ['a hostile session id', { sessionId: { length: 1 }, username: USER }, '192.0.2.5'],
])('%s is refused as unauthorized', async (_name, auth, address) => {
  expect(await adminLogin(auth, address)).toEqual({ outcome: 'refused', error: { code: 'RW_ERR_UNAUTHORIZED', message: 'invalid credentials' } });
});

test('failed logins are limited per address before the password is looked at, and counted', async () => {
  const credentialFailures = await metricValue(/^roomwire_admin_login_failures_total\{[^}]*reason="credentials"/);
  const guesses = [];
  for (let i = 0; i < 3; i++) guesses.push(await adminLogin({ username: USER, password: `guess number ${i}` }, '198.51.100.7'));
  expect(guesses.map((g) => (g.outcome === 'refused' ? g.error.code : g.outcome))).toEqual(Array(3).fill('RW_ERR_UNAUTHORIZED'));
  // Out of attempts: even the right password is refused, so the limit is checked before the credentials.
  const limited = await adminLogin({ username: USER, password: PASSWORD }, '198.51.100.7');
  expect(limited).toEqual({ outcome: 'refused', error: { code: 'RW_ERR_RATE_LIMITED', message: expect.stringMatching(/failed admin logins from this address; retry in \d+ s/) } });
  // Another address is not affected, and successful logins do not use up attempts.
  for (let i = 0; i < 4; i++) expect((await adminLogin({ username: USER, password: PASSWORD }, '198.51.100.8')).outcome).toBe('connected');
  expect(await metricValue(/^roomwire_admin_login_failures_total\{[^}]*reason="credentials"/)).toBe(credentialFailures + 3);
  expect(await metricValue(/^roomwire_admin_login_failures_total\{[^}]*reason="rate_limited"/)).toBeGreaterThanOrEqual(1);
  expect(await metricValue(/^roomwire_rate_limited_total\{[^}]*limit="admin_login"/)).toBeGreaterThanOrEqual(1);
});

test('a wrong password costs the node no more CPU than a wrong user name: no password hash runs on the event loop', async () => {
  const attempts = 16;
  const cpuMsOf = async (auth: (i: number) => Record<string, unknown>, prefix: string): Promise<number> => {
    const before = process.cpuUsage();
    for (let i = 0; i < attempts; i++) {
      const result = await adminLogin(auth(i), `${prefix}.${i + 1}`);
      expect(result.outcome).toBe('refused');
    }
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  const wrongUser = await cpuMsOf((i) => ({ username: `nobody-${i}`, password: `guess number ${i}` }), '203.0.113');
  const wrongPassword = await cpuMsOf((i) => ({ username: USER, password: `guess number ${i}` }), '203.0.114');
  // A bcrypt comparison (cost 10) costs tens of milliseconds of CPU each; a digest comparison, microseconds.
  expect(wrongPassword - wrongUser).toBeLessThan(attempts * 10);
});

test('without configuration there is no admin UI', async () => {
  const plain = await createNode(testNodeOptions());
  try {
    expect(await statusOf(`${plain.url}/admin/`)).toBe(404);
  } finally {
    await plain.close();
  }
});
