import { randomBytes } from 'node:crypto';
import { NAME_PATTERN } from '@roomwire/shared';
import { z } from 'zod';
import { MAX_PROXY_HOPS, parseCidr, type TrustProxy } from '../node/client-address';
import { MAX_PARTITIONS } from '../stream/partitions';
import { nodeDefaults, type NodeOptions } from './node-options';

/** Pino log levels accepted in `LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The {@link NodeOptions} the environment sets; the publish key is always present (given or generated). */
export type EnvNodeOptions = NodeOptions &
  Required<
    Pick<
      NodeOptions,
      'port' | 'host' | 'publishApiKey' | 'replayWindowMs' | 'maxStreamLength' | 'drainDelayMs' | 'maxPayloadBytes' | 'corsOrigins' | 'pingIntervalMs' | 'pingTimeoutMs' | 'statusPage'
    >
  >;

/** Configuration read from the environment by {@link parseEnv}. */
export interface NodeConfig {
  /** Options for `createNode`, as they are. */
  options: EnvNodeOptions;
  /** `LOG_LEVEL`. */
  logLevel: LogLevel;
  /** `NODE_ENV === 'production'`: real secrets are required and none are ever printed. */
  production: boolean;
  /** Secrets generated because the environment had none (development only). */
  generated: { jwtSecret: boolean; publishApiKey: boolean };
  /** `ROOMWIRE_CATALOG`: the module to load the event catalog from (the CLI loads it); undefined for the example catalog. */
  catalogPath: string | undefined;
}

/** The environment holds invalid configuration; `message` lists every bad variable, secrets redacted. */
export class ConfigError extends Error {
  /** One line per problem, each starting with the variable's name. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Variables whose values must never appear in messages or logs. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(['JWT_SECRET', 'PUBLISH_API_KEY', 'ADMIN_UI_PASSWORD']);

/** Why: Node timers overflow past 2^31-1 ms and fire at once, so longer durations are refused. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MIN_JWT_SECRET_BYTES = 32;
const MIN_PUBLISH_KEY_CHARS = 16;
/** Ping settings below a second only add load; above ten minutes a dead node goes unnoticed for that long. */
const PING_RANGE_MS = [1000, 600_000] as const;

/**
 * Secrets refused in production because they look like placeholders: one character repeated, or
 * containing "changeme", "secret" or "password" (any case). Real secrets are random strings.
 */
export function isWeakSecret(value: string): boolean {
  return /^(.)\1*$/s.test(value) || /changeme|change-me|change_me|secret|password/i.test(value);
}

function integer(min: number, max: number, expected: string) {
  return z
    .string()
    .regex(/^\d+$/, { error: expected })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: expected });
}

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'redis:' || url.protocol === 'rediss:';
  } catch {
    return false;
  }
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** `TRUST_PROXY`: false/0 (none), true (one hop), a hop count, or a comma list of proxy addresses and CIDRs. */
function trustProxyOf(value: string): TrustProxy | undefined {
  const text = value.trim().toLowerCase();
  if (text === 'false' || text === '0') return false;
  if (text === 'true') return 1;
  if (/^\d+$/.test(text)) return Number(text) <= MAX_PROXY_HOPS ? Number(text) : undefined;
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  return entries.length > 0 && entries.every((entry) => parseCidr(entry) !== undefined) ? entries : undefined;
}

