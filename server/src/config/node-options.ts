import { catalog as exampleCatalog, type CatalogDefinition } from '@roomwire/shared';
import type { Logger } from 'pino';
import { adminUiDefaults, type AdminUiOptions } from '../node/admin-ui';
import { resolveTrustProxy, type ResolvedTrustProxy, type TrustProxy } from '../node/client-address';
import { rateLimitDefaults, type RateLimitOptions } from '../limits/rate-limits';
import { resolveBatchingOptions, type BatchingOptions } from '../batching/room-batcher';
import { MAX_PARTITIONS } from '../stream/partitions';

/** How clients authenticate: an HS256 secret or a JWKS URL (RS256/ES256). Exactly one is required. */
export interface AuthOptions {
  /** Shared secret for HS256 client tokens. */
  jwtSecret?: string;
  /** URL of a JSON Web Key Set for RS256/ES256 client tokens. */
  jwksUrl?: string;
  /** When set, tokens must carry this `iss`. */
  issuer?: string;
  /** When set, tokens must carry this `aud`. */
  audience?: string;
}

/** Options of {@link createNode}. Every option but `auth` has a default. */
export interface NodeOptions {
  /** Client authentication. */
  auth: AuthOptions;
  /** TCP port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Redis URL of one Redis; without it (and without `redisClusterUrls`) the node runs alone in memory. @default undefined */
  redisUrl?: string;
  /** Seed node URLs of a Redis Cluster (instead of `redisUrl`): partitions spread over its masters. @default [] */
  redisClusterUrls?: string[];
  /**
   * Number of stream partitions orgs are hashed to (each a stream with its own hash tag, so a Redis
   * Cluster spreads them over its masters). Every node and publisher of a cluster must agree. @default 1
   */
  streamPartitions?: number;
  /** How long a node keeps reading a partition after its last socket of the partition's orgs left, in ms. @default 60000 */
  partitionIdleGraceMs?: number;
  /**
   * Interval of the node's presence heartbeat, in ms: the users of a node that dies without closing leave
   * the other nodes' presence within 3 heartbeats. @default 10000
   */
  presenceHeartbeatMs?: number;
  /** Above this many users, a service's presence answers counts only (`members: null`). @default 1000 */
  presenceMaxMembers?: number;
  /** Bearer key of `POST /v1/publish`; without it the HTTP publish API answers 401. @default undefined */
  publishApiKey?: string;
  /** The event catalog. @default the example catalog of `@roomwire/shared` */
  catalog?: CatalogDefinition;
  /** How long a disconnected client can still recover every missed event, in ms. @default 300000 */
  replayWindowMs?: number;
  /** Hard cap on stream entries, whatever the window; recovery past a trimmed entry resyncs. @default 1000000 */
  maxStreamLength?: number;
  /** Most durable frames replayed to one socket; beyond it the client resyncs instead. @default 10000 */
  maxReplayFrames?: number;
  /** Stream entries read per XRANGE page while replaying. @default 500 */
  replayPageSize?: number;
  /** Largest accepted publish body (HTTP) or payload (library), in bytes. @default 65536 */
  maxPayloadBytes?: number;
  /** Largest accepted body of `POST /v1/publish/batch` (up to 100 events), in bytes. @default 1048576 */
  maxBatchBodyBytes?: number;
  /** Most services one socket may be subscribed to. @default 100 */
  maxSubscriptionsPerSocket?: number;
  /** How often each socket is sent a position watermark, in ms; capped at a tenth of the window. @default 15000 */
  positionIntervalMs?: number;
  /**
   * Longest a connection goes without hearing from the node, in ms: a connection that was sent nothing
   * for this long gets an Engine.IO `noop` (nothing per busy connection, no answer). A Roomwire client
   * that hears nothing for its `livenessTimeoutMs` (default 6 000, keep it above twice this) takes the
   * node for gone and reconnects elsewhere: with the defaults a frozen node is noticed within 7 s
   * (docs/decisions.md, "Liveness by idle heartbeats"). @default 2500
   */
  heartbeatMs?: number;
  /**
   * How often Engine.IO pings each connection (`pingInterval`), in ms: how the node notices clients
   * that vanished without closing (within `pingIntervalMs + pingTimeoutMs`). Clients notice a frozen
   * node by `heartbeatMs` instead, so this can stay at Socket.IO's default. @default 25000
   */
  pingIntervalMs?: number;
  /** How long the node waits for a pong before dropping the connection (Engine.IO `pingTimeout`), in ms. @default 20000 */
  pingTimeoutMs?: number;
  /** Grace before `close()` cuts sockets after it stops accepting, in ms. @default 0 */
  drainDelayMs?: number;
  /** Origins allowed to connect from browsers (CORS); same-origin pages always can. @default [] */
  corsOrigins?: string[];
  /** Prefix of every Redis key and channel of the cluster (`<prefix>:{<tag>}:stream`, …). @default 'roomwire' */
  keyPrefix?: string;
  /** This node's id in logs and metrics. @default a random id */
  nodeId?: string;
  /** Byte budget of what may be queued towards one socket (engine.io buffer + WebSocket buffer). @default 1048576 */
  maxBufferedBytes?: number;
  /** How long a socket may stay above its budget before it is evicted (recoverably), in ms. @default 1000 */
  slowConsumerGraceMs?: number;
  /** Compress WebSocket messages (permessage-deflate) of at least this many bytes; 0 turns compression off. @default 0 */
  compressionThresholdBytes?: number;
  /** Frames whose JSON is at least this many bytes are compressed once when published (raw DEFLATE, sent as binary); 0 turns it off. Below 2 KiB the bytes saved do not pay for each client's inflate (docs/decisions.md). @default 2048 */
  compressFramesMinBytes?: number;
  /** How long recent stream entries stay in this node's memory to replay reconnecting clients, in ms. @default 60000 */
  recoveryCacheMs?: number;
  /** Most bytes of recent stream entries kept in memory for replays. @default 67108864 */
  recoveryCacheBytes?: number;
  /** Rate limits on handshakes, client requests and HTTP publishes, or `false` for none. @default rateLimitDefaults */
  rateLimits?: RateLimitOptions | false;
  /**
   * Which proxies may tell the client's address in `X-Forwarded-For`: `false` (none: the TCP peer is the
   * client), the number of proxies in front of the node that each append the address they saw
   * (`true` = 1; the client is that many entries from the right), or the proxies' addresses and CIDR
   * ranges (the client is the rightmost address that is not one of them). Entries left of those are
   * written by the client and never used. @default false
   */
  trustProxy?: TrustProxy;
  /** Longest a connection may take to send a request's headers (an idle new connection included), in ms; then `408` and close. @default 10000 */
  headersTimeoutMs?: number;
  /** Longest a connection may take to send a whole request, body included, in ms; then `408` and close. @default 30000 */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open between requests, in ms. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** Most open connections (WebSocket, long-polling, HTTP) on this node; more are answered `503` `RW_ERR_CONNECTION_LIMIT` and closed. @default 20000 */
  maxConnections?: number;
  /**
   * Serve the status page (`GET /`, its client bundle under `/assets/`) and the status JSON
   * (`GET /v1/status`): node ids, connection counts, services, latency. The CLI turns it off in
   * production unless `STATUS_PAGE=true`. @default true
   */
  statusPage?: boolean;
  /** The Socket.IO admin UI at `/admin/` (namespace `/admin`, basic auth); off when unset. @default undefined */
  adminUi?: AdminUiOptions;
  /** Adaptive batching per room for events published through this node, or `false`. @default batchingDefaults */
  batching?: BatchingOptions | false;
  /** Logger; pass one to route logs. @default a pino JSON logger at `info` */
  logger?: Logger;
}

