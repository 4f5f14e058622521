import type { Catalog, CatalogDefinition, ServiceName } from '@roomwire/shared';

/** A token, or a function called on every (re)connect to get a fresh one. */
export type TokenSource = string | (() => string | Promise<string>);

/** Options of {@link createClient}. */
export interface ClientOptions<C extends CatalogDefinition = Catalog> {
  /** Base URL of a node or of the load balancer, e.g. `https://rt.example.com`. */
  url: string;
  /** The client token; a function is called again on every reconnect. */
  token: TokenSource;
  /** Services to subscribe to from the start. @default [] */
  services?: NoInfer<ServiceName<C>>[];
  /** Socket.IO path on the server. @default '/socket.io' */
  path?: string;
  /** Transports, in the order tried. @default ['websocket', 'polling'] */
  transports?: ('websocket' | 'polling')[];
  /** First reconnect delay, in ms. @default 1000 */
  minReconnectDelayMs?: number;
  /** Longest reconnect delay, in ms; far below the replay window, so a client comes back in time. @default 30000 */
  maxReconnectDelayMs?: number;
  /** Jitter of reconnect delays, from 0 (none) to 1. @default 0.5 */
  randomizationFactor?: number;
  /** How long delivered ids are remembered to drop duplicates, in ms (the replay window). @default 300000 */
  dedupTtlMs?: number;
  /** Most delivered ids remembered. @default 10000 */
  dedupMaxEntries?: number;
}

/** Defaults of {@link ClientOptions}, merged once. */
export const clientDefaults = {
  services: [] as string[],
  path: '/socket.io',
  transports: ['websocket', 'polling'] as ('websocket' | 'polling')[],
  minReconnectDelayMs: 1000,
  maxReconnectDelayMs: 30_000,
  randomizationFactor: 0.5,
  dedupTtlMs: 300_000,
  dedupMaxEntries: 10_000,
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
  return resolved;
}
