import { createContext, createElement, useContext, useMemo, type ReactNode } from 'react';
import type { Catalog, CatalogDefinition } from '@roomwire/shared';
import type { RoomwireClient } from '../create-client';

/** What the provider shares: the client, and counts of the hooks using each service. */
export interface RealtimeContextValue {
  client: RoomwireClient<CatalogDefinition>;
  /** A hook needs `service`: the first one subscribes it, unless the client already wanted it. */
  acquire(service: string): void;
  /** A hook no longer needs `service`: the last one unsubscribes what the hooks subscribed. */
  release(service: string): void;
}

const RealtimeContext = createContext<RealtimeContextValue | null>(null);

/** Props of {@link RealtimeProvider}. */
export interface RealtimeProviderProps<C extends CatalogDefinition = Catalog> {
  /** The client the hooks below use; the app creates it (once) and closes it. */
  client: RoomwireClient<C>;
  children?: ReactNode;
}

/**
 * Makes a client available to {@link useRealtimeEvent} and {@link useRealtimeStatus} below it.
 *
 * @example
 * const client = createClient({ url, token: fetchToken });
 * createRoot(el).render(createElement(RealtimeProvider, { client }, createElement(App)));
 */
export function RealtimeProvider<C extends CatalogDefinition = Catalog>(props: RealtimeProviderProps<C>): ReactNode {
  const { client } = props;
  const value = useMemo<RealtimeContextValue>(() => {
    const untyped = client as unknown as RoomwireClient<CatalogDefinition>;
    const users = new Map<string, number>();
    const owned = new Set<string>();
    return {
      client: untyped,
      acquire(service) {
        const count = (users.get(service) ?? 0) + 1;
        users.set(service, count);
        if (count === 1 && !untyped.services.includes(service)) {
          owned.add(service);
          untyped.subscribe(service).catch(() => undefined);
        }
      },
      release(service) {
        const count = (users.get(service) ?? 1) - 1;
        if (count > 0) {
          users.set(service, count);
          return;
        }
        users.delete(service);
        if (owned.delete(service)) untyped.unsubscribe(service).catch(() => undefined);
      },
    };
  }, [client]);
  return createElement(RealtimeContext.Provider, { value }, props.children);
}

/** The context of the nearest {@link RealtimeProvider}; throws outside one (a programmer error). */
export function useRealtimeContext(): RealtimeContextValue {
  const value = useContext(RealtimeContext);
  if (value === null) throw new TypeError('Roomwire hooks must be used inside a <RealtimeProvider client={…}>');
  return value;
}

/**
 * The client of the nearest {@link RealtimeProvider}.
 *
 * @example
 * const client = useRealtimeClient();
 */
export function useRealtimeClient<C extends CatalogDefinition = Catalog>(): RoomwireClient<C> {
  return useRealtimeContext().client as unknown as RoomwireClient<C>;
}
