import { affinityPartition, type Catalog, type PartitionAffinity, type CatalogDefinition, type ServiceName } from '@roomwire/shared';

/** A token, or a function called on every (re)connect to get a fresh one. */
export type TokenSource = string | (() => string | Promise<string>);

/** Options of {@link createClient}. */
export interface ClientOptions<C extends CatalogDefinition = Catalog> {
  /** Base URL of a node or of the load balancer, e.g. `https://rt.example.com`. */
  url: string;
  /** The client token; a function is called again on every reconnect, and ahead of each token's expiry (see `tokenRefreshRatio`). */
  token: TokenSource;
  /**
   * With a token function: after this share of a token's lifetime (`exp − iat`), the client calls the
   * function and hands the new token to the node (`rw:refresh`) without reconnecting; `false` turns it
   * off (the node then closes the connection at `exp` and the client reconnects). @default 0.8
   */
  tokenRefreshRatio?: number | false;
  /** Services to subscribe to from the start. @default [] */
  services?: NoInfer<ServiceName<C>>[];
  /** Socket.IO path on the server. @default '/socket.io' */
  path?: string;
  /** Transports, in the order tried. @default ['websocket', 'polling'] */
  transports?: ('websocket' | 'polling')[];
  /** First reconnect delay (before jitter), in ms. @default 1000 */
  minReconnectDelayMs?: number;
  /**
   * Longest reconnect delay, in ms. Kept far below the replay window: a client must be back before
   * its window closes, or it can only resync. @default 30000
   */
  maxReconnectDelayMs?: number;
  /** Jitter of reconnect delays, from 0 (none) to 1 (each delay ±100 %). @default 0.5 */
  randomizationFactor?: number;
  /**
   * How long a connection attempt may take to open before it is given up and retried, in ms; doubled
   * for each failed attempt in a row, up to 20000. @default 3000
   */
  connectTimeoutMs?: number;
  /**
   * How long a `subscribe()` or `unsubscribe()` waits for the server's confirmation while connected, in
   * ms; the clock stops while the client is offline and starts again, from zero, on the next connect.
   * Past it the promise rejects with `RW_ERR_TIMEOUT` and the client keeps trying. @default 10000
   */
  requestTimeoutMs?: number;
  /**
   * How long the connection may stay silent before the client takes its node for gone (frozen,
   * partitioned away) and reconnects, in ms. A Roomwire node sends every connection something at least
   * every `HEARTBEAT_MS` (2 500 by default; keep this above twice the node's). `false` leaves it to
   * Engine.IO's ping timeout (the node's `pingIntervalMs + pingTimeoutMs`, 45 s by default). @default 6000
   */
  livenessTimeoutMs?: number | false;
  /** Number of most recent events the latency percentiles are computed over, in events. @default 1000 */
  latencySampleSize?: number;
  /** In browsers, share one connection among the tabs of this origin (one leader tab holds it). @default true */
  shareConnection?: boolean;
  /**
   * Tabs with the same key share a connection, and the leader's token. Set a per-user key when
   * several users can be signed in on one origin. @default the url and the path
   */
  shareKey?: string;
  /**
   * Partition affinity: the org the token is for and the deployment's `STREAM_PARTITIONS`. Every
   * handshake then carries `rw_partition=<partitionOfOrg(org, partitions)>`, so that a load balancer
   * with partition affinity (infra/README.md, "Partition affinity") routes all clients of a partition
   * to one node, which then reads only its partitions. A routing hint only: the node ignores it and
   * authorizes by the token. The app passes it (the client cannot read the token); its token endpoint
   * can return it (`affinityFor` of `@roomwire/server`). @default undefined (no parameter)
   */
  affinity?: PartitionAffinity;
  /** In browsers, expose `window.__realtimeMetrics()`. @default true, except in production builds */
  exposeGlobal?: boolean;
}

/** Why: bundlers replace `process.env.NODE_ENV`; a page without a bundler has no `process` at all. */
export function isProductionBuild(): boolean {
  try {
    return process.env.NODE_ENV === 'production';
  } catch {
    return false;
  }
}

/** Defaults of {@link ClientOptions}, merged once. */
export const clientDefaults = {
  services: [] as string[],
  path: '/socket.io',
  transports: ['websocket', 'polling'] as ('websocket' | 'polling')[],
  minReconnectDelayMs: 1000,
  maxReconnectDelayMs: 30_000,
  randomizationFactor: 0.5,
  connectTimeoutMs: 3000,
  requestTimeoutMs: 10_000,
  latencySampleSize: 1000,
  shareConnection: true,
  shareKey: undefined as string | undefined,
  affinity: undefined as PartitionAffinity | undefined,
  exposeGlobal: !isProductionBuild(),
  tokenRefreshRatio: 0.8 as number | false,
  livenessTimeoutMs: 6000 as number | false,
};

/** Options after defaults are merged. */
export type ResolvedClientOptions = typeof clientDefaults & { url: string; token: TokenSource };

/** Merges the defaults into `options`; throws a `TypeError` on a bad option. */
export function resolveClientOptions<C extends CatalogDefinition>(options: ClientOptions<C>): ResolvedClientOptions {
  if (typeof options.url !== 'string' || options.url.length === 0) throw new TypeError('createClient: url is required');
  if (typeof options.token !== 'string' && typeof options.token !== 'function') {
    throw new TypeError('createClient: token must be a string or a function returning one');
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = { ...clientDefaults, ...defined } as ResolvedClientOptions;
  resolved.services = [...resolved.services];
  if (resolved.randomizationFactor < 0 || resolved.randomizationFactor > 1) {
    throw new TypeError('createClient: randomizationFactor must be between 0 and 1');
  }
  if (!(resolved.minReconnectDelayMs > 0) || resolved.maxReconnectDelayMs < resolved.minReconnectDelayMs) {
    throw new TypeError('createClient: need 0 < minReconnectDelayMs <= maxReconnectDelayMs');
  }
  if (resolved.tokenRefreshRatio !== false && !(resolved.tokenRefreshRatio > 0 && resolved.tokenRefreshRatio < 1)) {
    throw new TypeError('createClient: tokenRefreshRatio must be false or a number between 0 and 1 (exclusive)');
  }
  if (resolved.livenessTimeoutMs !== false && !(Number.isInteger(resolved.livenessTimeoutMs) && resolved.livenessTimeoutMs >= 1000)) {
    throw new TypeError('createClient: livenessTimeoutMs must be false or an integer of milliseconds, at least 1000');
  }
  for (const key of ['connectTimeoutMs', 'requestTimeoutMs', 'latencySampleSize'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] <= 0) throw new TypeError(`createClient: ${key} must be a positive integer`);
  }
  if ((options as { affinityOrg?: unknown }).affinityOrg !== undefined) {
    throw new TypeError('createClient: affinityOrg was replaced by affinity: { org, partitions } (routing by org name does not cut reads; see infra/README.md, "Partition affinity")');
  }
  if (resolved.affinity !== undefined) {
    try {
      affinityPartition(resolved.affinity);
    } catch (err) {
      throw new TypeError(`createClient: ${(err as Error).message}`);
    }
    resolved.affinity = { org: resolved.affinity.org, partitions: resolved.affinity.partitions };
  }
  return resolved;
}