/** Defaults of {@link NodeOptions}, merged once by {@link resolveNodeOptions}. */
export const nodeDefaults = {
  port: 0,
  host: '127.0.0.1',
  catalog: exampleCatalog as CatalogDefinition,
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
  corsOrigins: [] as string[],
  maxBufferedBytes: 1_048_576,
  slowConsumerGraceMs: 1000,
  compressionThresholdBytes: 0,
  compressFramesMinBytes: 2048,
  trustProxy: false as TrustProxy,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 20_000,
  statusPage: true,
  recoveryCacheMs: 60_000,
  recoveryCacheBytes: 64 * 1024 * 1024,
  keyPrefix: 'roomwire',
  redisClusterUrls: [] as string[],
  streamPartitions: 1,
  partitionIdleGraceMs: 60_000,
  presenceHeartbeatMs: 10_000,
  presenceMaxMembers: 1000,
} as const;

/** Options after defaults are merged and checked. */
export type ResolvedNodeOptions = Required<Omit<NodeOptions, 'redisUrl' | 'publishApiKey' | 'nodeId' | 'logger' | 'batching' | 'adminUi' | 'rateLimits' | 'trustProxy'>> &
  Pick<NodeOptions, 'redisUrl' | 'publishApiKey'> & {
    nodeId: string;
    logger?: Logger;
    batching: Required<BatchingOptions> | false;
    rateLimits: Required<RateLimitOptions> | false;
    trustProxy: ResolvedTrustProxy;
    adminUi?: Required<AdminUiOptions>;
  };

