import { clientDefaults, isProductionBuild, resolveClientOptions } from './client-options';

/** The server's default `replayWindowMs`. */
const DEFAULT_REPLAY_WINDOW_MS = 300_000;

test('resolving only url and token gives the documented defaults', () => {
  expect(resolveClientOptions({ url: 'http://x', token: 't' })).toEqual({
    url: 'http://x',
    token: 't',
    services: [],
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    minReconnectDelayMs: 1000,
    maxReconnectDelayMs: 30_000,
    randomizationFactor: 0.5,
    connectTimeoutMs: 3000,
    requestTimeoutMs: 10_000,
    latencySampleSize: 1000,
    shareConnection: true,
    shareKey: undefined,
    affinity: undefined,
    // Jest runs with NODE_ENV=test: a development build, so the global is exposed (in browsers).
    exposeGlobal: true,
    tokenRefreshRatio: 0.8,
    livenessTimeoutMs: 6000,
  });
  // The cap is far below the server's default replay window (5 minutes), so a reconnecting client comes back before it closes.
  expect(clientDefaults.maxReconnectDelayMs * 5).toBeLessThan(DEFAULT_REPLAY_WINDOW_MS);
  // Options that meant something to the id cache no longer exist (deduplication is by stream position).
  expect(Object.keys(clientDefaults)).not.toContain('dedupTtlMs');
});

test.each([
  [{ url: '', token: 't' }, /url/],
  [{ url: 'http://x', token: 3 }, /token/],
  [{ url: 'http://x', token: 't', randomizationFactor: 2 }, /randomizationFactor/],
  [{ url: 'http://x', token: 't', tokenRefreshRatio: 1 }, /tokenRefreshRatio/],
  [{ url: 'http://x', token: 't', livenessTimeoutMs: 500 }, /livenessTimeoutMs/],
  [{ url: 'http://x', token: 't', minReconnectDelayMs: 5000, maxReconnectDelayMs: 1000 }, /minReconnectDelayMs/],
  [{ url: 'http://x', token: 't', latencySampleSize: 0 }, /latencySampleSize/],
  [{ url: 'http://x', token: 't', requestTimeoutMs: -1 }, /requestTimeoutMs/],
  [{ url: 'http://x', token: 't', connectTimeoutMs: 0 }, /connectTimeoutMs/],
  [{ url: 'http://x', token: 't', latencySampleSize: 1.5 }, /latencySampleSize/],
  [{ url: 'http://x', token: 't', affinityOrg: 'acme' }, /affinityOrg was replaced by affinity/],
  [{ url: 'http://x', token: 't', affinity: { org: 'acme:svc', partitions: 16 } }, /affinity\.org/],
  [{ url: 'http://x', token: 't', affinity: { org: '', partitions: 16 } }, /affinity\.org/],
  [{ url: 'http://x', token: 't', affinity: { org: 'acme' } }, /affinity\.partitions/],
  [{ url: 'http://x', token: 't', affinity: { org: 'acme', partitions: 0 } }, /affinity\.partitions/],
  [{ url: 'http://x', token: 't', affinity: { org: 'acme', partitions: 1025 } }, /affinity\.partitions/],
  [{ url: 'http://x', token: 't', affinity: 'acme' }, /affinity/],
])('bad options throw a TypeError: %#', (options, message) => {
  expect(() => resolveClientOptions(options as never)).toThrow(message);
});

test('a valid affinity is kept as { org, partitions }', () => {
  const extra = { org: 'acme', partitions: 16, note: 'dropped' };
  expect(resolveClientOptions({ url: 'http://x', token: 't', affinity: extra }).affinity).toEqual({ org: 'acme', partitions: 16 });
});

test('exposeGlobal is off by default in production builds', () => {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    expect(isProductionBuild()).toBe(true);
  } finally {
    process.env.NODE_ENV = before;
  }
  expect(isProductionBuild()).toBe(false);
});
