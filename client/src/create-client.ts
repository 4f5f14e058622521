import {
  EVENTS,
  PROTOCOL_VERSION,
  RoomwireError,
  compareOffsets,
  isDeliveryFrame,
  isErrorCode,
  type Catalog,
  type CatalogDefinition,
  type ClientToServerEvents,
  type DeliveryFrame,
  type EventData,
  type EventEnvelope,
  type EventType,
  type ResumeAck,
  type RwErrorPayload,
  type ServerToClientEvents,
  type ServiceName,
  type StreamPosition,
  type SubscribeAck,
  type TypedEnvelope,
  type UnsubscribeAck,
} from '@roomwire/shared';
import { io, type Socket } from 'socket.io-client';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './client-options';
import { DedupCache } from './dedup';

/** Connection states; every change goes through one transition and emits `{ from, to }`. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** Why a resync is needed, and for which services: reload their state from your backend. */
export interface ResyncInfo {
  services: string[];
  reason: string;
}

/** Counters of the client's life; see `metrics()`. */
export interface ClientMetrics {
  connectionState: ConnectionState;
  lastConnectedAt: number | null;
  lastDisconnectedAt: number | null;
  totalDisconnects: number;
  reconnectAttempts: number;
  eventsReceived: number;
  duplicatesDetected: number;
  lastEventAt: number | null;
  recoveries: { recovered: number; resynced: number };
}

/** A typed Roomwire client. */
export interface RoomwireClient<C extends CatalogDefinition = Catalog> {
  /** Calls `handler` for each event of one type, once per event id. Returns a function that removes it. */
  on<S extends ServiceName<C>, T extends EventType<C, S>>(
    service: S,
    type: T,
    handler: (data: EventData<C, S, T>, envelope: TypedEnvelope<C, S, T>) => void,
  ): () => void;
  /** Calls `handler` for every event, once per event id. */
  onEvent(handler: (envelope: EventEnvelope) => void): () => void;
  /** Calls `handler` when missed events could not be recovered: reload those services' state. */
  onResync(handler: (info: ResyncInfo) => void): () => void;
  /** Calls `handler` on errors reported by the server (refused handshake, refused subscribe, notices). */
  onError(handler: (error: RwErrorPayload) => void): () => void;
  /** Calls `handler` on every connection state change. */
  onState(handler: (change: { from: ConnectionState; to: ConnectionState }) => void): () => void;
  /** Subscribes to a service; resolves once the server has confirmed it (after connecting, if offline). */
  subscribe(service: ServiceName<C>): Promise<void>;
  /** Unsubscribes from a service. */
  unsubscribe(service: ServiceName<C>): Promise<void>;
  /** The current connection state. */
  readonly state: ConnectionState;
  /** The last position this client holds in the stream, if any. */
  readonly position: StreamPosition | null;
  /** Health counters. */
  metrics(): ClientMetrics;
  /** Disconnects for good and clears every timer. */
  close(): void;
}

type Listener<A> = (arg: A) => void;

/**
 * Connects to Roomwire and delivers the events of the subscribed services in order and exactly once
 * (deduplicated by id), recovering what was missed across reconnects, or calling `onResync` when that
 * is impossible.
 *
 * @example
 * const client = createClient({ url: 'http://127.0.0.1:3000', token: () => fetchToken(), services: ['billing'] });
 * client.on('billing', 'invoice.paid', (data) => console.log(data.invoiceId, data.amountCents));
 */
