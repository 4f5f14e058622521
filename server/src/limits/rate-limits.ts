import { createHash } from 'node:crypto';
import { RoomwireError } from '@roomwire/shared';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RedisClient } from '../stream/redis-client';

/** Rate limits; each is a number of requests per window. */
export interface RateLimitOptions {
  /** Handshakes per client IP per 10 s, shared across the cluster (NATs put many users on one IP). @default 1000 */
  handshakesPerIpPer10s?: number;
  /** Requests (subscribe, unsubscribe, resume, …) per socket per second. @default 20 */
  clientEventsPerSocketPerSecond?: number;
  /** HTTP publishes per API key per second, shared across the cluster. @default 5000 */
  publishesPerKeyPerSecond?: number;
  /** Events a client may send (`rw:publish`) per connection per second, on average (token bucket rate). @default 10 */
  clientPublishesPerSocketPerSecond?: number;
  /** Events a client may send at once after a quiet spell, per connection (token bucket size). @default 20 */
  clientPublishBurstPerSocket?: number;
}

/** Defaults of {@link RateLimitOptions}. */
export const rateLimitDefaults: Required<RateLimitOptions> = {
  handshakesPerIpPer10s: 1000,
  clientEventsPerSocketPerSecond: 20,
  publishesPerKeyPerSecond: 5000,
  clientPublishesPerSocketPerSecond: 10,
  clientPublishBurstPerSocket: 20,
};

/** Which limit refused a request (a metrics label). */
export type LimitName = 'handshake' | 'client_event' | 'publish' | 'admin_login' | 'client_publish';

/** The node's rate limiters. Each `take…` resolves, or rejects with `RW_ERR_RATE_LIMITED`. */
export interface RateLimits {
  takeHandshake(ip: string): Promise<void>;
  takeClientEvent(socketId: string): Promise<void>;
  /** Takes `points` (one per event; a batch takes one per event it holds). @default 1 */
  takePublish(apiKey: string, points?: number): Promise<void>;
  /** Forgets a socket's counter. */
  forgetSocket(socketId: string): void;
}

/** Where the limiters shared by the cluster keep their counters. */
export interface LimiterStore {
  /** Redis of the cluster; without it the counters are this node's own. */
  redis: RedisClient | undefined;
  /** Prefix of the counters' keys in Redis. */
  keyPrefix: string;
}

/**
 * A limiter of `points` per `durationS` per key, shared across the cluster through Redis
 * (rate-limiter-flexible), with an in-memory limiter as insurance while Redis is away, so an outage
 * neither blocks every client nor lifts the limit. Without Redis it is the in-memory limiter alone.
 */
export function createSharedLimiter(store: LimiterStore, name: string, points: number, durationS: number): RateLimiterAbstract {
  const insurance = new RateLimiterMemory({ points, duration: durationS, keyPrefix: name });
  if (!store.redis) return insurance;
  return new RateLimiterRedis({
    storeClient: store.redis,
    useRedisPackage: true,
    keyPrefix: `${store.keyPrefix}${name}`,
    points,
    duration: durationS,
    insuranceLimiter: insurance,
  });
}

/**
 * Takes a point of `key` from `limiter`: resolves, or calls `onLimited` and rejects with
 * `RW_ERR_RATE_LIMITED` ("too many {what}; retry in N s", `retryAfterSeconds` in its details). A store
 * error with no insurance lets the request through.
 */
export async function takePoint(limiter: RateLimiterAbstract, key: string, what: string, onLimited: () => void, points = 1): Promise<void> {
  try {
    await consumeWithin(limiter, key, STORE_TIMEOUT_MS, points);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) return;
    onLimited();
    const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw new RoomwireError('RW_ERR_RATE_LIMITED', `too many ${what}; retry in ${seconds} s`, { retryAfterSeconds: seconds });
  }
}

/**
 * Limits shared across the cluster live in Redis ({@link createSharedLimiter}). Per-socket limits are
 * local: a socket lives on one node.
 */
export function createRateLimits(options: Required<RateLimitOptions>, deps: LimiterStore & { onLimited(limit: LimitName): void }): RateLimits {
  const handshakes = createSharedLimiter(deps, 'handshake', options.handshakesPerIpPer10s, 10);
  const publishes = createSharedLimiter(deps, 'publish', options.publishesPerKeyPerSecond, 1);
  const clientEvents = new RateLimiterMemory({ points: options.clientEventsPerSocketPerSecond, duration: 1 });
  const take = (limiter: RateLimiterAbstract, key: string, limit: LimitName, what: string, points = 1): Promise<void> =>
    takePoint(limiter, key, what, () => deps.onLimited(limit), points);
  return {
    takeHandshake: (ip) => take(handshakes, ip, 'handshake', 'connections from this address'),
    takeClientEvent: (socketId) => take(clientEvents, socketId, 'client_event', 'requests on this connection'),
    // The key itself never reaches Redis: only its digest names the counter.
    takePublish: (apiKey, points = 1) => take(publishes, createHash('sha256').update(apiKey).digest('base64url').slice(0, 22), 'publish', 'publishes with this key', points),
    forgetSocket: (socketId) => void clientEvents.delete(socketId),
  };
}

/** Longest wait for a counter in Redis before the in-memory insurance limiter decides instead. */
const STORE_TIMEOUT_MS = 1000;

/**
 * Consumes a point; when the limiter keeps its counters in Redis and Redis has not answered within
 * `timeoutMs`, its in-memory insurance decides. Why: rate-limiter-flexible falls back to the insurance
 * only when the store reports an error, and a Redis that does not answer at all (packets dropped)
 * reports none: every handshake and HTTP publish would wait as long as the outage.
 */
async function consumeWithin(limiter: RateLimiterAbstract, key: string, timeoutMs: number, points: number): Promise<void> {
  const insurance = (limiter as { insuranceLimiter?: RateLimiterAbstract }).insuranceLimiter;
  if (!insurance) {
    await limiter.consume(key, points);
    return;
  }
  const pending = limiter.consume(key, points);
  // Decided by the insurance after the deadline: a late answer has no one waiting for it.
  pending.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'late');
  });
  try {
    if ((await Promise.race([pending, late])) === 'late') await insurance.consume(key, points);
  } finally {
    clearTimeout(timer);
  }
}
