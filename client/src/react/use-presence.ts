import { useEffect, useState } from 'react';
import { RoomwireError } from '@roomwire/shared';
import { applyPresenceChange, type PresenceList } from '../presence-list';
import { useRealtimeContext } from './realtime-provider';

/** What {@link usePresence} returns. */
export interface PresenceState {
  /**
   * The latest list of members (`{ userId, connections }`, with the totals `users`, `connections` and
   * `countsOnly`, as `client.presence` resolves it); `null` until the first answer.
   */
  presence: PresenceList | null;
  /** Why the last read failed (e.g. `RW_ERR_FORBIDDEN` for a token without `sub`); `null` after a success. */
  error: RoomwireError | null;
}

/** How long after a change the snapshot is read again for exact counts, in ms. */
const REFRESH_AFTER_CHANGE_MS = 250;

/**
 * Who is present in a service, kept up to date while mounted: read once, changed on each join and
 * leave (then read again for exact counts), and read again after every reconnect (changes are volatile).
 * Subscribes the service while mounted, like `useRealtimeEvent`. Needs a token with `sub`.
 *
 * @example
 * const { presence } = usePresence('tickets');
 * const names = presence?.map((m) => m.userId).join(', ') ?? '';
 * return createElement('p', null, `${presence?.users ?? 0} online: ${names}`);
 */
export function usePresence(service: string): PresenceState {
  const context = useRealtimeContext();
  const [state, setState] = useState<PresenceState>({ presence: null, error: null });
  useEffect(() => {
    const { client } = context;
    let live = true;
    let refresh: ReturnType<typeof setTimeout> | undefined;
    const read = (): void => {
      client.presence(service).then(
        (presence) => live && setState({ presence, error: null }),
        (err: unknown) => live && setState((s) => ({ presence: s.presence, error: err instanceof RoomwireError ? err : new RoomwireError('RW_ERR_INTERNAL', String(err)) })),
      );
    };
    context.acquire(service);
    const offChange = client.onPresence(service, (change) => {
      setState((s) => (s.presence === null ? s : { presence: applyPresenceChange(s.presence, change), error: s.error }));
      clearTimeout(refresh);
      refresh = setTimeout(read, REFRESH_AFTER_CHANGE_MS);
    });
    const offState = client.onState(({ to }) => {
      if (to === 'connected') read();
    });
    read();
    return () => {
      live = false;
      clearTimeout(refresh);
      offChange();
      offState();
      context.release(service);
    };
  }, [context, service]);
  return state;
}
