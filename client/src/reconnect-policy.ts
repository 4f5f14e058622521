import type { Manager, ManagerOptions } from 'socket.io-client';
import type { ResolvedClientOptions } from './client-options';

/**
 * The reconnect policy, handed to socket.io-client's Manager: exponential backoff from
 * `minReconnectDelayMs` doubling up to `maxReconnectDelayMs`, each delay jittered by
 * ±`randomizationFactor`, and never giving up. The cap is far below the replay window (30 s against
 * 5 min by default) because a client that comes back after its window has closed can only resync.
 *
 * @example
 * io(url, { ...reconnectOptions(resolveClientOptions({ url, token })) });
 */
export function reconnectOptions(
  opts: Pick<ResolvedClientOptions, 'minReconnectDelayMs' | 'maxReconnectDelayMs' | 'randomizationFactor' | 'connectTimeoutMs'>,
): Pick<ManagerOptions, 'reconnection' | 'reconnectionAttempts' | 'reconnectionDelay' | 'reconnectionDelayMax' | 'randomizationFactor' | 'timeout'> {
  return {
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: opts.minReconnectDelayMs,
    reconnectionDelayMax: opts.maxReconnectDelayMs,
    randomizationFactor: opts.randomizationFactor,
    timeout: opts.connectTimeoutMs,
  };
}

/** The longest a connection attempt may take to open: Socket.IO's own default for every attempt. */
export const MAX_CONNECT_TIMEOUT_MS = 20_000;

/**
 * How long the `attempt`-th reconnect attempt in a row may take to open (the Manager's `timeout`):
 * `connectTimeoutMs` for the first, doubled for each failed attempt before it, at most
 * {@link MAX_CONNECT_TIMEOUT_MS}. Why: an attempt that reaches a frozen node (a load balancer that has
 * not yet marked it down) gets no answer at all, and must be given up in seconds, not 20; a network
 * too slow for the short deadline still gets in on a later attempt.
 *
 * @example
 * connectTimeoutFor(3000, 1); // 3000
 * connectTimeoutFor(3000, 3); // 12000
 */
export function connectTimeoutFor(connectTimeoutMs: number, attempt: number): number {
  return Math.min(MAX_CONNECT_TIMEOUT_MS, connectTimeoutMs * 2 ** Math.min(Math.max(0, attempt - 1), 16));
}

/** The Manager's own backoff (socket.io-client's `backo2`); private in its typings, stable since v1. */
export interface ManagerBackoff {
  attempts: number;
  duration(): number;
  reset(): void;
}

/** The backoff object the Manager's reconnect loop uses. */
export function managerBackoff(manager: Manager): ManagerBackoff {
  return (manager as unknown as { backoff: ManagerBackoff }).backoff;
}

/**
 * Delay before retrying a handshake the server refused (its middleware answered `connect_error`).
 * socket.io-client does not retry those by itself, and the Manager resets its backoff twice on the
 * way (the transport opened, then the namespace closed it), so its loop would retry at the minimum
 * delay forever. We carry the count of consecutive refusals and let the Manager's own backoff object
 * compute the delay from it: one policy, one set of options, no second backoff.
 */
export function refusedHandshakeDelayMs(manager: Manager, consecutiveRefusals: number): number {
  const backoff = managerBackoff(manager);
  backoff.attempts = Math.min(Math.max(0, consecutiveRefusals - 1), 30);
  return backoff.duration();
}

/**
 * Delay before trying a request again that the server refused with a retryable code (rate limited,
 * Redis unavailable) while the connection is up: the delay of the `consecutiveFailures`-th attempt
 * of the same policy, computed by the Manager's own backoff object, which is left as it was (a
 * connected Manager is not in its reconnect loop, but must start that loop afresh).
 */
export function retryDelayMs(manager: Manager, consecutiveFailures: number): number {
  const backoff = managerBackoff(manager);
  const attempts = backoff.attempts;
  backoff.attempts = Math.min(Math.max(0, consecutiveFailures - 1), 30);
  const delay = backoff.duration();
  backoff.attempts = attempts;
  return delay;
}

/** Why: a browser back online, or a tab shown again, should not wait out a long backoff. */
export function isWakeEvent(event: Event, doc: { visibilityState?: string } | undefined): boolean {
  return event.type === 'online' || (event.type === 'visibilitychange' && doc?.visibilityState === 'visible');
}

/**
 * Calls `onWake` when the browser fires `online` or the page becomes visible again; does nothing
 * outside browsers. Returns a function that stops listening.
 *
 * @example
 * const stop = watchWakeEvents(() => retryNow());
 */
export function watchWakeEvents(
  onWake: () => void,
  target: EventTarget | undefined = typeof window === 'undefined' ? undefined : window,
  doc: (EventTarget & { visibilityState?: string }) | undefined = typeof document === 'undefined' ? undefined : document,
): () => void {
  const listener = (event: Event): void => {
    if (isWakeEvent(event, doc)) onWake();
  };
  target?.addEventListener('online', listener);
  doc?.addEventListener('visibilitychange', listener);
  return () => {
    target?.removeEventListener('online', listener);
    doc?.removeEventListener('visibilitychange', listener);
  };
}
