import { useEffect, useState } from 'react';
import type { ConnectionState } from '../connection-state';
import type { ClientMetrics } from '../create-client';
import { useRealtimeContext } from './realtime-provider';

/** What {@link useRealtimeStatus} returns. */
export interface RealtimeStatus {
  state: ConnectionState;
  metrics: ClientMetrics;
}

/**
 * The connection state (re-rendering on every change) and the health metrics (refreshed every
 * `refreshMs` ms, and on every state change).
 *
 * @example
 * const { state, metrics } = useRealtimeStatus();
 * return state === 'connected' ? null : createElement('p', null, `offline (${metrics.reconnectAttempts} attempts)`);
 */
export function useRealtimeStatus(refreshMs = 1000): RealtimeStatus {
  const { client } = useRealtimeContext();
  const [status, setStatus] = useState<RealtimeStatus>(() => ({ state: client.state, metrics: client.metrics() }));
  useEffect(() => {
    const update = (): void => setStatus({ state: client.state, metrics: client.metrics() });
    update();
    const off = client.onState(update);
    const timer = setInterval(update, refreshMs);
    return () => {
      off();
      clearInterval(timer);
    };
  }, [client, refreshMs]);
  return status;
}
