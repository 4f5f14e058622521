import { RoomwireError, type ClientPublishRequest, type EventEnvelope, type PresenceChange, type RwErrorPayload, type StreamPosition } from '@roomwire/shared';
import type { ResolvedClientOptions } from './client-options';
import type { ConnectionHub, TabSink } from './connection-hub';
import { asRoomwireError, closedError, fromPayload } from './request-errors';
import { isNewerPosition, openConnection, type ConnectionStatus, type PublishedEvent, type QueryMap, type QueryName, type ResyncInfo, type SocketConnection } from './socket-connection';

/** Messages between the tabs of one shared connection, over their BroadcastChannel. */
export type TabMessage =
  /** A tab's full set of wanted services; `seq` is answered by an `ack` once the connection has them. */
  | { t: 'interest'; tab: string; services: string[]; seq: number }
  /** The leader's answer to `interest` `seq`: the services the connection holds, or why it could not catch up. */
  | { t: 'ack'; tab: string; seq: number; held: string[] }
  | { t: 'ack'; tab: string; seq: number; error: RwErrorPayload }
  /** A tab closed (sent by the tab itself, or by the leader when the tab's lock came free). */
  | { t: 'bye'; tab: string }
  /** A new tab asks the leader to introduce itself. */
  | { t: 'hello'; tab: string }
  | { t: 'leader'; tab: string }
  /** A frame and its own position: `epoch` `null` before any position was known, `offset` `null` for a volatile frame. */
  | { t: 'frame'; events: EventEnvelope[]; epoch: string | null; offset: string | null }
  | { t: 'position'; position: StreamPosition; replace: boolean }
  | { t: 'resync'; info: ResyncInfo }
  | { t: 'error'; error: RwErrorPayload }
  | { t: 'refused'; services: string[]; error: RwErrorPayload }
  | { t: 'status'; status: ConnectionStatus }
  /** A follower tab's `publish()`, sent by the leader; answered by `published` with the same `id`. */
  | { t: 'publish'; tab: string; id: number; request: ClientPublishRequest }
  | { t: 'published'; tab: string; id: number; event: PublishedEvent }
  | { t: 'published'; tab: string; id: number; error: RwErrorPayload }
  | { t: 'presence'; change: PresenceChange }
  /** A follower's read-only request, sent by the leader on its connection; answered by `answer` to that tab. */
  | { t: 'query'; tab: string; id: number; event: QueryName; request: unknown }
  | { t: 'answer'; tab: string; id: number; ack: unknown }
  | { t: 'answer'; tab: string; id: number; error: RwErrorPayload };

/** Why: sharing needs the Web Locks API (election) and BroadcastChannel (relay), which only secure browser contexts have. */
export function canShareConnection(): boolean {
  return (
    typeof window !== 'undefined' &&
    typeof BroadcastChannel === 'function' &&
    typeof navigator !== 'undefined' &&
    typeof navigator.locks?.request === 'function'
  );
}