const schema = z.object({
  PORT: integer(0, 65535, 'expected an integer from 0 to 65535').default(3000),
  HOST: z
    .string()
    .regex(/^[^\s/]+$/, { error: 'expected a host name or IP address to listen on' })
    .default('127.0.0.1'),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional(),
  REDIS_CLUSTER_URLS: z
    .string()
    .transform((value) => value.split(',').map((url) => url.trim()).filter((url) => url.length > 0))
    .refine((urls) => urls.length > 0 && urls.every(isRedisUrl), { error: 'expected comma-separated redis:// or rediss:// seed URLs of a Redis Cluster' })
    .optional(),
  STREAM_PARTITIONS: integer(1, MAX_PARTITIONS, `expected an integer from 1 to ${MAX_PARTITIONS}`).default(nodeDefaults.streamPartitions),
  PARTITION_IDLE_GRACE_MS: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer of milliseconds').default(nodeDefaults.partitionIdleGraceMs),
  PRESENCE_HEARTBEAT_MS: integer(100, 600_000, 'expected an integer of milliseconds from 100 to 600000').default(nodeDefaults.presenceHeartbeatMs),
  PRESENCE_MAX_MEMBERS: integer(1, 1_000_000, 'expected an integer from 1 to 1000000').default(nodeDefaults.presenceMaxMembers),
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: "expected 1 to 64 letters, digits, '_', '.' or '-'" })
    .default(nodeDefaults.keyPrefix),
  JWT_SECRET: z
    .string()
    .refine((s) => Buffer.byteLength(s) >= MIN_JWT_SECRET_BYTES, {
      error: `expected at least ${MIN_JWT_SECRET_BYTES} bytes (HS256 key strength)`,
    })
    .optional(),
  JWKS_URL: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL of a JSON Web Key Set' }).optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  PUBLISH_API_KEY: z
    .string()
    .min(MIN_PUBLISH_KEY_CHARS, { error: `expected at least ${MIN_PUBLISH_KEY_CHARS} characters` })
    .optional(),
  REPLAY_WINDOW_MS: integer(1, MAX_TIMER_MS, `expected a positive integer of milliseconds, at most ${MAX_TIMER_MS}`).default(300_000),
  MAX_STREAM_LENGTH: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer of stream entries').default(1_000_000),
  DRAIN_DELAY_MS: integer(0, MAX_TIMER_MS, `expected a non-negative integer of milliseconds, at most ${MAX_TIMER_MS}`).default(0),
  MAX_PAYLOAD_BYTES: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer of bytes').default(65_536),
  MAX_BATCH_BODY_BYTES: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer of bytes').default(1_048_576),
  BATCH_WINDOW_MS: integer(0, 60_000, 'expected an integer of milliseconds from 0 (batching off) to 60000').default(20),
  MAX_BATCH_EVENTS: integer(1, 10_000, 'expected an integer from 1 to 10000').default(100),
  BATCH_LEADING_EVENTS: integer(1, 10_000, 'expected an integer from 1 to 10000').default(2),
  MAX_BATCH_BYTES: integer(1, 16_777_216, 'expected a positive integer of bytes, at most 16 MiB').default(65_536),
  MAX_BUFFERED_BYTES: integer(1024, Number.MAX_SAFE_INTEGER, 'expected an integer of bytes, at least 1024').default(1_048_576),
  SLOW_CONSUMER_GRACE_MS: integer(1, MAX_TIMER_MS, 'expected a positive integer of milliseconds').default(1000),
  RECOVERY_CACHE_MS: integer(1, MAX_TIMER_MS, `expected a positive integer of milliseconds, at most ${MAX_TIMER_MS}`).default(60_000),
  RECOVERY_CACHE_BYTES: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer of bytes').default(67_108_864),
  FRAME_COMPRESSION_MIN_BYTES: integer(0, Number.MAX_SAFE_INTEGER, 'expected an integer of bytes; 0 turns frame compression off').default(nodeDefaults.compressFramesMinBytes),
  COMPRESSION_THRESHOLD_BYTES: integer(0, Number.MAX_SAFE_INTEGER, 'expected an integer of bytes; 0 turns compression off').default(0),
  HEARTBEAT_MS: integer(100, 60_000, 'expected an integer of milliseconds from 100 to 60000').default(nodeDefaults.heartbeatMs),
  PING_INTERVAL_MS: integer(...PING_RANGE_MS, `expected an integer of milliseconds from ${PING_RANGE_MS[0]} to ${PING_RANGE_MS[1]}`).default(nodeDefaults.pingIntervalMs),
  PING_TIMEOUT_MS: integer(...PING_RANGE_MS, `expected an integer of milliseconds from ${PING_RANGE_MS[0]} to ${PING_RANGE_MS[1]}`).default(nodeDefaults.pingTimeoutMs),
  ADMIN_UI_USERNAME: z.string().regex(/^[^:\s]{1,64}$/, { error: 'expected a user name without ":" or spaces' }).optional(),
  ADMIN_UI_PASSWORD: z.string().min(12, { error: 'expected at least 12 characters' }).optional(),
  RATE_LIMIT_HANDSHAKES_PER_IP_PER_10S: integer(0, Number.MAX_SAFE_INTEGER, 'expected an integer; 0 turns rate limits off').default(1000),
  RATE_LIMIT_CLIENT_EVENTS_PER_SECOND: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer').default(20),
  RATE_LIMIT_PUBLISHES_PER_SECOND: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer').default(5000),
  RATE_LIMIT_CLIENT_PUBLISHES_PER_SECOND: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer').default(10),
  RATE_LIMIT_CLIENT_PUBLISH_BURST: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer').default(20),
  ADMIN_UI_LOGIN_FAILURES_PER_MINUTE: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer').default(5),
  TRUST_PROXY: z
    .string()
    .refine((v) => trustProxyOf(v) !== undefined, {
      error: `expected false, the number of proxies in front of the node (1 to ${MAX_PROXY_HOPS}; true is 1), or comma-separated proxy addresses/CIDRs such as 10.0.0.0/8`,
    })
    .transform((v) => trustProxyOf(v) as TrustProxy)
    .default(false),
  HTTP_HEADERS_TIMEOUT_MS: integer(1, MAX_TIMER_MS, 'expected a positive integer of milliseconds').default(nodeDefaults.headersTimeoutMs),
  HTTP_REQUEST_TIMEOUT_MS: integer(1, MAX_TIMER_MS, 'expected a positive integer of milliseconds').default(nodeDefaults.requestTimeoutMs),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(1, MAX_TIMER_MS, 'expected a positive integer of milliseconds').default(nodeDefaults.keepAliveTimeoutMs),
  MAX_CONNECTIONS: integer(1, Number.MAX_SAFE_INTEGER, 'expected a positive integer of connections').default(nodeDefaults.maxConnections),
  CORS_ORIGINS: z
    .string()
    .transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o.length > 0))
    .refine((origins) => origins.every(isOrigin), {
      error: 'expected comma-separated origins such as https://app.example.com (scheme, host, optional port; no path or "*")',
    })
    .default([]),
  NODE_ID: z
    .string()
    .regex(NAME_PATTERN, { error: 'expected a name of letters, digits, "_" and "-" (at most 64, starting with a letter or digit)' })
    .optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ROOMWIRE_CATALOG: z.string().regex(/\.(c|m)?js$|\.ts$/, { error: 'expected the path of a .js, .mjs or .cjs module that exports a catalog' }).optional(),
  STATUS_PAGE: z.enum(['true', 'false', '1', '0'], { error: 'expected true or false' }).transform((v) => v === 'true' || v === '1').optional(),
  NODE_ENV: z.string().optional(),
});

