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
    maxBatchBodyBytes: 1_048_576,
    maxSubscriptionsPerSocket: 100,
    positionIntervalMs: 15_000,
    heartbeatMs: 2500,
    pingIntervalMs: 25_000,
    pingTimeoutMs: 20_000,
    drainDelayMs: 0,
    corsOrigins: [],
    keyPrefix: 'roomwire',
    redisClusterUrls: [],
    streamPartitions: 1,
    partitionIdleGraceMs: 60_000,
    presenceHeartbeatMs: 10_000,
    presenceMaxMembers: 1000,
    trustProxy: false,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
    maxConnections: 20_000,
  });
  expect(resolved.adminUi).toBeUndefined();
  expect(resolved.catalog).toBe(catalog);
  expect(resolved.nodeId).toMatch(/^node-/);
  expect(resolved.redisUrl).toBeUndefined();
  expect(nodeDefaults.replayWindowMs).toBe(300_000);
});

test('by default a healthy connection is never silent for long enough to look dead to a Roomwire client', () => {
  // A connection is silent for at most heartbeatMs; the clients' default livenessTimeoutMs (6 000,
  // client/src/client-options.ts) leaves room for twice that. test/frozen-node.test.ts checks the pair end to end.
  expect(2 * nodeDefaults.heartbeatMs).toBeLessThan(6000);
  // Engine.IO's ping only finds vanished clients now: Socket.IO's defaults.
  expect({ ping: nodeDefaults.pingIntervalMs, timeout: nodeDefaults.pingTimeoutMs }).toEqual({ ping: 25_000, timeout: 20_000 });
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
  [{ auth, trustProxy: 11 }, /trustProxy must be false, a number of proxy hops from 1 to 10/],
  [{ auth, trustProxy: -1 }, /trustProxy/],
  [{ auth, trustProxy: ['10.0.0.0/8', 'proxy.internal'] }, /"proxy.internal", which is not an IP address or CIDR range/],
  [{ auth, trustProxy: ['10.0.0.0/40'] }, /not an IP address or CIDR range/],
  [{ auth, headersTimeoutMs: 0 }, /headersTimeoutMs must be a positive integer/],
  [{ auth, headersTimeoutMs: 60_000 }, /headersTimeoutMs \(60000\) must not exceed requestTimeoutMs \(30000\)/],
  [{ auth, maxConnections: 0 }, /maxConnections must be a positive integer/],
  [{ auth, adminUi: { username: 'ops', password: 'short' } }, /adminUi.password must be at least 12 characters/],
  [{ auth, adminUi: { username: 'ops', password: 'long enough password', loginFailuresPerIpPerMinute: 0 } }, /loginFailuresPerIpPerMinute/],
])('bad options throw a precise TypeError: %#', (options, message) => {
  expect(() => resolveNodeOptions(options as never)).toThrow(TypeError);
  expect(() => resolveNodeOptions(options as never)).toThrow(message);
});

test('watermarks come at least every tenth of the window, and positions may be that much older than the window', () => {
  expect(effectivePositionIntervalMs({ positionIntervalMs: 15_000, replayWindowMs: 300_000 })).toBe(15_000);
  expect(effectivePositionIntervalMs({ positionIntervalMs: 15_000, replayWindowMs: 2_000 })).toBe(200);
  expect(maxPositionAgeMs({ positionIntervalMs: 15_000, replayWindowMs: 300_000 })).toBe(330_000);
});

test.each([
  [true, 1],
  [false, false],
  [0, false],
  [2, 2],
  [[], false],
  [['10.0.0.0/8', '192.0.2.7', '::ffff:0:0/96'], ['10.0.0.0/8', '192.0.2.7/32', '::ffff:0:0/96']],
])('trustProxy %p resolves to %p', (trustProxy, expected) => {
  expect(resolveNodeOptions({ auth, trustProxy }).trustProxy).toEqual(expected);
});

test('the admin UI gets its documented defaults', () => {
  expect(resolveNodeOptions({ auth, adminUi: { username: 'ops', password: 'long enough password' } }).adminUi).toEqual({
    username: 'ops',
    password: 'long enough password',
    readonly: true,
    loginFailuresPerIpPerMinute: 5,
  });
});
