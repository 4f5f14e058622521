import {
  RoomwireError,
  type Catalog,
  type CatalogDefinition,
  type ClientEventType,
  type ClientPublishService,
  type EventData,
  type EventEnvelope,
  type EventType,
  type HistoryPage,
  type PresenceChange,
  type RwErrorPayload,
  type ServiceName,
  type StreamPosition,
  type TypedEnvelope,
} from '@roomwire/shared';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './client-options';
import { standaloneHub, type ConnectionHub, type TabRole, type TabSink } from './connection-hub';
import { createStateMachine, type ConnectionState, type StateChange } from './connection-state';
import { presenceListOf, type PresenceList } from './presence-list';
import { exposeMetrics } from './global-metrics';
import { LatencyWindow, type LatencySummary } from './latency-window';
import { createPendingRequests, type RequestKind } from './pending-requests';
import { PositionDedup } from './position-dedup';
import { PositionTracker } from './position-tracker';
import { asRoomwireError, closedError, fromPayload } from './request-errors';
import { canShareConnection, sharedHub } from './shared-connection';
import type { ConnectionStatus, PublishedEvent, ResyncInfo } from './socket-connection';

/** Health of one client, as `metrics()` and `window.__realtimeMetrics()` return it. Times are ms since the epoch. */
export interface ClientMetrics {
  connectionState: ConnectionState;
  /** `leader` or `follower` when tabs share a connection; `standalone` otherwise (always in Node). */
  role: TabRole;
  lastConnectedAt: number | null;
  lastDisconnectedAt: number | null;
  totalDisconnects: number;
  /** Reconnect attempts (the Manager's, retries of refused handshakes, immediate retries on `online`). */
  reconnectAttempts: number;
  /** Events handed to this client's handlers (after dedup). */
  eventsReceived: number;
  /** Deliveries dropped because their frame was already delivered (at or below the last delivered stream position). */
  duplicatesDetected: number;
  lastEventAt: number | null;
  /** Reconnects that replayed every missed event, and resyncs this client was asked for. */
  recoveries: { recovered: number; resynced: number };
  /** Receive time − envelope `ts` over the last `latencySampleSize` events, in ms; shifted by any clock skew. */
  latency: LatencySummary;
  /** The last position in the stream this client holds. */
  position: StreamPosition | null;
  /** Fresh tokens handed to the node on an open connection (`rw:refresh`), each a reconnect saved. */
  tokenRefreshes: number;
}

/** A typed Roomwire client. */
export interface RoomwireClient<C extends CatalogDefinition = Catalog> {
  /** Calls `handler` for each event of one type, once per event. Returns a function that removes it. */
  on<S extends ServiceName<C>, T extends EventType<C, S>>(
    service: S,
    type: T,
    handler: (data: EventData<C, S, T>, envelope: TypedEnvelope<C, S, T>) => void,
  ): () => void;
  /** Calls `handler` for every event, once per event. */
  onEvent(handler: (envelope: EventEnvelope) => void): () => void;
  /** Calls `handler` when missed events could not be recovered: reload those services' state. */
  onResync(handler: (info: ResyncInfo) => void): () => void;
  /** Calls `handler` on errors reported by the server (refused handshake, refused subscribe, notices). */
  onError(handler: (error: RwErrorPayload) => void): () => void;
  /** Calls `handler` on the `state` event: every connection state change, as `{ from, to }`. */
  onState(handler: (change: StateChange) => void): () => void;
  /**
   * Calls `handler` when a user joins (first connection, cluster-wide) or leaves (last connection) a
   * service this client is subscribed to. Presence changes are volatile: after a reconnect, read
   * {@link RoomwireClient.presence} again.
   */
  onPresence(service: ServiceName<C>, handler: (change: PresenceChange) => void): () => void;
  /**
   * Who is present in a service of the client's org, cluster-wide: an array of `{ userId, connections }`
   * that also carries the totals `users` and `connections`; above the server's member cap it is empty
   * with `countsOnly: true` (see {@link PresenceList}). Needs a token with `sub` (else
   * `RW_ERR_FORBIDDEN`); sent once connected, again on the next connection if the first is lost.
   *
   * @example
   * const online = await client.presence('tickets');
   * online.find((m) => m.userId === 'u_7')?.connections; // 2
   * online.users; // distinct users, even when online.countsOnly
   */
  presence(service: ServiceName<C>): Promise<PresenceList>;
  /**
   * A page of the service's durable events within the replay window, newest first (`limit` 1–100,
   * default 20); pass the page's `next` as `before` for the next, older page (`next` is `null` at the
   * end). Allowed exactly when a subscribe to the service is.
   */
  history(service: ServiceName<C>, options?: { limit?: number; before?: string }): Promise<HistoryPage>;
  /**
   * Subscribes to a service. Resolves once the server has confirmed it (after connecting, if offline);
   * rejects with a `RoomwireError` otherwise: the server refused it (its code; the service is dropped
   * from `services`), the client is closed or stopped for good (`RW_ERR_CLOSED`, or the code of the
   * refused handshake), an `unsubscribe` of the service came first (`RW_ERR_CANCELLED`), no answer
   * within `requestTimeoutMs` of connected time (`RW_ERR_TIMEOUT`). After a retryable code the client
   * keeps the service and keeps trying.
   */
  subscribe(service: ServiceName<C>): Promise<void>;
  /** Unsubscribes from a service; settles like `subscribe` (resolved once the server has confirmed it). */
  unsubscribe(service: ServiceName<C>): Promise<void>;
  /**
   * Sends one event of a type the catalog marks `clientPublish` (e.g. `presence/user.typing`), to the
   * subscribers of `service` in this client's org; the token's `publish` claim must grant the service.
   * Waits for a connection (up to `requestTimeoutMs`), then resolves once the node accepted the event:
   * a durable one is in the stream, a volatile one handed to the nodes. Every receiver's envelope
   * carries this client's `sub`. Rejects with a `RoomwireError`: `RW_ERR_FORBIDDEN` (type not
   * client-publishable, or not granted), `RW_ERR_INVALID_PAYLOAD`, `RW_ERR_RATE_LIMITED` (retryable),
   * `RW_ERR_TIMEOUT` (no connection or no answer in time: the event may or may not have been sent),
   * `RW_ERR_CLOSED`.
   *
   * @example
   * await client.publish('presence', 'user.typing', { userId: 'u_7' });
   */
  publish<S extends ClientPublishService<C>, T extends ClientEventType<C, S>>(service: S, type: T, data: EventData<C, S, T>): Promise<PublishedEvent>;
  /** The services this client wants (subscribed, or being subscribed). */
  readonly services: ServiceName<C>[];
  /** The current connection state. */
  readonly state: ConnectionState;
  /** The last position this client holds in the stream, if any. */
  readonly position: StreamPosition | null;
  /** Health metrics. */
  metrics(): ClientMetrics;
  /**
   * Disconnects for good and clears every timer; a leader tab hands the connection to another tab.
   * Every request still waiting rejects with `RW_ERR_CLOSED`, as does every later one.
   */
  close(): void;
}

