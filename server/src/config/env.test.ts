import { ConfigError, isWeakSecret, parseEnv } from './env';
import { resolveNodeOptions } from './node-options';

const SECRET = 'k3Jx9vQ2mW7pL4tZ8bN1cR6yF0hD5gA2'; // 32 random-looking bytes
const KEY = 'pk_7fH2kQ9mX4vB8nR1';

/** The ConfigError `fn` throws; fails the test when it throws nothing or something else. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv in development', () => {
  test('defaults from an empty environment', () => {
    const config = parseEnv({});
    expect(config.production).toBe(false);
    expect(config.logLevel).toBe('info');
    expect(config.options).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      replayWindowMs: 300_000,
      maxStreamLength: 1_000_000,
      drainDelayMs: 0,
      maxPayloadBytes: 65_536,
      corsOrigins: [],
    });
    expect(config.options.redisUrl).toBeUndefined();
    expect(config.options.nodeId).toBeUndefined();
    expect(config.options.auth.jwksUrl).toBeUndefined();
  });

  test("an empty environment gives createNode's own defaults (apart from the CLI's port, 3000)", () => {
    const { options } = parseEnv({});
    const resolved = resolveNodeOptions(options);
    const defaults = resolveNodeOptions({ auth: options.auth });
    const differing = (Object.keys(options) as (keyof typeof options)[])
      .filter((key) => key !== 'auth' && key !== 'publishApiKey' && key !== 'port')
      .filter((key) => JSON.stringify(resolved[key as keyof typeof resolved]) !== JSON.stringify(defaults[key as keyof typeof defaults]));
    expect(differing).toEqual([]);
    expect(Object.keys(options)).toEqual(expect.arrayContaining(['replayWindowMs', 'maxStreamLength', 'batching', 'rateLimits', 'recoveryCacheBytes']));
  });

  test('generates a missing JWT secret and publish key, and says so', () => {
    const a = parseEnv({});
    const b = parseEnv({});
    expect(a.generated).toEqual({ jwtSecret: true, publishApiKey: true });
    expect(Buffer.byteLength(a.options.auth.jwtSecret ?? '')).toBeGreaterThanOrEqual(32);
    expect(a.options.publishApiKey.length).toBeGreaterThanOrEqual(16);
    expect(a.options.auth.jwtSecret).not.toBe(b.options.auth.jwtSecret);
    expect(a.options.publishApiKey).not.toBe(b.options.publishApiKey);
    // The result is accepted by createNode's own checks.
    expect(() => resolveNodeOptions(a.options)).not.toThrow();
  });

  test('keeps given secrets and generates nothing', () => {
    const config = parseEnv({ JWT_SECRET: SECRET, PUBLISH_API_KEY: KEY });
    expect(config.generated).toEqual({ jwtSecret: false, publishApiKey: false });
    expect(config.options.auth.jwtSecret).toBe(SECRET);
    expect(config.options.publishApiKey).toBe(KEY);
  });

  test('generates no JWT secret when a JWKS URL is set', () => {
    const config = parseEnv({ JWKS_URL: 'https://auth.example.com/.well-known/jwks.json', JWT_ISSUER: 'iss', JWT_AUDIENCE: 'aud' });
    expect(config.generated.jwtSecret).toBe(false);
    expect(config.options.auth).toEqual({ jwksUrl: 'https://auth.example.com/.well-known/jwks.json', issuer: 'iss', audience: 'aud' });
  });

  test('reads every variable', () => {
    const config = parseEnv({
      PORT: '0',
      HOST: '::1',
      REDIS_URL: 'rediss://user:pw@127.0.0.1:6380/0',
      JWT_SECRET: SECRET,
      PUBLISH_API_KEY: KEY,
      REPLAY_WINDOW_MS: '60000',
      MAX_STREAM_LENGTH: '2500000',
      STREAM_PARTITIONS: '16',
      PARTITION_IDLE_GRACE_MS: '5000',
      PRESENCE_HEARTBEAT_MS: '2000',
      PRESENCE_MAX_MEMBERS: '50',
      KEY_PREFIX: 'rw-prod',
      DRAIN_DELAY_MS: '250',
      MAX_PAYLOAD_BYTES: '1024',
      BATCH_WINDOW_MS: '5',
      MAX_BATCH_EVENTS: '50',
      BATCH_LEADING_EVENTS: '1',
      MAX_BATCH_BYTES: '32768',
      MAX_BUFFERED_BYTES: '2097152',
      SLOW_CONSUMER_GRACE_MS: '500',
      RECOVERY_CACHE_MS: '15000',
      RECOVERY_CACHE_BYTES: '1048576',
      COMPRESSION_THRESHOLD_BYTES: '1024',
      FRAME_COMPRESSION_MIN_BYTES: '2048',
      HEARTBEAT_MS: '2000',
      PING_INTERVAL_MS: '10000',
      PING_TIMEOUT_MS: '5000',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      TRUST_PROXY: '2',
      HTTP_HEADERS_TIMEOUT_MS: '4000',
      HTTP_REQUEST_TIMEOUT_MS: '20000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '3000',
      MAX_CONNECTIONS: '5000',
      ADMIN_UI_USERNAME: 'ops',
      ADMIN_UI_PASSWORD: 'a-long-random-passphrase',
      ADMIN_UI_LOGIN_FAILURES_PER_MINUTE: '3',
      NODE_ID: 'node-a_1',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'test',
      ROOMWIRE_CATALOG: './events/catalog.mjs',
      STATUS_PAGE: 'false',
    });
    expect(config.logLevel).toBe('debug');
    expect(config.catalogPath).toBe('./events/catalog.mjs');
    expect(config.production).toBe(false);
    expect(config.options).toEqual({
      auth: { jwtSecret: SECRET },
      port: 0,
      host: '::1',
      redisUrl: 'rediss://user:pw@127.0.0.1:6380/0',
      publishApiKey: KEY,
      replayWindowMs: 60_000,
      maxStreamLength: 2_500_000,
      streamPartitions: 16,
      partitionIdleGraceMs: 5000,
      presenceHeartbeatMs: 2000,
      presenceMaxMembers: 50,
      keyPrefix: 'rw-prod',
      drainDelayMs: 250,
      maxPayloadBytes: 1024,
      maxBatchBodyBytes: 1_048_576,
      batching: { batchWindowMs: 5, maxBatchEvents: 50, maxBatchBytes: 32_768, leadingEvents: 1 },
      maxBufferedBytes: 2_097_152,
      slowConsumerGraceMs: 500,
      recoveryCacheMs: 15000,
      recoveryCacheBytes: 1048576,
      compressionThresholdBytes: 1024,
      compressFramesMinBytes: 2048,
      heartbeatMs: 2000,
      pingIntervalMs: 10_000,
      pingTimeoutMs: 5000,
      rateLimits: { handshakesPerIpPer10s: 1000, clientEventsPerSocketPerSecond: 20, publishesPerKeyPerSecond: 5000, clientPublishesPerSocketPerSecond: 10, clientPublishBurstPerSocket: 20 },
      trustProxy: 2,
      headersTimeoutMs: 4000,
      requestTimeoutMs: 20_000,
      keepAliveTimeoutMs: 3000,
      maxConnections: 5000,
      adminUi: { username: 'ops', password: 'a-long-random-passphrase', loginFailuresPerIpPerMinute: 3 },
      statusPage: false,
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      nodeId: 'node-a_1',
    });
  });

  test('HEARTBEAT_MS, PING_INTERVAL_MS and PING_TIMEOUT_MS default to the node defaults', () => {
    const { options } = parseEnv({});
    expect({ heartbeatMs: options.heartbeatMs, pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs }).toEqual({
      heartbeatMs: 2500,
      pingIntervalMs: 25_000,
      pingTimeoutMs: 20_000,
    });
  });

  test.each([
    ['false', false],
    ['0', false],
    ['true', 1],
    ['1', 1],
    ['3', 3],
    [' 10.0.0.0/8 , 192.0.2.7 ,2001:db8::/32', ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32']],
  ])('TRUST_PROXY=%p is %p (no proxy, hops counted from the right, or proxy CIDRs)', (value, expected) => {
    const { options } = parseEnv({ TRUST_PROXY: value });
    expect(options.trustProxy).toEqual(expected);
    expect(() => resolveNodeOptions(options)).not.toThrow();
  });

  test('BATCH_WINDOW_MS=0 turns batching off', () => {
    expect(parseEnv({ BATCH_WINDOW_MS: '0' }).options.batching).toBe(false);
    expect(parseEnv({}).options.batching).toEqual({ batchWindowMs: 20, maxBatchEvents: 100, maxBatchBytes: 65_536, leadingEvents: 2 });
  });

  test('treats empty variables as unset', () => {
    const config = parseEnv({ PORT: '', REDIS_URL: '', LOG_LEVEL: '' });
    expect(config.options.port).toBe(3000);
    expect(config.options.redisUrl).toBeUndefined();
    expect(config.logLevel).toBe('info');
  });
});

describe('parseEnv errors', () => {
  test('the message has the documented form', () => {
    expect(configError(() => parseEnv({ PORT: 'abc' })).message).toBe(
      'Invalid configuration:\n  PORT: expected an integer from 0 to 65535, got "abc"',
    );
  });

  test('names every bad variable in one error', () => {
    const bad = {
      PORT: '70000',
      HOST: 'two words',
      REDIS_URL: 'http://127.0.0.1:1234',
      JWT_SECRET: 'short-one',
      PUBLISH_API_KEY: 'tiny',
      REPLAY_WINDOW_MS: '0',
      MAX_STREAM_LENGTH: '1e6',
      STREAM_PARTITIONS: '1025',
      PARTITION_IDLE_GRACE_MS: '0',
      PRESENCE_HEARTBEAT_MS: '50',
      PRESENCE_MAX_MEMBERS: '0',
      KEY_PREFIX: 'a{b}',
      REDIS_CLUSTER_URLS: 'redis://127.0.0.1:7000, http://127.0.0.1:7001',
      DRAIN_DELAY_MS: '-5',
      MAX_PAYLOAD_BYTES: '1.5',
      PING_INTERVAL_MS: '999',
      PING_TIMEOUT_MS: '600001',
      CORS_ORIGINS: 'https://ok.example.com,https://bad.example.com/path',
      TRUST_PROXY: 'yes',
      HTTP_HEADERS_TIMEOUT_MS: '0',
      HTTP_REQUEST_TIMEOUT_MS: 'soon',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '-1',
      MAX_CONNECTIONS: '0',
      ADMIN_UI_LOGIN_FAILURES_PER_MINUTE: 'many',
      NODE_ID: 'node:1',
      LOG_LEVEL: 'loud',
    };
    const error = configError(() => parseEnv(bad));
    expect(error.name).toBe('ConfigError');
    const named = error.problems.map((p) => p.split(':')[0]);
    expect(new Set(named)).toEqual(new Set(Object.keys(bad)));
    expect(error.message).toContain('PORT: expected an integer from 0 to 65535, got "70000"');
    expect(error.message).toContain('REDIS_URL: expected a redis:// or rediss:// URL, got "http://127.0.0.1:1234"');
    expect(error.message).toContain('LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"');
    expect(error.message).toContain('DRAIN_DELAY_MS:');
    expect(error.message).toContain('got "-5"');
    expect(error.message).toContain('PING_INTERVAL_MS: expected an integer of milliseconds from 1000 to 600000, got "999"');
    expect(error.message).toContain('PING_TIMEOUT_MS: expected an integer of milliseconds from 1000 to 600000, got "600001"');
  });

  test('never echoes secrets, nor credentials in URLs', () => {
    const error = configError(() =>
      parseEnv({ JWT_SECRET: 'hunter2-short', PUBLISH_API_KEY: 'tiny-key', REDIS_URL: 'redis://u:p4ssw0rd@x', JWKS_URL: 'ftp://x' }),
    );
    expect(error.message).toContain('JWT_SECRET: expected at least 32 bytes');
    expect(error.message).toContain('PUBLISH_API_KEY: expected at least 16 characters');
    expect(error.message).toContain('JWKS_URL:');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('tiny-key');
    expect(error.message).not.toContain('p4ssw0rd');
  });

  test.each([['11'], ['10.0.0.0/33'], ['10.0.0.0/8,proxy.internal'], ['*'], ['10.0.0.1/8/1'], [',']])('refuses TRUST_PROXY=%p, naming what it accepts', (value) => {
    const error = configError(() => parseEnv({ TRUST_PROXY: value }));
    expect(error.problems).toEqual([expect.stringMatching(/^TRUST_PROXY: expected false, the number of proxies in front of the node \(1 to 10; true is 1\), or comma-separated proxy addresses\/CIDRs/)]);
  });

  test('refuses a headers timeout longer than the request timeout', () => {
    expect(configError(() => parseEnv({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).problems).toEqual([
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (30000), got "40000"',
    ]);
    expect(parseEnv({ HTTP_HEADERS_TIMEOUT_MS: '40000', HTTP_REQUEST_TIMEOUT_MS: '60000' }).options.headersTimeoutMs).toBe(40_000);
  });

  test('REDIS_CLUSTER_URLS is a list of seed URLs, and excludes REDIS_URL', () => {
    expect(parseEnv({ REDIS_CLUSTER_URLS: ' redis://127.0.0.1:7000 ,rediss://10.0.0.2:7001,' }).options.redisClusterUrls).toEqual([
      'redis://127.0.0.1:7000',
      'rediss://10.0.0.2:7001',
    ]);
    expect(configError(() => parseEnv({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_URLS: 'redis://b:7000' })).message).toContain(
      'REDIS_CLUSTER_URLS: set either REDIS_URL (one Redis) or REDIS_CLUSTER_URLS (a Redis Cluster), not both',
    );
  });

  test('refuses JWT_SECRET and JWKS_URL together', () => {
    const error = configError(() => parseEnv({ JWT_SECRET: SECRET, JWKS_URL: 'https://auth.example.com/jwks.json' }));
    expect(error.problems).toEqual([expect.stringMatching(/^JWT_SECRET: set either JWT_SECRET \(HS256\) or JWKS_URL/)]);
    expect(error.message).not.toContain(SECRET);
  });
});

describe('parseEnv in production', () => {
  test('refuses to start without real secrets', () => {
    const error = configError(() => parseEnv({ NODE_ENV: 'production' }));
    expect(error.problems).toHaveLength(2);
    expect(error.problems[0]).toMatch(/^JWT_SECRET: required in production/);
    expect(error.problems[1]).toMatch(/^PUBLISH_API_KEY: required in production/);
  });

  test('reports missing secrets together with invalid variables', () => {
    const error = configError(() => parseEnv({ NODE_ENV: 'production', PORT: 'abc' }));
    expect(error.problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'JWT_SECRET', 'PUBLISH_API_KEY']);
  });

  test('refuses placeholder secrets without echoing them', () => {
    const error = configError(() =>
      parseEnv({ NODE_ENV: 'production', JWT_SECRET: 'changeme-changeme-changeme-changeme', PUBLISH_API_KEY: 'x'.repeat(20) }),
    );
    expect(error.problems.map((p) => p.split(':')[0])).toEqual(['JWT_SECRET', 'PUBLISH_API_KEY']);
    expect(error.message).toContain('looks like a placeholder');
    expect(error.message).not.toContain('changeme-');
    expect(error.message).not.toContain('xxxx');
  });

  test('starts with real secrets, or with a JWKS URL, and generates nothing', () => {
    const hs = parseEnv({ NODE_ENV: 'production', JWT_SECRET: SECRET, PUBLISH_API_KEY: KEY });
    expect(hs.production).toBe(true);
    expect(hs.generated).toEqual({ jwtSecret: false, publishApiKey: false });
    const jwks = parseEnv({ NODE_ENV: 'production', JWKS_URL: 'https://auth.example.com/jwks.json', PUBLISH_API_KEY: KEY });
    expect(jwks.options.auth).toEqual({ jwksUrl: 'https://auth.example.com/jwks.json' });
    expect(jwks.generated).toEqual({ jwtSecret: false, publishApiKey: false });
  });

  test('the status page is off unless STATUS_PAGE turns it on; in development it is on unless turned off', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: SECRET, PUBLISH_API_KEY: KEY };
    expect(parseEnv(production).options.statusPage).toBe(false);
    expect(parseEnv({ ...production, STATUS_PAGE: 'true' }).options.statusPage).toBe(true);
    expect(parseEnv({}).options.statusPage).toBe(true);
    expect(parseEnv({ STATUS_PAGE: '0' }).options.statusPage).toBe(false);
    expect(() => parseEnv({ STATUS_PAGE: 'yes' })).toThrow('STATUS_PAGE: expected true or false, got "yes"');
  });

  test('ROOMWIRE_CATALOG must name a JavaScript module', () => {
    expect(parseEnv({}).catalogPath).toBeUndefined();
    expect(parseEnv({ ROOMWIRE_CATALOG: '/app/catalog/catalog.cjs' }).catalogPath).toBe('/app/catalog/catalog.cjs');
    expect(() => parseEnv({ ROOMWIRE_CATALOG: 'catalog.json' })).toThrow('ROOMWIRE_CATALOG: expected the path of a .js, .mjs or .cjs module that exports a catalog, got "catalog.json"');
  });

  test('weak secrets are only refused in production', () => {
    expect(isWeakSecret('a'.repeat(40))).toBe(true);
    expect(isWeakSecret('my-super-SECRET-value-for-dev-only-1234')).toBe(true);
    expect(isWeakSecret(SECRET)).toBe(false);
    expect(parseEnv({ JWT_SECRET: 'a'.repeat(40) }).options.auth.jwtSecret).toBe('a'.repeat(40));
  });
});