type EnvVariable = keyof z.input<typeof schema>;
type RawEnv = Partial<Record<EnvVariable, string>>;
const VARIABLES = Object.keys(schema.shape) as EnvVariable[];

/** Every environment variable the node reads (for deployment manifests and their checks). */
export const ENV_VARIABLES: readonly string[] = VARIABLES;
const PLACEHOLDER = 'looks like a placeholder (one repeated character, or contains "changeme", "secret" or "password"); use a random value';

/** Rules across variables; they read the raw values so they are reported even when some field is invalid. */
function crossVariableProblems(env: RawEnv): { variable: EnvVariable; message: string }[] {
  const problems: { variable: EnvVariable; message: string }[] = [];
  if (env.JWT_SECRET !== undefined && env.JWKS_URL !== undefined) {
    problems.push({ variable: 'JWT_SECRET', message: 'set either JWT_SECRET (HS256) or JWKS_URL (RS256/ES256), not both' });
  }
  if (env.REDIS_URL !== undefined && env.REDIS_CLUSTER_URLS !== undefined) {
    problems.push({ variable: 'REDIS_CLUSTER_URLS', message: 'set either REDIS_URL (one Redis) or REDIS_CLUSTER_URLS (a Redis Cluster), not both' });
  }
  if ((env.ADMIN_UI_USERNAME === undefined) !== (env.ADMIN_UI_PASSWORD === undefined)) {
    problems.push({ variable: 'ADMIN_UI_PASSWORD', message: 'set both ADMIN_UI_USERNAME and ADMIN_UI_PASSWORD to enable the admin UI, or neither' });
  }
  const headersMs = Number(env.HTTP_HEADERS_TIMEOUT_MS ?? nodeDefaults.headersTimeoutMs);
  const requestMs = Number(env.HTTP_REQUEST_TIMEOUT_MS ?? nodeDefaults.requestTimeoutMs);
  if (Number.isInteger(headersMs) && Number.isInteger(requestMs) && headersMs > requestMs) {
    problems.push({ variable: 'HTTP_HEADERS_TIMEOUT_MS', message: `must not exceed HTTP_REQUEST_TIMEOUT_MS (${requestMs})` });
  }
  if (env.NODE_ENV !== 'production') return problems;
  if (env.JWT_SECRET === undefined && env.JWKS_URL === undefined) {
    problems.push({ variable: 'JWT_SECRET', message: `required in production (at least ${MIN_JWT_SECRET_BYTES} random bytes), or set JWKS_URL instead` });
  } else if (env.JWT_SECRET !== undefined && isWeakSecret(env.JWT_SECRET)) {
    problems.push({ variable: 'JWT_SECRET', message: PLACEHOLDER });
  }
  if (env.PUBLISH_API_KEY === undefined) {
    problems.push({ variable: 'PUBLISH_API_KEY', message: `required in production (at least ${MIN_PUBLISH_KEY_CHARS} random characters)` });
  } else if (isWeakSecret(env.PUBLISH_API_KEY)) {
    problems.push({ variable: 'PUBLISH_API_KEY', message: PLACEHOLDER });
  }
  return problems;
}