function randomId(): string {
  return typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * A hub for one tab among the tabs of an origin that share one connection. The tab that holds the
 * `leader` Web Lock opens the Socket.IO connection for all of them, subscribed to the union of what
 * every tab wants, and relays what arrives over a BroadcastChannel; the others send it their
 * subscriptions. Each tab holds a lock of its own for its whole life, so the leader learns of a
 * tab that crashed when that lock comes free, and the browser frees the leader lock of a closed or
 * crashed tab at once, so the next tab in the lock queue takes over.
 *
 * Every tab tracks the stream position and every tab's subscriptions from the relayed messages, so
 * a new leader resumes (`rw:resume`) from the last position the old one relayed, for every tab's
 * services: nothing published during the handover is lost, and each tab's position dedup drops what a
 * replay sends again.
 *
 * @example
 * const hub = sharedHub(opts, sink, new Set(['billing']), 'https://rt.example.com|/socket.io');
 */
export function sharedHub(opts: ResolvedClientOptions, sink: TabSink, initial: ReadonlySet<string>, key: string): ConnectionHub {
  const tabId = randomId();
  const channel = new BroadcastChannel(`roomwire:${key}`);
  const lockPrefix = `roomwire:${key}`;
  /** Every tab's wanted services, this one's included, as far as this tab has heard. */
  const registry = new Map<string, Set<string>>([[tabId, new Set(initial)]]);
  const watched = new Set<string>();
  const aborter = new AbortController();
  let releaseLocks!: () => void;
  const released = new Promise<void>((resolve) => (releaseLocks = resolve));
  let started = false;
  let closed = false;
  let connection: SocketConnection | null = null;
  let position: StreamPosition | null = null;
  let lastStatus: ConnectionStatus | null = null;
  let seq = 0;
  /** This tab's queries sent to the leader and not answered yet (sent again to a new leader). */
  const queries = new Map<number, { event: QueryName; request: unknown; resolve: (ack: unknown) => void; reject: (error: RoomwireError) => void }>();
  let queryId = 0;
  /** This tab's `want()` calls, answered by the leader's ack of their `interest` (or of a later one, which includes them). */
  const waiters: { seq: number; resolve: (held: ReadonlySet<string>) => void; reject: (error: RoomwireError) => void }[] = [];
  /** This tab's `publish()` calls relayed to the leader, each with a deadline of `requestTimeoutMs`. */
  const publishing = new Map<number, { resolve: (event: PublishedEvent) => void; reject: (error: RoomwireError) => void }>();
  let publishSeq = 0;

  const post = (message: TabMessage): void => {
    if (!closed) channel.postMessage(message);
  };
  const union = (): Set<string> => {
    const all = new Set<string>();
    for (const services of registry.values()) for (const service of services) all.add(service);
    return all;
  };
  const track = (candidate: StreamPosition | null, replace = false): void => {
    if (candidate !== null && (replace || isNewerPosition(candidate, position))) position = candidate;
  };
  /** Settles every call up to `acked`: the tab's later interest carries its earlier calls too. */
  const settleUpTo = (acked: number, outcome: { held: ReadonlySet<string> } | { error: RoomwireError }): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i] as (typeof waiters)[number];
      if (waiter.seq > acked) continue;
      waiters.splice(i, 1);
      if ('held' in outcome) waiter.resolve(outcome.held);
      else waiter.reject(outcome.error);
    }
  };
  /** The leader answers `interest` `n` of `tab` once its connection has caught up with it, or could not. */
  const answer = (current: SocketConnection, tab: string, n: number): void => {
    current.reconcile().then(
      (held) => post({ t: 'ack', tab, seq: n, held: [...held] }),
      (err: unknown) => post({ t: 'ack', tab, seq: n, error: asRoomwireError(err).toJSON() }),
    );
  };
  const dropRefused = (services: string[]): void => {
    for (const wanted of registry.values()) for (const service of services) wanted.delete(service);
  };

  /** The leader learns that `tab` is gone when the lock that tab holds for its life comes free. */
  const watchTab = (tab: string): void => {
    if (tab === tabId || watched.has(tab) || closed) return;
    watched.add(tab);
    navigator.locks
      .request(`${lockPrefix}:tab:${tab}`, { signal: aborter.signal }, () => {
        watched.delete(tab);
        if (registry.delete(tab)) {
          post({ t: 'bye', tab });
          connection?.reconcile().catch(() => undefined);
        }
      })
      .catch(() => undefined);
  };

  const becomeLeader = (): void => {
    sink.role('leader');
    // The old leader's connection is gone: from this tab's point of view that was a disconnect.
    const status = lastStatus && lastStatus.state === 'connected'
      ? { ...lastStatus, totalDisconnects: lastStatus.totalDisconnects + 1, lastDisconnectedAt: Date.now() }
      : lastStatus;
    connection = openConnection(opts, {
      wanted: union,
      position,
      ...(status ? { status } : {}),
      hooks: {
        frame: (events, epoch, offset) => {
          if (epoch !== null && offset !== null) track({ epoch, offset });
          sink.frame(events, epoch, offset);
          post({ t: 'frame', events, epoch, offset });
        },
        position: (at, replace) => {
          track(at, replace);
          sink.position(at, replace);
          post({ t: 'position', position: at, replace });
        },
        resync: (info) => {
          sink.resync(info);
          post({ t: 'resync', info });
        },
        error: (error) => {
          sink.error(error);
          post({ t: 'error', error });
        },
        refused: (services, error) => {
          dropRefused(services);
          sink.refused(services, error);
          post({ t: 'refused', services, error });
        },
        status: (next) => {
          lastStatus = next;
          sink.status(next);
          post({ t: 'status', status: next });
        },
        presence: (change) => {
          sink.presence(change);
          post({ t: 'presence', change });
        },
      },
    });
    // Queries this tab had sent to the old leader go out on its own connection now.
    for (const [id, waiting] of [...queries]) {
      queries.delete(id);
      connection.query(waiting.event, waiting.request as never).then(waiting.resolve, (err: unknown) => waiting.reject(asRoomwireError(err)));
    }
    post({ t: 'leader', tab: tabId });
    for (const tab of registry.keys()) watchTab(tab);
    connection.reconcile().then(
      (held) => settleUpTo(Infinity, { held }),
      (err: unknown) => settleUpTo(Infinity, { error: asRoomwireError(err) }),
    );
  };

  const onMessage = (message: TabMessage): void => {
    switch (message.t) {
      case 'interest':
        registry.set(message.tab, new Set(message.services));
        if (connection) {
          watchTab(message.tab);
          answer(connection, message.tab, message.seq);
        }
        return;
      case 'bye':
        if (registry.delete(message.tab)) connection?.reconcile().catch(() => undefined);
        return;
      case 'hello':
        if (connection) {
          post({ t: 'leader', tab: tabId });
          if (lastStatus) post({ t: 'status', status: lastStatus });
          if (position) post({ t: 'position', position, replace: true });
        }
        return;
      case 'leader':
        // Make sure the new leader knows what this tab wants; pending subscribes resolve on its ack.
        if (message.tab !== tabId && !connection) {
          announce();
          for (const [id, waiting] of queries) post({ t: 'query', tab: tabId, id, event: waiting.event, request: waiting.request });
        }
        return;
      case 'query':
        if (connection) {
          const { tab, id } = message;
          connection.query(message.event, message.request as never).then(
            (ack) => post({ t: 'answer', tab, id, ack }),
            (err: unknown) => post({ t: 'answer', tab, id, error: asRoomwireError(err).toJSON() }),
          );
        }
        return;
      case 'answer': {
        const waiting = message.tab === tabId ? queries.get(message.id) : undefined;
        if (waiting === undefined) return;
        queries.delete(message.id);
        if ('ack' in message) waiting.resolve(message.ack);
        else waiting.reject(fromPayload(message.error));
        return;
      }
      case 'ack':
        if (message.tab === tabId) settleUpTo(message.seq, 'held' in message ? { held: new Set(message.held) } : { error: fromPayload(message.error) });
        return;
      case 'refused':
        dropRefused(message.services);
        if (!connection) sink.refused(message.services, message.error);
        return;
      case 'publish':
        if (connection) {
          const { tab, id } = message;
          connection.publish(message.request).then(
            (event) => post({ t: 'published', tab, id, event }),
            (err: unknown) => post({ t: 'published', tab, id, error: asRoomwireError(err).toJSON() }),
          );
        }
        return;
      case 'published':
        if (message.tab === tabId) {
          const call = publishing.get(message.id);
          if ('event' in message) call?.resolve(message.event);
          else call?.reject(fromPayload(message.error));
        }
        return;
    }
    if (connection) return;
    switch (message.t) {
      case 'frame':
        if (message.epoch !== null && message.offset !== null) track({ epoch: message.epoch, offset: message.offset });
        sink.frame(message.events, message.epoch, message.offset);
        return;
      case 'position':
        track(message.position, message.replace);
        sink.position(message.position, message.replace);
        return;
      case 'resync':
        sink.resync(message.info);
        return;
      case 'error':
        sink.error(message.error);
        return;
      case 'status':
        lastStatus = message.status;
        sink.status(message.status);
        return;
      case 'presence':
        sink.presence(message.change);
        return;
    }
  };

  const announce = (): number => {
    seq += 1;
    post({ t: 'interest', tab: tabId, services: [...(registry.get(tabId) ?? [])], seq });
    return seq;
  };

  const onPageHide = (): void => post({ t: 'bye', tab: tabId });
  // A page restored from the back/forward cache said bye when it was hidden: introduce it again.
  const onPageShow = (event: PageTransitionEvent): void => {
    if (event.persisted && started) announce();
  };

  channel.onmessage = (event: MessageEvent<TabMessage>) => onMessage(event.data);
  sink.role('follower');
  // This tab's own lock first: once it is held, the leader can always watch it.
  void navigator.locks
    .request(`${lockPrefix}:tab:${tabId}`, { signal: aborter.signal }, () => {
      if (closed) return undefined;
      started = true;
      announce();
      post({ t: 'hello', tab: tabId });
      void navigator.locks
        .request(`${lockPrefix}:leader`, { signal: aborter.signal }, () => {
          if (closed) return undefined;
          becomeLeader();
          return released;
        })
        .catch(() => undefined);
      return released;
    })
    .catch(() => undefined);
  window.addEventListener('pagehide', onPageHide);
  window.addEventListener('pageshow', onPageShow);

  return {
    want(services) {
      if (closed) return Promise.reject(closedError());
      registry.set(tabId, new Set(services));
      if (connection) {
        const current = connection;
        post({ t: 'interest', tab: tabId, services: [...services], seq: ++seq });
        return current.reconcile();
      }
      // Before this tab has started, its first announcement (seq + 1) carries these services.
      const n = started ? announce() : seq + 1;
      return new Promise((resolve, reject) => waiters.push({ seq: n, resolve, reject }));
    },
    publish(request) {
      if (closed) return Promise.reject(closedError());
      if (connection) return connection.publish(request);
      const id = ++publishSeq;
      return new Promise<PublishedEvent>((resolve, reject) => {
        const timer = setTimeout(() => settle(new RoomwireError('RW_ERR_TIMEOUT', `the leader tab did not answer within ${opts.requestTimeoutMs} ms: the event may or may not have been published`)), opts.requestTimeoutMs);
        const settle = (outcome: PublishedEvent | RoomwireError): void => {
          if (!publishing.delete(id)) return;
          clearTimeout(timer);
          if (outcome instanceof RoomwireError) reject(outcome);
          else resolve(outcome);
        };
        publishing.set(id, { resolve: settle, reject: settle });
        post({ t: 'publish', tab: tabId, id, request });
      });
    },
    query<E extends QueryName>(event: E, request: QueryMap[E]['request']): Promise<QueryMap[E]['ack']> {
      if (closed) return Promise.reject(closedError());
      if (connection) return connection.query(event, request);
      const id = ++queryId;
      return new Promise<QueryMap[E]['ack']>((resolve, reject) => {
        queries.set(id, { event, request, resolve: resolve as (ack: unknown) => void, reject });
        post({ t: 'query', tab: tabId, id, event, request });
      });
    },
    close() {
      if (closed) return;
      post({ t: 'bye', tab: tabId });
      closed = true;
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('pageshow', onPageShow);
      connection?.close();
      connection = null;
      aborter.abort();
      releaseLocks();
      channel.close();
      settleUpTo(Infinity, { error: closedError() });
      for (const call of [...publishing.values()]) call.reject(closedError());
      for (const waiting of queries.values()) waiting.reject(closedError());
      queries.clear();
    },
  };
}
