import { catalog } from '@roomwire/shared';
import { effectivePositionIntervalMs, maxPositionAgeMs, nodeDefaults, resolveNodeOptions } from './node-options';

const auth = { jwtSecret: 'x'.repeat(32) };

test('resolving only the required options gives the documented defaults', () => {
  const resolved = resolveNodeOptions({ auth });
  expect(resolved).toMatchObject({
    port: 0,
    host: '127.0.0.1',
    replayWindowMs: 300_000,
    maxStreamLength: 1_000_000,
    maxReplayFrames: 10_000,
    replayPageSize: 500,
    maxPayloadBytes: 65_536,
    maxSubscriptionsPerSocket: 100,
    positionIntervalMs: 15_000,
    pingIntervalMs: 4000,
    pingTimeoutMs: 3000,
    drainDelayMs: 0,
    corsOrigins: [],
    keyPrefix: 'roomwire',
    redisClusterUrls: [],
    streamPartitions: 1,
    partitionIdleGraceMs: 60_000,
  });
  expect(resolved.catalog).toBe(catalog);
  expect(resolved.nodeId).toMatch(/^node-/);
  expect(resolved.redisUrl).toBeUndefined();
  expect(nodeDefaults.replayWindowMs).toBe(300_000);
});

test('by default a client notices a frozen node (no ping for pingIntervalMs + pingTimeoutMs) in time to be elsewhere within 10 s', () => {
  // 7 s to notice leaves 3 s of the 10 s bound to reconnect (first delay ≤ 1.5 s with the client defaults) and resume.
  expect(nodeDefaults.pingIntervalMs + nodeDefaults.pingTimeoutMs).toBeLessThanOrEqual(7000);
});

test('undefined options fall back to the defaults', () => {
  expect(resolveNodeOptions({ auth, replayWindowMs: undefined }).replayWindowMs).toBe(300_000);
});

test.each([
  [{ auth: {} }, /exactly one of auth.jwtSecret and auth.jwksUrl/],
  [{ auth: { jwtSecret: 'x'.repeat(32), jwksUrl: 'https://a/jwks' } }, /exactly one/],
  [{ auth: { jwtSecret: 'short' } }, /at least 32 bytes/],
  [{ auth: { jwksUrl: 'file:///etc/passwd' } }, /http\(s\) URL/],
  [{ auth, replayWindowMs: 0 }, /replayWindowMs must be a positive integer/],
  [{ auth, maxReplayFrames: 1.5 }, /maxReplayFrames/],
  [{ auth, port: 70000 }, /port/],
  [{ auth, publishApiKey: 'short' }, /publishApiKey/],
  [{ auth, streamPartitions: 0 }, /streamPartitions must be an integer in 1\.\.1024/],
  [{ auth, streamPartitions: 2000 }, /streamPartitions/],
  [{ auth, redisUrl: 'redis://a', redisClusterUrls: ['redis://b'] }, /not both/],
  [{ auth, keyPrefix: 'a{b}' }, /keyPrefix/],
])('bad options throw a precise TypeError: %#', (options, message) => {
  expect(() => resolveNodeOptions(options as never)).toThrow(TypeError);
  expect(() => resolveNodeOptions(options as never)).toThrow(message);
});

test('watermarks come at least every tenth of the window, and positions may be that much older than the window', () => {
  expect(effectivePositionIntervalMs({ positionIntervalMs: 15_000, replayWindowMs: 300_000 })).toBe(15_000);
  expect(effectivePositionIntervalMs({ positionIntervalMs: 15_000, replayWindowMs: 2_000 })).toBe(200);
  expect(maxPositionAgeMs({ positionIntervalMs: 15_000, replayWindowMs: 300_000 })).toBe(330_000);
});
