import type { RoomwireError } from '@roomwire/shared';
import { cancelledError } from './request-errors';

/** What a client asks of the server for one service. */
export type RequestKind = 'subscribe' | 'unsubscribe';

/** One `subscribe()` or `unsubscribe()` call waiting for the server. */
export interface PendingRequest {
  readonly promise: Promise<void>;
  /** Settles the call (once; later calls do nothing). */
  resolve(): void;
  reject(error: RoomwireError): void;
}

/** The calls of one client that the server has not confirmed yet. */
export interface PendingRequests {
  /**
   * A new call. A call of the other kind for the same service that is still waiting is rejected with
   * `RW_ERR_CANCELLED`: only the latest wish for a service is sent, so the older one will never be
   * confirmed.
   */
  open(service: string, kind: RequestKind): PendingRequest;
  /** Rejects the waiting calls of `kind` for `service` (e.g. a subscribe the server refused). */
  reject(service: string, kind: RequestKind, error: RoomwireError): void;
  /** Rejects every waiting call (the client was closed). */
  rejectAll(error: RoomwireError): void;
}

/**
 * Keeps the promises that `subscribe()` and `unsubscribe()` returned until each is settled exactly once.
 *
 * @example
 * const requests = createPendingRequests();
 * const call = requests.open('tickets', 'subscribe');
 * hub.want(desired).then((held) => (held.has('tickets') ? call.resolve() : call.reject(err)));
 * return call.promise;
 */
export function createPendingRequests(): PendingRequests {
  const waiting = new Set<{ service: string; kind: RequestKind; call: PendingRequest }>();
  return {
    open(service, kind) {
      for (const other of [...waiting]) {
        if (other.service === service && other.kind !== kind) other.call.reject(cancelledError(`${other.kind}('${service}')`, `${kind}('${service}')`));
      }
      let settle!: (error?: RoomwireError) => void;
      const promise = new Promise<void>((resolve, reject) => {
        settle = (error) => {
          if (!waiting.delete(entry)) return;
          if (error) reject(error);
          else resolve();
        };
      });
      const call: PendingRequest = { promise, resolve: () => settle(), reject: (error) => settle(error) };
      const entry = { service, kind, call };
      waiting.add(entry);
      return call;
    },
    reject(service, kind, error) {
      for (const entry of [...waiting]) if (entry.service === service && entry.kind === kind) entry.call.reject(error);
    },
    rejectAll(error) {
      for (const entry of [...waiting]) entry.call.reject(error);
    },
  };
}
