/** Listener shape accepted by {@link EmitterLike}. */
export type Listener = (...args: unknown[]) => void;

/**
 * Minimal event-emitter surface: Node EventEmitter, net.Socket and typed Socket.IO sockets all fit
 * (`never` parameters let emitters with narrowed event names through; method params are bivariant).
 */
export interface EmitterLike {
  once(event: string, listener: Listener): unknown;
  off?(event: never, listener: never): unknown;
  removeListener?(event: never, listener: never): unknown;
}

type Unsubscribe = (event: string, listener: Listener) => unknown;

/** A promise together with the functions that settle it. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/**
 * How long a wait lasts by default before it fails. A wait ends as soon as its condition holds, so the
 * bound only decides how long a failing test takes to say so; on a starved 2-core CI machine (another
 * jest worker, a CPU hog) what takes 50 ms when quiet can take seconds. A product's own time bound is
 * asserted with an explicit `timeoutMs` (or a measured duration), never with this default.
 */
export const DEFAULT_WAIT_MS = 15_000;

/** Options for {@link waitUntil}; `what` names the awaited condition in the timeout error. */
export interface WaitUntilOptions {
  what: string;
  /** @default {@link DEFAULT_WAIT_MS} */
  timeoutMs?: number;
  /** @default 10 */
  intervalMs?: number;
}

/** Creates a promise that is settled from outside. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function timeoutError(ms: number, what: string): Error {
  return new Error(`timed out after ${ms}ms waiting for ${what}`);
}

/** Resolves with the first argument of the next `event`, or rejects after `timeoutMs` ({@link DEFAULT_WAIT_MS}). */
export function waitFor<T = unknown>(
  emitter: EmitterLike,
  event: string,
  timeoutMs = DEFAULT_WAIT_MS,
  what?: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener: Listener = (first) => {
      clearTimeout(timer);
      resolve(first as T);
    };
    const timer = setTimeout(() => {
      const off = (emitter.off ?? emitter.removeListener) as Unsubscribe | undefined;
      off?.call(emitter, event, listener);
      reject(timeoutError(timeoutMs, what ?? event));
    }, timeoutMs);
    emitter.once(event, listener);
  });
}

/** Polls `predicate` every `intervalMs` (10) until it is true, or rejects after `timeoutMs` ({@link DEFAULT_WAIT_MS}). */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  opts: WaitUntilOptions,
): Promise<void> {
  const { what, timeoutMs = DEFAULT_WAIT_MS, intervalMs = 10 } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err; // a throwing predicate counts as "not yet"; reported on timeout
    }
    if (Date.now() >= deadline) {
      const err = timeoutError(timeoutMs, what);
      if (lastError !== undefined) err.message += ` (last error: ${String(lastError)})`;
      throw err;
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}