/**
 * Merges the defaults into `options` and checks them; a bad option is a programmer error and throws a
 * precise `TypeError` at start-up.
 */
export function resolveNodeOptions(options: NodeOptions): ResolvedNodeOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as NodeOptions;
  const resolved: ResolvedNodeOptions = {
    ...nodeDefaults,
    corsOrigins: [...nodeDefaults.corsOrigins],
    redisClusterUrls: [...nodeDefaults.redisClusterUrls],
    nodeId: `node-${Math.random().toString(36).slice(2, 10)}`,
    ...defined,
    batching: resolveBatchingOptions(defined.batching, 'createNode'),
    rateLimits: resolveRateLimits(defined.rateLimits),
    trustProxy: resolveTrustProxy(defined.trustProxy ?? nodeDefaults.trustProxy),
    adminUi: defined.adminUi === undefined ? undefined : resolveAdminUi(defined.adminUi),
  };
  const { auth } = resolved;
  if (!auth || (auth.jwtSecret === undefined) === (auth.jwksUrl === undefined)) {
    throw new TypeError('createNode: set exactly one of auth.jwtSecret and auth.jwksUrl');
  }
  if (auth.jwtSecret !== undefined && Buffer.byteLength(auth.jwtSecret) < 32) {
    throw new TypeError('createNode: auth.jwtSecret must be at least 32 bytes (HS256 key strength)');
  }
  if (auth.jwksUrl !== undefined && !/^https?:\/\//.test(auth.jwksUrl)) {
    throw new TypeError(`createNode: auth.jwksUrl must be an http(s) URL, got ${JSON.stringify(auth.jwksUrl)}`);
  }
  const positive: (keyof typeof nodeDefaults)[] = [
    'replayWindowMs',
    'maxStreamLength',
    'maxReplayFrames',
    'replayPageSize',
    'maxPayloadBytes',
    'maxBatchBodyBytes',
    'maxSubscriptionsPerSocket',
    'positionIntervalMs',
    'heartbeatMs',
    'pingIntervalMs',
    'pingTimeoutMs',
    'maxBufferedBytes',
    'slowConsumerGraceMs',
    'recoveryCacheMs',
    'recoveryCacheBytes',
    'partitionIdleGraceMs',
    'presenceHeartbeatMs',
    'presenceMaxMembers',
    'headersTimeoutMs',
    'requestTimeoutMs',
    'keepAliveTimeoutMs',
    'maxConnections',
  ];
  for (const key of positive) {
    const value = resolved[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new TypeError(`createNode: ${key} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw new TypeError(`createNode: port must be an integer in 0..65535, got ${JSON.stringify(resolved.port)}`);
  }
  for (const key of ['compressionThresholdBytes', 'compressFramesMinBytes'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 0) throw new TypeError(`createNode: ${key} must be a non-negative integer`);
  }
  if (!Number.isInteger(resolved.drainDelayMs) || resolved.drainDelayMs < 0) {
    throw new TypeError(`createNode: drainDelayMs must be a non-negative integer`);
  }
  if (!Number.isInteger(resolved.streamPartitions) || resolved.streamPartitions < 1 || resolved.streamPartitions > MAX_PARTITIONS) {
    throw new TypeError(`createNode: streamPartitions must be an integer in 1..${MAX_PARTITIONS}, got ${JSON.stringify(resolved.streamPartitions)}`);
  }
  if (resolved.redisUrl !== undefined && resolved.redisClusterUrls.length > 0) {
    throw new TypeError('createNode: set redisUrl (one Redis) or redisClusterUrls (a Redis Cluster), not both');
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(resolved.keyPrefix)) {
    throw new TypeError(`createNode: keyPrefix must be 1 to 64 letters, digits, '_', '.' or '-', got ${JSON.stringify(resolved.keyPrefix)}`);
  }
  if (resolved.headersTimeoutMs > resolved.requestTimeoutMs) {
    throw new TypeError(`createNode: headersTimeoutMs (${resolved.headersTimeoutMs}) must not exceed requestTimeoutMs (${resolved.requestTimeoutMs})`);
  }
  if (resolved.publishApiKey !== undefined && resolved.publishApiKey.length < 16) {
    throw new TypeError('createNode: publishApiKey must be at least 16 characters');
  }
  return resolved;
}

/** Why: a quiet client's position lags by up to this; it must stay small against the window. */
export function effectivePositionIntervalMs(options: Pick<ResolvedNodeOptions, 'positionIntervalMs' | 'replayWindowMs'>): number {
  return Math.max(50, Math.min(options.positionIntervalMs, Math.floor(options.replayWindowMs / 10)));
}

/**
 * Oldest position a replay starts from, as an age in ms: the window, plus the lag of watermarks and
 * of the stream heartbeats that carry a quiet node's reader forward.
 */
export function maxPositionAgeMs(options: Pick<ResolvedNodeOptions, 'positionIntervalMs' | 'replayWindowMs'>): number {
  return options.replayWindowMs + 2 * effectivePositionIntervalMs(options);
}

function resolveAdminUi(options: AdminUiOptions): Required<AdminUiOptions> {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as AdminUiOptions;
  const resolved = { ...adminUiDefaults, ...defined };
  if (typeof resolved.username !== 'string' || resolved.username.length === 0) throw new TypeError('createNode: adminUi.username must be a non-empty string');
  if (typeof resolved.password !== 'string' || resolved.password.length < 12) throw new TypeError('createNode: adminUi.password must be at least 12 characters');
  if (!Number.isInteger(resolved.loginFailuresPerIpPerMinute) || resolved.loginFailuresPerIpPerMinute <= 0) {
    throw new TypeError(`createNode: adminUi.loginFailuresPerIpPerMinute must be a positive integer, got ${JSON.stringify(resolved.loginFailuresPerIpPerMinute)}`);
  }
  return resolved;
}

function resolveRateLimits(options: RateLimitOptions | false | undefined): Required<RateLimitOptions> | false {
  if (options === false) return false;
  const defined = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined));
  const resolved = { ...rateLimitDefaults, ...defined };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0) throw new TypeError(`createNode: rateLimits.${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return resolved;
}
