import type { CatalogDefinition, EventData, EventType, ServiceName, TypedEnvelope } from '@roomwire/shared';
import type { RoomwireClient } from '../create-client';
import { useRealtimeClient } from './realtime-provider';
import { useRealtimeEvent } from './use-realtime-event';
import { useRealtimeStatus, type RealtimeStatus } from './use-realtime-status';
import { useHistory, type HistoryState } from './use-history';
import { usePresence, type PresenceState } from './use-presence';

/** The hooks, typed from one catalog. */
export interface RealtimeHooks<C extends CatalogDefinition> {
  useRealtimeEvent<S extends ServiceName<C>, T extends EventType<C, S>>(
    service: S,
    type: T,
    handler: (data: EventData<C, S, T>, envelope: TypedEnvelope<C, S, T>) => void,
  ): void;
  useRealtimeStatus(refreshMs?: number): RealtimeStatus;
  useRealtimeClient(): RoomwireClient<C>;
  usePresence(service: ServiceName<C>): PresenceState;
  useHistory(service: ServiceName<C>, options?: { limit?: number }): HistoryState;
}

/**
 * The hooks typed from your own catalog (the plain exports are typed from the example catalog).
 *
 * @example
 * export const { useRealtimeEvent } = createRealtimeHooks<typeof myCatalog>();
 */
export function createRealtimeHooks<C extends CatalogDefinition>(): RealtimeHooks<C> {
  return {
    useRealtimeEvent: useRealtimeEvent as RealtimeHooks<C>['useRealtimeEvent'],
    useRealtimeStatus,
    useRealtimeClient: () => useRealtimeClient<C>(),
    usePresence,
    useHistory,
  };
}
