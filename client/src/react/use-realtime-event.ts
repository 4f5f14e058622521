import { useEffect, useRef } from 'react';
import type { Catalog, CatalogDefinition, EventData, EventType, ServiceName, TypedEnvelope } from '@roomwire/shared';
import type { RoomwireClient } from '../create-client';
import { useRealtimeContext } from './realtime-provider';

/**
 * Calls `handler` for each event of one type while the component is mounted, subscribing the
 * service if nothing else has; on unmount the handler is removed, and the service unsubscribed when
 * no other hook (nor the client's own options) wants it. The handler may change on every render
 * without resubscribing.
 *
 * @example
 * useRealtimeEvent('billing', 'invoice.paid', (data) => setPaid((n) => n + data.amountCents));
 */
export function useRealtimeEvent<C extends CatalogDefinition = Catalog, S extends ServiceName<C> = ServiceName<C>, T extends EventType<C, S> = EventType<C, S>>(
  service: S,
  type: T,
  handler: (data: EventData<C, S, T>, envelope: TypedEnvelope<C, S, T>) => void,
): void {
  const context = useRealtimeContext();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    const client = context.client as unknown as RoomwireClient<C>;
    const off = client.on(service, type, (data, envelope) => latest.current(data, envelope));
    context.acquire(service);
    return () => {
      off();
      context.release(service);
    };
  }, [context, service, type]);
}
