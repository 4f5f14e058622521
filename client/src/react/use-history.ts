import { useCallback, useEffect, useRef, useState } from 'react';
import { RoomwireError, type EventEnvelope } from '@roomwire/shared';
import { useRealtimeContext } from './realtime-provider';

/** What {@link useHistory} returns. */
export interface HistoryState {
  /** The events read so far, newest first. */
  events: EventEnvelope[];
  /** Whether older events may exist (`loadMore()` reads them). */
  hasMore: boolean;
  loading: boolean;
  /** Why the last read failed; `null` after a success. */
  error: RoomwireError | null;
  /** Reads the next, older page (does nothing while a read is running or at the end). */
  loadMore(): void;
  /** Reads the newest page again, dropping what was read. */
  reload(): void;
}

/**
 * The recent durable events of a service (the replay window), newest first, paged `limit` at a time:
 * the first page on mount, older ones on `loadMore()`.
 *
 * @example
 * const { events, hasMore, loadMore } = useHistory('billing', { limit: 20 });
 */
export function useHistory(service: string, options: { limit?: number } = {}): HistoryState {
  const { client } = useRealtimeContext();
  const limit = options.limit;
  const [state, setState] = useState<{ events: EventEnvelope[]; next: string | null; loading: boolean; error: RoomwireError | null; done: boolean }>({
    events: [],
    next: null,
    loading: true,
    error: null,
    done: false,
  });
  /** Each reload starts a new generation: answers of an older one are dropped. */
  const generation = useRef(0);
  const busy = useRef(false);
  const cursor = useRef<{ next: string | null; done: boolean }>({ next: null, done: false });

  const read = useCallback(
    (before: string | null, replace: boolean): void => {
      const mine = generation.current;
      busy.current = true;
      setState((s) => ({ ...s, loading: true }));
      client.history(service, { ...(limit === undefined ? {} : { limit }), ...(before === null ? {} : { before }) }).then(
        (page) => {
          if (mine !== generation.current) return;
          busy.current = false;
          cursor.current = { next: page.next, done: page.next === null };
          setState((s) => ({ events: replace ? page.events : [...s.events, ...page.events], next: page.next, loading: false, error: null, done: page.next === null }));
        },
        (err: unknown) => {
          if (mine !== generation.current) return;
          busy.current = false;
          setState((s) => ({ ...s, loading: false, error: err instanceof RoomwireError ? err : new RoomwireError('RW_ERR_INTERNAL', String(err)) }));
        },
      );
    },
    [client, service, limit],
  );

  const reload = useCallback((): void => {
    generation.current += 1;
    cursor.current = { next: null, done: false };
    read(null, true);
  }, [read]);

  useEffect(() => {
    reload();
    return () => {
      generation.current += 1;
    };
  }, [reload]);

  const loadMore = useCallback((): void => {
    const { next, done } = cursor.current;
    if (!busy.current && !done && next !== null) read(next, false);
  }, [read]);

  return { events: state.events, hasMore: !state.done, loading: state.loading, error: state.error, loadMore, reload };
}
