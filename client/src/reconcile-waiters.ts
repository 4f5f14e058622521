import type { RoomwireError } from '@roomwire/shared';
import { timeoutError } from './request-errors';

/** One caller waiting for a reconcile pass; opaque outside this file. */
export interface ReconcileWaiter {
  readonly resolve: (held: ReadonlySet<string>) => void;
  readonly reject: (error: RoomwireError) => void;
  clock: ReturnType<typeof setTimeout> | undefined;
}

/** The callers of one connection's `reconcile()`, each settled exactly once. */
export interface ReconcileWaiters {
  /** A new caller: settled by the first pass that takes it, by its clock, or by {@link rejectAll}. */
  wait(): Promise<ReadonlySet<string>>;
  /** Hands every caller no pass has taken yet to the pass that starts now (it reads the wanted services after them). */
  take(): ReconcileWaiter[];
  /** Callers of a pass that was lost with its connection: the next pass takes them again. */
  putBack(waiters: readonly ReconcileWaiter[]): void;
  resolve(waiters: readonly ReconcileWaiter[], held: ReadonlySet<string>): void;
  reject(waiters: readonly ReconcileWaiter[], error: RoomwireError): void;
  /** Settles every caller, taken or not: the connection is closed or stopped for good. */
  rejectAll(error: RoomwireError): void;
  /** The socket connected (every clock runs) or disconnected (every clock stops, to start from zero again). */
  setConnected(connected: boolean): void;
}

/**
 * Keeps the callers waiting for a connection to catch up with its wanted services. Each caller has a
 * clock of `timeoutMs` that runs only while the socket is connected: offline, a caller waits for the
 * next connection (whose sync answers it) however long that takes; connected, a server that does not
 * answer within `timeoutMs` makes it reject with `RW_ERR_TIMEOUT` (the pass itself goes on).
 *
 * @example
 * const waiters = createReconcileWaiters(10_000);
 * const held = waiters.wait(); // …later, in a pass: const taken = waiters.take(); … waiters.resolve(taken, confirmed);
 */
export function createReconcileWaiters(timeoutMs: number): ReconcileWaiters {
  const open = new Set<ReconcileWaiter>();
  let untaken = new Set<ReconcileWaiter>();
  let connected = false;

  /** Removes `waiter`; false if it was settled already. */
  const settle = (waiter: ReconcileWaiter): boolean => {
    if (!open.delete(waiter)) return false;
    clearTimeout(waiter.clock);
    waiter.clock = undefined;
    untaken.delete(waiter);
    return true;
  };
  const startClock = (waiter: ReconcileWaiter): void => {
    waiter.clock ??= setTimeout(() => {
      if (settle(waiter)) waiter.reject(timeoutError(timeoutMs));
    }, timeoutMs);
  };

  return {
    wait() {
      return new Promise((resolve, reject) => {
        const waiter: ReconcileWaiter = { resolve, reject, clock: undefined };
        open.add(waiter);
        untaken.add(waiter);
        if (connected) startClock(waiter);
      });
    },
    take() {
      const taken = [...untaken];
      untaken = new Set();
      return taken;
    },
    putBack(waiters) {
      for (const waiter of waiters) if (open.has(waiter)) untaken.add(waiter);
    },
    resolve(waiters, held) {
      for (const waiter of waiters) if (settle(waiter)) waiter.resolve(new Set(held));
    },
    reject(waiters, error) {
      for (const waiter of waiters) if (settle(waiter)) waiter.reject(error);
    },
    rejectAll(error) {
      for (const waiter of [...open]) if (settle(waiter)) waiter.reject(error);
    },
    setConnected(value) {
      connected = value;
      for (const waiter of open) {
        if (value) {
          startClock(waiter);
        } else {
          clearTimeout(waiter.clock);
          waiter.clock = undefined;
        }
      }
    },
  };
}