export function createClient<C extends CatalogDefinition = Catalog>(options: ClientOptions<C>): RoomwireClient<C> {
  const opts: ResolvedClientOptions = resolveClientOptions(options);
  const dedup = new DedupCache({ ttlMs: opts.dedupTtlMs, maxEntries: opts.dedupMaxEntries });
  const typed = new Map<string, Set<Listener<EventEnvelope>>>();
  const anyEvent = new Set<Listener<EventEnvelope>>();
  const resyncs = new Set<Listener<ResyncInfo>>();
  const errors = new Set<Listener<RwErrorPayload>>();
  const states = new Set<Listener<{ from: ConnectionState; to: ConnectionState }>>();

  /** Services the app wants. */
  const desired = new Set<string>(opts.services);
  /** Services the server has confirmed on the current connection. */
  const confirmed = new Set<string>();
  let position: StreamPosition | null = null;
  /** True once this connection has rejoined its rooms (recovered, resumed or subscribed). */
  let synced = false;
  let closed = false;
  let syncing: Promise<void> | null = null;
  let authRetry: ReturnType<typeof setTimeout> | undefined;
  let authFailures = 0;
  let state: ConnectionState = 'connecting';
  const metrics: ClientMetrics = {
    connectionState: state,
    lastConnectedAt: null,
    lastDisconnectedAt: null,
    totalDisconnects: 0,
    reconnectAttempts: 0,
    eventsReceived: 0,
    duplicatesDetected: 0,
    lastEventAt: null,
    recoveries: { recovered: 0, resynced: 0 },
  };

  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(opts.url, {
    path: opts.path,
    transports: opts.transports,
    tryAllTransports: true,
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: opts.minReconnectDelayMs,
    reconnectionDelayMax: opts.maxReconnectDelayMs,
    randomizationFactor: opts.randomizationFactor,
    // Called on every (re)connect, so a token function yields a fresh token each time.
    auth: (cb) => {
      Promise.resolve(typeof opts.token === 'function' ? opts.token() : opts.token).then(
        (token) => cb({ token, v: PROTOCOL_VERSION }),
        () => cb({ token: '', v: PROTOCOL_VERSION }),
      );
    },
  });

  const setState = (to: ConnectionState): void => {
    const from = state;
    if (from === to) return;
    state = to;
    metrics.connectionState = to;
    for (const listener of states) listener({ from, to });
  };

  const advance = (candidate: StreamPosition): void => {
    if (position === null || position.epoch !== candidate.epoch || compareOffsets(candidate.offset, position.offset) > 0) {
      position = candidate;
    }
  };

  const reportError = (error: RwErrorPayload): void => {
    for (const listener of errors) listener(error);
  };

  const resync = (info: ResyncInfo): void => {
    metrics.recoveries.resynced += 1;
    for (const listener of resyncs) listener(info);
  };

  const deliver = (frame: DeliveryFrame, offset: string | undefined): void => {
    for (const envelope of frame.events) {
      if (!dedup.add(envelope.id)) {
        metrics.duplicatesDetected += 1;
        continue;
      }
      metrics.eventsReceived += 1;
      metrics.lastEventAt = Date.now();
      for (const listener of typed.get(`${envelope.service}/${envelope.type}`) ?? []) listener(envelope);
      for (const listener of anyEvent) listener(envelope);
    }
    if (offset !== undefined && position !== null) advance({ epoch: position.epoch, offset });
  };

  /** Brings the server's view of this connection in line with `desired`, once per connection. */
  const sync = async (): Promise<void> => {
    const recovered = socket.recovered;
    if (recovered) {
      metrics.recoveries.recovered += 1;
    } else {
      const wanted = [...desired];
      confirmed.clear();
      if (wanted.length > 0 && position !== null) {
        const ack: ResumeAck = await socket.emitWithAck(EVENTS.resume, { services: wanted, position });
        if (!ack.ok) throw new RoomwireError(isErrorCode(ack.error.code) ? ack.error.code : 'RW_ERR_INTERNAL', ack.error.message);
        for (const service of ack.services) confirmed.add(service);
        advance(ack.position);
        if (ack.recovered) metrics.recoveries.recovered += 1;
        else resync({ services: ack.services, reason: ack.reason });
      }
    }
    synced = true;
    // Whatever changed while offline (or is new): subscribe and unsubscribe the difference.
    const toAdd = [...desired].filter((s) => !confirmed.has(s));
    const toRemove = [...confirmed].filter((s) => !desired.has(s));
    if (toAdd.length > 0) await requestSubscribe(toAdd);
    if (toRemove.length > 0) await requestUnsubscribe(toRemove);
  };

  const requestSubscribe = async (services: string[]): Promise<void> => {
    const ack: SubscribeAck = await socket.emitWithAck(EVENTS.subscribe, { services });
    if (!ack.ok) {
      for (const service of services) desired.delete(service);
      reportError(ack.error);
      throw new RoomwireError(isErrorCode(ack.error.code) ? ack.error.code : 'RW_ERR_INTERNAL', ack.error.message);
    }
    for (const service of ack.services) confirmed.add(service);
    advance(ack.position);
  };

  const requestUnsubscribe = async (services: string[]): Promise<void> => {
    const ack: UnsubscribeAck = await socket.emitWithAck(EVENTS.unsubscribe, { services });
    if (!ack.ok) throw new RoomwireError(isErrorCode(ack.error.code) ? ack.error.code : 'RW_ERR_INTERNAL', ack.error.message);
    for (const service of ack.services) confirmed.delete(service);
  };

  const whenSynced = (): Promise<void> =>
    synced && socket.connected ? Promise.resolve() : new Promise((resolve) => {
      const off = onState(({ to }) => {
        if (to === 'connected' || to === 'disconnected') {
          off();
          resolve();
        }
      });
    });

  const onState = (handler: Listener<{ from: ConnectionState; to: ConnectionState }>): (() => void) => {
    states.add(handler);
    return () => states.delete(handler);
  };

  socket.on('connect', () => {
    authFailures = 0;
    metrics.lastConnectedAt = Date.now();
    synced = false;
    syncing = sync()
      .catch((err: unknown) => {
        // The connection could not be brought up to date: the safe answer is a resync.
        const reason = err instanceof Error ? err.message : 'resume failed';
        if (desired.size > 0 && !(err instanceof RoomwireError && err.code === 'RW_ERR_FORBIDDEN')) {
          resync({ services: [...desired], reason });
        }
        synced = true;
      })
      .finally(() => {
        syncing = null;
        if (socket.connected) setState('connected');
      });
  });

  socket.on('disconnect', (reason) => {
    synced = false;
    metrics.totalDisconnects += 1;
    metrics.lastDisconnectedAt = Date.now();
    // A disconnect the client asked for, or the server's "io server disconnect", does not reconnect.
    setState(socket.active ? 'reconnecting' : 'disconnected');
    void reason;
  });

  socket.io.on('reconnect_attempt', () => {
    metrics.reconnectAttempts += 1;
  });

  socket.on('connect_error', (err: Error & { data?: { code?: unknown; message?: unknown } }) => {
    const code = err.data?.code;
    if (isErrorCode(code)) reportError({ code, message: typeof err.data?.message === 'string' ? err.data.message : err.message });
    if (socket.active) {
      setState(state === 'connecting' ? 'connecting' : 'reconnecting');
      return;
    }
    // The server refused the handshake: socket.io-client does not retry that by itself. A token
    // function may yield a better token, so retry with the same bounded, jittered backoff.
    if (typeof opts.token !== 'function' || closed) {
      setState('disconnected');
      return;
    }
    authFailures += 1;
    const base = Math.min(opts.maxReconnectDelayMs, opts.minReconnectDelayMs * 2 ** Math.min(authFailures - 1, 20));
    const jitter = 1 + (Math.random() * 2 - 1) * opts.randomizationFactor;
    setState('reconnecting');
    authRetry = setTimeout(() => {
      metrics.reconnectAttempts += 1;
      socket.connect();
    }, Math.round(base * jitter));
  });

  socket.on(EVENTS.event, (frame, offset) => {
    if (!isDeliveryFrame(frame)) return;
    deliver(frame, typeof offset === 'string' ? offset : undefined);
  });

  socket.on(EVENTS.position, (notice, offset) => {
    if (!synced || typeof notice?.epoch !== 'string' || typeof offset !== 'string') return;
    advance({ epoch: notice.epoch, offset });
  });

  socket.on(EVENTS.resync, (notice) => {
    resync({ services: Array.isArray(notice?.services) ? notice.services : [...desired], reason: String(notice?.reason ?? 'unknown') });
  });

  socket.on(EVENTS.error, (notice) => {
    if (isErrorCode(notice?.code)) reportError(notice);
  });

  const register = <A>(set: Set<Listener<A>>, handler: Listener<A>): (() => void) => {
    set.add(handler);
    return () => set.delete(handler);
  };

  return {
    on(service, type, handler) {
      const key = `${service}/${type}`;
      const set = typed.get(key) ?? new Set();
      typed.set(key, set);
      const listener: Listener<EventEnvelope> = (envelope) => handler(envelope.data as never, envelope as never);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) typed.delete(key);
      };
    },
    onEvent: (handler) => register(anyEvent, handler),
    onResync: (handler) => register(resyncs, handler),
    onError: (handler) => register(errors, handler),
    onState,
    async subscribe(service) {
      desired.add(service);
      if (syncing) await syncing;
      if (!(synced && socket.connected)) return whenSynced();
      if (!confirmed.has(service)) await requestSubscribe([service]);
    },
    async unsubscribe(service) {
      desired.delete(service);
      if (syncing) await syncing;
      if (synced && socket.connected && confirmed.has(service)) await requestUnsubscribe([service]);
    },
    get state() {
      return state;
    },
    get position() {
      return position;
    },
    metrics: () => ({ ...metrics, recoveries: { ...metrics.recoveries } }),
    close() {
      closed = true;
      clearTimeout(authRetry);
      socket.disconnect();
      setState('disconnected');
    },
  };
}