/**
 * Reads the node's configuration from the environment — the one place it is parsed. An empty
 * variable counts as unset. In development a missing `JWT_SECRET` (without `JWKS_URL`) and a missing
 * `PUBLISH_API_KEY` are generated at random; in production (`NODE_ENV=production`) they are required
 * and placeholder values are refused (see {@link isWeakSecret}). Throws one {@link ConfigError} naming
 * every bad variable.
 *
 * @example
 * const config = parseEnv(process.env);
 * const node = await createNode(config.options);
 */
export function parseEnv(env: NodeJS.ProcessEnv): NodeConfig {
  const input: RawEnv = {};
  for (const name of VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') input[name] = value;
  }

  const parsed = schema.safeParse(input);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => ({ variable: issue.path[0] as EnvVariable, message: issue.message }))),
    ...crossVariableProblems(input),
  ];
  if (!parsed.success || problems.length > 0) {
    const lines = problems
      .sort((a, b) => VARIABLES.indexOf(a.variable) - VARIABLES.indexOf(b.variable))
      .map(({ variable, message }) => {
        const raw = input[variable];
        return raw === undefined ? `${variable}: ${message}` : `${variable}: ${message}, got ${describeValue(variable, raw)}`;
      });
    throw new ConfigError([...new Set(lines)]);
  }

  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const generateJwtSecret = e.JWT_SECRET === undefined && e.JWKS_URL === undefined;
  const generatePublishKey = e.PUBLISH_API_KEY === undefined;
  const auth: NodeOptions['auth'] =
    e.JWKS_URL !== undefined ? { jwksUrl: e.JWKS_URL } : { jwtSecret: e.JWT_SECRET ?? randomBytes(32).toString('base64url') };
  if (e.JWT_ISSUER !== undefined) auth.issuer = e.JWT_ISSUER;
  if (e.JWT_AUDIENCE !== undefined) auth.audience = e.JWT_AUDIENCE;

  const options: EnvNodeOptions = {
    auth,
    port: e.PORT,
    host: e.HOST,
    publishApiKey: e.PUBLISH_API_KEY ?? randomBytes(24).toString('base64url'),
    replayWindowMs: e.REPLAY_WINDOW_MS,
    maxStreamLength: e.MAX_STREAM_LENGTH,
    streamPartitions: e.STREAM_PARTITIONS,
    partitionIdleGraceMs: e.PARTITION_IDLE_GRACE_MS,
    presenceHeartbeatMs: e.PRESENCE_HEARTBEAT_MS,
    presenceMaxMembers: e.PRESENCE_MAX_MEMBERS,
    keyPrefix: e.KEY_PREFIX,
    drainDelayMs: e.DRAIN_DELAY_MS,
    maxPayloadBytes: e.MAX_PAYLOAD_BYTES,
    maxBatchBodyBytes: e.MAX_BATCH_BODY_BYTES,
    corsOrigins: e.CORS_ORIGINS,
    batching:
      e.BATCH_WINDOW_MS === 0
        ? false
        : { batchWindowMs: e.BATCH_WINDOW_MS, maxBatchEvents: e.MAX_BATCH_EVENTS, maxBatchBytes: e.MAX_BATCH_BYTES, leadingEvents: e.BATCH_LEADING_EVENTS },
    maxBufferedBytes: e.MAX_BUFFERED_BYTES,
    slowConsumerGraceMs: e.SLOW_CONSUMER_GRACE_MS,
    recoveryCacheMs: e.RECOVERY_CACHE_MS,
    recoveryCacheBytes: e.RECOVERY_CACHE_BYTES,
    compressionThresholdBytes: e.COMPRESSION_THRESHOLD_BYTES,
    compressFramesMinBytes: e.FRAME_COMPRESSION_MIN_BYTES,
    heartbeatMs: e.HEARTBEAT_MS,
    pingIntervalMs: e.PING_INTERVAL_MS,
    pingTimeoutMs: e.PING_TIMEOUT_MS,
    rateLimits:
      e.RATE_LIMIT_HANDSHAKES_PER_IP_PER_10S === 0
        ? false
        : {
            handshakesPerIpPer10s: e.RATE_LIMIT_HANDSHAKES_PER_IP_PER_10S,
            clientEventsPerSocketPerSecond: e.RATE_LIMIT_CLIENT_EVENTS_PER_SECOND,
            publishesPerKeyPerSecond: e.RATE_LIMIT_PUBLISHES_PER_SECOND,
            clientPublishesPerSocketPerSecond: e.RATE_LIMIT_CLIENT_PUBLISHES_PER_SECOND,
            clientPublishBurstPerSocket: e.RATE_LIMIT_CLIENT_PUBLISH_BURST,
          },
    trustProxy: e.TRUST_PROXY,
    // The status page and /v1/status show the cluster's shape: on in development, off in production unless asked for.
    statusPage: e.STATUS_PAGE ?? !production,
    headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: e.MAX_CONNECTIONS,
  };
  if (e.REDIS_URL !== undefined) options.redisUrl = e.REDIS_URL;
  if (e.REDIS_CLUSTER_URLS !== undefined) options.redisClusterUrls = e.REDIS_CLUSTER_URLS;
  if (e.NODE_ID !== undefined) options.nodeId = e.NODE_ID;
  if (e.ADMIN_UI_USERNAME !== undefined && e.ADMIN_UI_PASSWORD !== undefined) {
    options.adminUi = { username: e.ADMIN_UI_USERNAME, password: e.ADMIN_UI_PASSWORD, loginFailuresPerIpPerMinute: e.ADMIN_UI_LOGIN_FAILURES_PER_MINUTE };
  }

  return {
    options,
    logLevel: e.LOG_LEVEL,
    production,
    generated: { jwtSecret: generateJwtSecret, publishApiKey: generatePublishKey },
    catalogPath: e.ROOMWIRE_CATALOG,
  };
}

/** How a received value is shown in an error: secrets by length only, URL credentials masked. */
function describeValue(name: string, value: string): string {
  if (SECRET_VARIABLES.has(name)) return `${Buffer.byteLength(value)} bytes (value hidden)`;
  const shown = value.replace(/\/\/[^/@]*@/, '//***@');
  return JSON.stringify(shown.length > 200 ? `${shown.slice(0, 200)}…` : shown);
}