type Listener<A> = (arg: A) => void;

function register<A>(set: Set<Listener<A>>, handler: Listener<A>): () => void {
  set.add(handler);
  return () => set.delete(handler);
}

/**
 * Connects to Roomwire and delivers the events of the subscribed services in order and exactly once
 * (deduplicated by stream position), recovering what was missed across reconnects, or calling `onResync` when that
 * is impossible. In a browser, the tabs of one origin share one connection.
 *
 * @example
 * const client = createClient({ url: 'http://127.0.0.1:3000', token: () => fetchToken(), services: ['billing'] });
 * client.on('billing', 'invoice.paid', (data) => console.log(data.invoiceId, data.amountCents));
 */
export function createClient<C extends CatalogDefinition = Catalog>(options: ClientOptions<C>): RoomwireClient<C> {
  const opts: ResolvedClientOptions = resolveClientOptions(options);
  const dedup = new PositionDedup();
  const latency = new LatencyWindow(opts.latencySampleSize);
  /** Listeners by service, then by type: no key is built per event. */
  const typed = new Map<string, Map<string, Set<Listener<EventEnvelope>>>>();
  const anyEvent = new Set<Listener<EventEnvelope>>();
  const resyncs = new Set<Listener<ResyncInfo>>();
  const errors = new Set<Listener<RwErrorPayload>>();
  const states = new Set<Listener<StateChange>>();
  const presenceListeners = new Map<string, Set<Listener<PresenceChange>>>();

  /** Services the app wants. */
  const desired = new Set<string>(opts.services);
  const refusedWith = new Map<string, RwErrorPayload>();
  const requests = createPendingRequests();
  const position = new PositionTracker(null);
  let role: TabRole = 'standalone';
  let closed = false;
  let connection: ConnectionStatus = {
    state: 'connecting',
    lastConnectedAt: null,
    lastDisconnectedAt: null,
    totalDisconnects: 0,
    reconnectAttempts: 0,
    recovered: 0,
    tokenRefreshes: 0,
  };
  const counters = { eventsReceived: 0, duplicatesDetected: 0, lastEventAt: null as number | null, resynced: 0 };
  const machine = createStateMachine('connecting', (change) => {
    for (const listener of states) listener(change);
  });

  const sink: TabSink = {
    // The hot path: no allocation per event (see PositionDedup, PositionTracker).
    frame(events, epoch, offset) {
      if (!dedup.accept(epoch, offset)) {
        counters.duplicatesDetected += events.length;
        return;
      }
      // One clock read per frame: the events of a frame arrived together.
      const now = Date.now();
      for (let i = 0; i < events.length; i++) {
        const envelope = events[i] as EventEnvelope;
        // The connection may carry other tabs' services, and a service just unsubscribed.
        if (!desired.has(envelope.service)) continue;
        counters.eventsReceived += 1;
        counters.lastEventAt = now;
        latency.record(now - envelope.ts);
        const listeners = typed.get(envelope.service)?.get(envelope.type);
        if (listeners !== undefined) for (const listener of listeners) listener(envelope);
        if (anyEvent.size > 0) for (const listener of anyEvent) listener(envelope);
      }
      if (epoch !== null && offset !== null) position.advanceTo(epoch, offset);
    },
    position(at, replace) {
      position.set(at, replace);
    },
    resync(info) {
      // Continuity is gone (a new epoch, or frames that could not be replayed): positions count afresh.
      dedup.reset();
      const services = info.services.filter((service) => desired.has(service));
      if (services.length === 0) return;
      counters.resynced += 1;
      for (const listener of resyncs) listener({ services, reason: info.reason });
    },
    error(error) {
      for (const listener of errors) listener(error);
    },
    refused(services, error) {
      for (const service of services) {
        if (desired.delete(service)) refusedWith.set(service, error);
        requests.reject(service, 'subscribe', fromPayload(error));
      }
    },
    status(status) {
      connection = status;
      if (!closed) machine.set(status.state);
    },
    role(next) {
      role = next;
    },
    presence(change) {
      // The connection may carry other tabs' services.
      if (!desired.has(change.service)) return;
      for (const listener of presenceListeners.get(change.service) ?? []) listener(change);
    },
  };

  const hub: ConnectionHub =
    opts.shareConnection && canShareConnection()
      ? sharedHub(opts, sink, desired, opts.shareKey ?? `${opts.url}|${opts.path}`)
      : standaloneHub(opts, sink, desired);

  const metrics = (): ClientMetrics => ({
    connectionState: machine.state,
    role,
    lastConnectedAt: connection.lastConnectedAt,
    lastDisconnectedAt: connection.lastDisconnectedAt,
    totalDisconnects: connection.totalDisconnects,
    reconnectAttempts: connection.reconnectAttempts,
    eventsReceived: counters.eventsReceived,
    duplicatesDetected: counters.duplicatesDetected,
    lastEventAt: counters.lastEventAt,
    recoveries: { recovered: connection.recovered, resynced: counters.resynced },
    latency: latency.summary(),
    position: position.current,
    tokenRefreshes: connection.tokenRefreshes,
  });
  const withdrawGlobal = opts.exposeGlobal ? exposeMetrics(metrics) : () => undefined;

  /**
   * One `subscribe()` or `unsubscribe()`: records the wish, sends it (with everything else wanted), and
   * settles once the connection has caught up with it. A subscribe is confirmed only if the connection
   * then holds the service; an unsubscribe, once this client's wish has reached the server.
   */
  const request = (service: string, kind: RequestKind): Promise<void> => {
    if (closed) return Promise.reject(closedError());
    const call = requests.open(service, kind);
    if (kind === 'subscribe') {
      desired.add(service);
      refusedWith.delete(service);
    } else {
      desired.delete(service);
    }
    hub.want(desired).then(
      (held) => {
        if (kind === 'unsubscribe' || held.has(service)) {
          call.resolve();
          return;
        }
        const refusal = refusedWith.get(service);
        call.reject(refusal ? fromPayload(refusal) : new RoomwireError('RW_ERR_INTERNAL', `the server did not confirm ${service}`));
      },
      (err: unknown) => call.reject(asRoomwireError(err)),
    );
    return call.promise;
  };

  return {
    on(service, type, handler) {
      const byType = typed.get(service) ?? new Map<string, Set<Listener<EventEnvelope>>>();
      typed.set(service, byType);
      const set = byType.get(type) ?? new Set();
      byType.set(type, set);
      const listener: Listener<EventEnvelope> = (envelope) => handler(envelope.data as never, envelope as never);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size > 0 || byType.get(type) !== set) return;
        byType.delete(type);
        if (byType.size === 0 && typed.get(service) === byType) typed.delete(service);
      };
    },
    onEvent: (handler) => register(anyEvent, handler),
    onResync: (handler) => register(resyncs, handler),
    onError: (handler) => register(errors, handler),
    onState: (handler) => register(states, handler),
    onPresence(service, handler) {
      const set = presenceListeners.get(service) ?? new Set();
      presenceListeners.set(service, set);
      set.add(handler);
      return () => {
        set.delete(handler);
        if (set.size === 0) presenceListeners.delete(service);
      };
    },
    async presence(service) {
      if (closed) throw closedError();
      const ack = await hub.query('rw:presence', { service });
      if (!ack.ok) throw fromPayload(ack.error);
      return presenceListOf(ack);
    },
    async history(service, options = {}) {
      if (closed) throw closedError();
      const ack = await hub.query('rw:history', { service, ...options });
      if (!ack.ok) throw fromPayload(ack.error);
      return { service: ack.service, events: ack.events, next: ack.next };
    },
    subscribe: (service) => request(service, 'subscribe'),
    unsubscribe: (service) => request(service, 'unsubscribe'),
    publish: (service, type, data) => (closed ? Promise.reject(closedError()) : hub.publish({ service, type, data })),
    get services() {
      return [...desired] as ServiceName<C>[];
    },
    get state() {
      return machine.state;
    },
    get position() {
      return position.current;
    },
    metrics,
    close() {
      if (closed) return;
      closed = true;
      requests.rejectAll(closedError());
      withdrawGlobal();
      hub.close();
      machine.set('disconnected');
    },
  };
}
