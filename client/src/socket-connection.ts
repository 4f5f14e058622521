import {
  AFFINITY_QUERY_PARAM,
  affinityPartition,
  EVENTS,
  PROTOCOL_VERSION,
  RoomwireError,
  compareOffsets,
  isDeliveryFrame,
  isErrorCode,
  isRetryable,
  type ClientPublishAck,
  type ClientPublishRequest,
  isValidOffset,
  type ClientToServerEvents,
  type ErrorCode,
  type EventEnvelope,
  type RefreshAck,
  type HistoryAck,
  type HistoryRequest,
  type PresenceAck,
  type PresenceChange,
  type PresenceRequest,
  type ResumeAck,
  type RwErrorPayload,
  type ServerToClientEvents,
  type StreamPosition,
  type SubscribeAck,
  type UnsubscribeAck,
} from '@roomwire/shared';
import { io, type Socket } from 'socket.io-client';
import type { ResolvedClientOptions } from './client-options';
import { createFrameDecoder } from './frame-decoder';
import { PositionTracker } from './position-tracker';
import { nextState, type ConnectionSignal, type ConnectionState } from './connection-state';
import { createReconcileWaiters } from './reconcile-waiters';
import { installEventFastPath } from './event-fast-path';
import { watchLiveness } from './liveness';
import { connectTimeoutFor, reconnectOptions, refusedHandshakeDelayMs, retryDelayMs, watchWakeEvents } from './reconnect-policy';
import { asRoomwireError, closedError, fromPayload, timeoutError } from './request-errors';
import { refreshDelayMs } from './token-refresh';

/** Shortest wait before a failed token refresh is tried again, in ms. */
const REFRESH_RETRY_MIN_MS = 500;

/** The read-only requests a client may send at any time: each is answered on the connection it went out on. */
export interface QueryMap {
  'rw:presence': { request: PresenceRequest; ack: PresenceAck };
  'rw:history': { request: HistoryRequest; ack: HistoryAck };
}

/** The name of a query request. */
export type QueryName = keyof QueryMap;

/** Why a resync is needed, and for which services: reload their state from your backend. */
export interface ResyncInfo {
  services: string[];
  reason: string;
}

/** The connection's share of the health metrics; a leader tab relays it to the others. */
export interface ConnectionStatus {
  state: ConnectionState;
  lastConnectedAt: number | null;
  lastDisconnectedAt: number | null;
  totalDisconnects: number;
  reconnectAttempts: number;
  /** Reconnects after which every missed event was replayed. */
  recovered: number;
  /** Fresh tokens the node accepted on an open connection (`rw:refresh`), instead of a reconnect. */
  tokenRefreshes: number;
}

/** What `publish` resolves to: the event's id, and the offset of the frame that carried it (`null` for volatile events). */
export interface PublishedEvent {
  id: string;
  offset: string | null;
}

/** What a connection reports to its owner. */
export interface ConnectionHooks {
  /**
   * Envelopes of one frame, in order, with the frame's own position: the connection's epoch (`null`
   * before any position is known) and the frame's offset (`null` for a volatile frame). The same
   * frame may come twice (a replay from an older position): see {@link PositionDedup}.
   */
  frame(events: EventEnvelope[], epoch: string | null, offset: string | null): void;
  /**
   * A position without events: a newer one (`replace` false: a watermark), or the position a subscribe
   * or resume ack gave (`replace` true), which replaces the current one even if it is lower: the server
   * vouches for it, while a higher position it did not give may name entries the stream no longer has.
   */
  position(position: StreamPosition, replace: boolean): void;
  resync(info: ResyncInfo): void;
  error(error: RwErrorPayload): void;
  /** The server refused to subscribe these services; they are no longer wanted. */
  refused(services: string[], error: RwErrorPayload): void;
  /** Any change of the status, the state included; a copy. */
  status(status: ConnectionStatus): void;
  /** A user joined or left a service this connection is subscribed to (volatile: may be missed). */
  presence(change: PresenceChange): void;
}

/** One Socket.IO connection kept in line with the services its owner wants. */
export interface SocketConnection {
  /**
   * Subscribes and unsubscribes until the server's view matches `wanted()`. Resolves with the services
   * the server has confirmed on the connection once a pass that started after this call has been
   * answered in full (offline, that is the next connection's sync). Rejects with a `RoomwireError`:
   * the pass failed (the server's code; retryable ones are retried by the connection), no answer within
   * `requestTimeoutMs` of connected time (`RW_ERR_TIMEOUT`, the pass goes on), or the connection is
   * closed or stopped for good (`RW_ERR_CLOSED`, or the code of the refused handshake).
   */
  reconcile(): Promise<ReadonlySet<string>>;
  /**
   * Sends one event (`rw:publish`) once connected; resolves when the node accepted it. Rejects with the
   * node's code, `RW_ERR_TIMEOUT` (not connected, or no answer, within `requestTimeoutMs`: the event may
   * or may not have been published), or `RW_ERR_CLOSED`.
   */
  publish(request: ClientPublishRequest): Promise<PublishedEvent>;
  /**
   * Sends a read-only request once the connection is synced and resolves with its ack. A request lost
   * with its connection is sent again on the next one; rejects with `RW_ERR_TIMEOUT` when a connection
   * did not answer within `requestTimeoutMs`, or when the connection is closed or stopped for good.
   */
  query<E extends QueryName>(event: E, request: QueryMap[E]['request']): Promise<QueryMap[E]['ack']>;
  readonly position: StreamPosition | null;
  status(): ConnectionStatus;
  /** The disconnect funnel: disconnects for good and clears every timer and listener. */
  close(): void;
}

/** Where a connection starts: a new leader tab carries on from what the previous one relayed. */
export interface ConnectionStart {
  wanted(): ReadonlySet<string>;
  position: StreamPosition | null;
  status?: ConnectionStatus;
  hooks: ConnectionHooks;
}

/**
 * Why: within one stream lifetime a position moves forward with frames and watermarks; a new epoch
 * replaces it (and so does an ack's position, see {@link ConnectionHooks.position}).
 */
export function isNewerPosition(candidate: StreamPosition, current: StreamPosition | null): boolean {
  return current === null || current.epoch !== candidate.epoch || compareOffsets(candidate.offset, current.offset) > 0;
}

/**
 * Why: retrying a refused handshake only helps if the server may say yes next time; an expired static
 * token stays expired (only a token function can bring a fresh one).
 */
export function shouldRetryRefusal(code: ErrorCode | undefined, tokenIsFunction: boolean): boolean {
  if (code === 'RW_ERR_UNSUPPORTED_PROTOCOL') return false;
  if (tokenIsFunction) return true;
  return code !== undefined && code !== 'RW_ERR_TOKEN_EXPIRED' && isRetryable(code);
}

/** Bytes read by the WebSocket's TCP socket (Node's `ws`), `undefined` elsewhere (browsers, long-polling). */
function tcpBytesRead(socket: Socket): number | undefined {
  const transport = socket.io.engine?.transport as { ws?: { _socket?: { bytesRead?: unknown } } } | undefined;
  const bytes = transport?.ws?._socket?.bytesRead;
  return typeof bytes === 'number' ? bytes : undefined;
}

/** Why: a request can only be answered on the connection it was sent on; one sent offline would be buffered and sent, out of order, on the next. */
function isLostWithConnection(socket: Socket, connectionAtStart: number, connectionNow: number): boolean {
  return connectionAtStart !== connectionNow || !socket.connected;
}

/**
 * Opens the Socket.IO connection: handshake with a fresh token on every attempt, the reconnect
 * policy, connection-state recovery, then `rw:resume` from `position` when Socket.IO could not
 * recover by itself, and subscriptions kept in line with `wanted()`.
 */
export function openConnection(opts: ResolvedClientOptions, start: ConnectionStart): SocketConnection {
  const { hooks, wanted } = start;
  /** Services the server has confirmed on the current connection. */
  const confirmed = new Set<string>();
  const position = new PositionTracker(start.position);
  /** True once this connection has rejoined its rooms (recovered, resumed or subscribed). */
  let synced = false;
  let closed = false;
  /** Set once the connection will never connect again: what every caller is then rejected with. */
  let stoppedWith: RoomwireError | null = null;
  /** Counts connects: a request belongs to the connection it was sent on. */
  let connection = 0;
  let chain: Promise<void> = Promise.resolve();
  let refusals = 0;
  let refusalRetry: ReturnType<typeof setTimeout> | undefined;
  /** Passes in a row that failed with a retryable error, and the timer of the next try. */
  let passFailures = 0;
  let passRetry: ReturnType<typeof setTimeout> | undefined;
  const waiters = createReconcileWaiters(opts.requestTimeoutMs);
  /** Queries waiting for a synced connection; each runs once it is (or sees why it never will be). */
  const queued: (() => void)[] = [];
  const flushQueries = (): void => {
    for (const run of queued.splice(0)) run();
  };
  const status: ConnectionStatus = start.status
    ? { ...start.status, state: start.status.lastConnectedAt === null ? 'connecting' : 'reconnecting' }
    : { state: 'connecting', lastConnectedAt: null, lastDisconnectedAt: null, totalDisconnects: 0, reconnectAttempts: 0, recovered: 0, tokenRefreshes: 0 };
  /** The token of the last handshake attempt, and when it was obtained: what a new connection runs on. */
  let handshakeToken: { token: string; atMs: number } | undefined;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** The token the current connection runs on (its handshake's, then each accepted refresh's). */
  let current: { token: string; atMs: number } | undefined;
  /** Callers of `publish` waiting for a connection, each with its own deadline. */
  const connectWaiters = new Set<{ resolve(): void; reject(error: RoomwireError): void }>();

  const report = (): void => hooks.status({ ...status });
  const signal = (s: ConnectionSignal): void => {
    const to = nextState(status.state, s);
    if (to === status.state) return;
    status.state = to;
    report();
  };

  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(opts.url, {
    path: opts.path,
    transports: opts.transports,
    tryAllTransports: true,
    // Cookies: sticky load balancers (HAProxy, ingress-nginx) pin long-polling sessions with one.
    withCredentials: true,
    // A new Manager per client: two clients must never share one engine and its backoff.
    forceNew: true,
    // Partition affinity: a balancer may hash the handshake's query parameter to pick the partition's node.
    ...(opts.affinity !== undefined ? { query: { [AFFINITY_QUERY_PARAM]: String(affinityPartition(opts.affinity)) } } : {}),
    ...reconnectOptions(opts),
    // Called on every (re)connect, so a token function yields a fresh token each time.
    auth: (cb) => {
      Promise.resolve(typeof opts.token === 'function' ? opts.token() : opts.token).then(
        (token) => {
          handshakeToken = { token, atMs: Date.now() };
          cb({ token, v: PROTOCOL_VERSION });
        },
        () => cb({ token: '', v: PROTOCOL_VERSION }),
      );
    },
  });

  const advance = (candidate: StreamPosition): boolean => position.set(candidate);
  /** An ack's position: the one to resume from next, whatever was held before. */
  const adopt = (given: StreamPosition): void => {
    position.set(given, true);
    hooks.position(given, true);
  };

  const refuse = (services: string[], error: RwErrorPayload): void => {
    hooks.error(error);
    hooks.refused(services, error);
  };

  /** Throws instead of emitting offline: Socket.IO would buffer the request and send it on the next connection, before its resume. */
  const ensureConnected = (): void => {
    if (!socket.connected) throw new Error('socket has been disconnected');
  };

  const requestSubscribe = async (services: string[]): Promise<void> => {
    ensureConnected();
    const ack: SubscribeAck = await socket.emitWithAck(EVENTS.subscribe, { services });
    if (!ack.ok) throw fromPayload(ack.error);
    for (const service of ack.services) confirmed.add(service);
    adopt(ack.position);
  };

  /** Subscribes `services`; when the server refuses the batch, asks one by one so one bad service spoils nothing else. */
  const subscribeBatch = async (services: string[]): Promise<void> => {
    try {
      await requestSubscribe(services);
    } catch (err) {
      if (!(err instanceof RoomwireError) || err.retryable) throw err;
      if (services.length === 1) {
        refuse(services, err.toJSON());
        return;
      }
      for (const service of services) await subscribeBatch([service]);
    }
  };

  const requestUnsubscribe = async (services: string[]): Promise<void> => {
    ensureConnected();
    const ack: UnsubscribeAck = await socket.emitWithAck(EVENTS.unsubscribe, { services });
    if (!ack.ok) throw fromPayload(ack.error);
    for (const service of ack.services) confirmed.delete(service);
  };

  const reconcileNow = async (): Promise<void> => {
    const want = wanted();
    const toAdd = [...want].filter((s) => !confirmed.has(s));
    const toRemove = [...confirmed].filter((s) => !want.has(s));
    if (toAdd.length > 0) await subscribeBatch(toAdd);
    if (toRemove.length > 0) await requestUnsubscribe(toRemove);
  };

  /** Requests of one connection run one after another, so a subscribe never races an unsubscribe. */
  const serially = (task: () => Promise<void>): Promise<void> => {
    const run = chain.then(task);
    chain = run.catch(() => undefined);
    return run;
  };

  const clearPassRetry = (): void => {
    clearTimeout(passRetry);
    passRetry = undefined;
  };

  /**
   * One reconcile pass on a synced connection, answering every caller that came before it: with the
   * confirmed services, or with the error that failed it. A pass lost with its connection answers no
   * one: the next connection's sync runs a pass that does. Never rejects.
   */
  const pass = (): Promise<void> =>
    serially(async () => {
      if (closed || stoppedWith || !synced || !socket.connected) return;
      const taken = waiters.take();
      const at = connection;
      try {
        await reconcileNow();
      } catch (err) {
        if (isLostWithConnection(socket, at, connection)) {
          waiters.putBack(taken);
          return;
        }
        const error = asRoomwireError(err);
        hooks.error(error.toJSON());
        waiters.reject(taken, error);
        // The server may say yes later (rate limit, Redis back): the wanted services are tried again.
        if (error.retryable && passRetry === undefined) {
          passFailures += 1;
          passRetry = setTimeout(() => {
            passRetry = undefined;
            void pass();
          }, retryDelayMs(socket.io, passFailures));
        }
        return;
      }
      passFailures = 0;
      waiters.resolve(taken, confirmed);
    });

  /** Brings the server's view of a new connection in line with `wanted()`, then marks it synced. */
  const sync = async (at: number): Promise<void> => {
    if (socket.recovered) {
      status.recovered += 1;
    } else {
      confirmed.clear();
      const services = [...wanted()];
      const from = position.current;
      if (services.length > 0 && from !== null) await serially(() => resume(services, from));
    }
    if (isLostWithConnection(socket, at, connection)) return;
    synced = true;
    // Whatever changed while offline (or is new, or was not resumed): subscribe and unsubscribe the difference.
    await pass();
    if (!isLostWithConnection(socket, at, connection)) {
      signal('synced');
      flushQueries();
    }
  };

  /**
   * Asks the node to replay what was missed since `from`. If it cannot (recovered: false) or the request
   * fails, the safe answer is a resync; the services are then subscribed afresh by the reconcile.
   */
  const resume = async (services: string[], from: StreamPosition): Promise<void> => {
    try {
      ensureConnected();
      const ack: ResumeAck = await socket.emitWithAck(EVENTS.resume, { services, position: from });
      if (!ack.ok) throw fromPayload(ack.error);
      for (const service of ack.services) confirmed.add(service);
      adopt(ack.position);
      if (ack.recovered) status.recovered += 1;
      else hooks.resync({ services: ack.services, reason: ack.reason });
    } catch (err) {
      // Whatever the reason (even a service the token no longer allows, refused again and reported by
      // the subscribe), nothing was replayed: every service must resync, or its gap would be silent.
      confirmed.clear();
      hooks.resync({ services, reason: err instanceof Error ? err.message : 'resume failed' });
    }
  };

  const clearRefresh = (): void => {
    clearTimeout(refreshTimer);
    refreshTimer = undefined;
  };

  /**
   * Schedules the next `rw:refresh` for the token the connection runs on (a token function only: a
   * static token cannot be renewed). Why: without it every connection is closed at its token's `exp`
   * and reconnects, a storm of reconnects every token lifetime.
   */
  const scheduleRefresh = (token: string, obtainedAtMs: number): void => {
    clearRefresh();
    current = { token, atMs: obtainedAtMs };
    if (typeof opts.token !== 'function' || opts.tokenRefreshRatio === false || closed || stoppedWith) return;
    const delay = refreshDelayMs(token, opts.tokenRefreshRatio, obtainedAtMs);
    if (delay === undefined) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      void refreshNow();
    }, Math.max(0, obtainedAtMs + delay - Date.now()));
  };

  /**
   * After a failed refresh that may succeed later (the token function failed, the node could not
   * answer or asked to retry): tries again halfway to the current token's expiry, at least
   * {@link REFRESH_RETRY_MIN_MS} later; too close to it, the expiry close and reconnect take over.
   */
  const retryRefresh = (): void => {
    clearRefresh();
    if (current === undefined || closed || stoppedWith || !socket.connected) return;
    const lifetimeMs = refreshDelayMs(current.token, 1, current.atMs);
    if (lifetimeMs === undefined) return;
    const expiresAtMs = current.atMs + lifetimeMs;
    const waitMs = Math.max(REFRESH_RETRY_MIN_MS, (expiresAtMs - Date.now()) / 2);
    if (Date.now() + waitMs >= expiresAtMs) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      void refreshNow();
    }, waitMs);
  };

  /** Fetches a fresh token and hands it to the node; a failure is reported (and retried while it may help). */
  const refreshNow = async (): Promise<void> => {
    const at = connection;
    const source = opts.token as () => string | Promise<string>;
    let token: string;
    try {
      token = await source();
    } catch (err) {
      hooks.error({ code: 'RW_ERR_UNAUTHORIZED', message: `the token function failed, so the token could not be refreshed: ${err instanceof Error ? err.message : String(err)}` });
      if (!isLostWithConnection(socket, at, connection)) retryRefresh();
      return;
    }
    const obtainedAtMs = Date.now();
    if (closed || isLostWithConnection(socket, at, connection)) return;
    let ack: RefreshAck;
    try {
      ack = await socket.timeout(opts.requestTimeoutMs).emitWithAck(EVENTS.refresh, { token });
    } catch {
      if (!isLostWithConnection(socket, at, connection)) retryRefresh();
      return;
    }
    if (closed || isLostWithConnection(socket, at, connection)) return;
    if (!ack.ok) {
      hooks.error(ack.error);
      if (isErrorCode(ack.error.code) && isRetryable(ack.error.code)) retryRefresh();
      return;
    }
    status.tokenRefreshes += 1;
    report();
    if (ack.left.length > 0) {
      for (const service of ack.left) confirmed.delete(service);
      hooks.refused(ack.left, { code: 'RW_ERR_FORBIDDEN', message: `the refreshed token no longer allows ${ack.left.join(', ')}` });
    }
    scheduleRefresh(token, obtainedAtMs);
  };

  /** Resolves once the socket is connected, or rejects after `requestTimeoutMs` (or when the connection stops). */
  const whenConnected = (): Promise<void> => {
    if (stoppedWith) return Promise.reject(stoppedWith);
    if (socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          connectWaiters.delete(waiter);
          resolve();
        },
        reject: (error: RoomwireError) => {
          clearTimeout(timer);
          connectWaiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.reject(new RoomwireError('RW_ERR_TIMEOUT', `not connected within ${opts.requestTimeoutMs} ms; the event was not sent`)), opts.requestTimeoutMs);
      connectWaiters.add(waiter);
    });
  };

  const publish = async (request: ClientPublishRequest): Promise<PublishedEvent> => {
    await whenConnected();
    let ack: ClientPublishAck;
    try {
      ack = await socket.timeout(opts.requestTimeoutMs).emitWithAck(EVENTS.publish, request);
    } catch {
      if (stoppedWith) throw stoppedWith;
      throw new RoomwireError('RW_ERR_TIMEOUT', `no answer within ${opts.requestTimeoutMs} ms (or the connection dropped): the event may or may not have been published`);
    }
    if (!ack.ok) throw fromPayload(ack.error);
    return { id: ack.id, offset: ack.offset };
  };

  const clearTimers = (): void => {
    clearTimeout(refusalRetry);
    refusalRetry = undefined;
    clearPassRetry();
    clearRefresh();
  };

  /** The connection will never connect again: every caller, now and later, gets `error`. */
  const stop = (error: RoomwireError): void => {
    stoppedWith ??= error;
    clearTimers();
    liveness?.stop();
    signal('stopped');
    waiters.rejectAll(stoppedWith);
    for (const waiter of [...connectWaiters]) waiter.reject(stoppedWith);
    flushQueries();
  };

  const retryNow = (): void => {
    if (closed || socket.connected) return;
    status.reconnectAttempts += 1;
    report();
    if (refusalRetry !== undefined) {
      clearTimeout(refusalRetry);
      refusalRetry = undefined;
      socket.connect();
      return;
    }
    // Stops the Manager's pending backoff timer (and any half-open attempt), then opens at once; if
    // that fails, the Manager's loop starts again from the shortest delay.
    socket.disconnect();
    socket.connect();
  };
  // Only while waiting out a delay: a first attempt still in flight is left alone.
  const stopWatchingWake = watchWakeEvents(() => {
    if (refusalRetry !== undefined || socket.io._reconnecting) retryNow();
  });

  socket.on('connect', () => {
    refusals = 0;
    clearTimers();
    passFailures = 0;
    status.lastConnectedAt = Date.now();
    synced = false;
    connection += 1;
    waiters.setConnected(true);
    if (handshakeToken !== undefined) scheduleRefresh(handshakeToken.token, handshakeToken.atMs);
    for (const waiter of [...connectWaiters]) waiter.resolve();
    // sync() never rejects: its requests report their own failures.
    void sync(connection);
  });

  socket.on('disconnect', (reason) => {
    synced = false;
    waiters.setConnected(false);
    clearPassRetry();
    clearRefresh();
    status.totalDisconnects += 1;
    status.lastDisconnectedAt = Date.now();
    report();
    // A disconnect the client asked for, or the server's "io server disconnect", does not reconnect.
    if (socket.active) signal('retrying');
    else stop(closed ? closedError() : closedError(`the server closed the connection for good (${reason})`));
  });

  socket.io.on('reconnect_attempt', (attempt) => {
    socket.io.timeout(connectTimeoutFor(opts.connectTimeoutMs, attempt));
    status.reconnectAttempts += 1;
    report();
  });
  // A node that went silent (frozen, cut off) is noticed by the heartbeats it no longer sends.
  const liveness =
    opts.livenessTimeoutMs === false
      ? undefined
      : watchLiveness(
          opts.livenessTimeoutMs,
          () => socket.io.engine?.readyState === 'open',
          // Engine.IO's "forced close": the Manager reconnects, with its backoff, as after a ping timeout.
          () => socket.io.engine?.close(),
          () => tcpBytesRead(socket),
        );
  socket.io.on('open', () => {
    socket.io.timeout(opts.connectTimeoutMs);
    // Engine.IO emits `heartbeat` for every packet it receives (events, acks, its pings, the node's
    // noops): counted only where the transport has no TCP byte count to read (browsers, long-polling).
    if (liveness !== undefined && tcpBytesRead(socket) === undefined) socket.io.engine.on('heartbeat', liveness.heard);
  });

  // One ordered decoder: compressed frames are inflated without reordering events.
  const decodeFrame = createFrameDecoder<string | null, string | null>(
    (events, epoch, offset) => hooks.frame(events, epoch, offset),
    (err) => hooks.error({ code: 'RW_ERR_INTERNAL', message: `a frame could not be decoded: ${String(err)}` }),
  );

  socket.on('connect_error', (err: Error & { data?: { code?: unknown; message?: unknown } }) => {
    const code = isErrorCode(err.data?.code) ? err.data.code : undefined;
    const message = typeof err.data?.message === 'string' ? err.data.message : err.message;
    if (code !== undefined) hooks.error({ code, message });
    if (closed) return;
    if (socket.active) {
      // A transport error: the Manager's reconnect loop is already on it.
      signal('retrying');
      return;
    }
    if (!shouldRetryRefusal(code, typeof opts.token === 'function')) {
      // The same handshake would be refused again: the client stops, and says why to every caller.
      stop(code !== undefined ? new RoomwireError(code, message) : closedError(`the server refused the connection (${message})`));
      return;
    }
    refusals += 1;
    signal('retrying');
    refusalRetry = setTimeout(() => {
      refusalRetry = undefined;
      status.reconnectAttempts += 1;
      report();
      socket.connect();
    }, refusedHandshakeDelayMs(socket.io, refusals));
  });

  const onEvent = (frame: unknown, offset: unknown): void => {
    if (!isDeliveryFrame(frame)) return;
    // A durable frame carries its offset; a volatile one none. Nothing here allocates (see PositionTracker).
    // An offset the server did not write must not move the position or poison deduplication.
    const at = isValidOffset(offset) ? offset : null;
    if (at !== null) position.advanceOffset(at);
    decodeFrame(frame, position.epoch, at);
  };
  socket.on(EVENTS.event, onEvent);
  // The common packet skips socket.io-client's generic decoding and dispatch (order and recovery kept).
  installEventFastPath(socket, onEvent);

  socket.on(EVENTS.position, (notice, offset) => {
    if (!synced || typeof notice?.epoch !== 'string' || typeof offset !== 'string') return;
    const candidate = { epoch: notice.epoch, offset };
    if (advance(candidate)) hooks.position(candidate, false);
  });

  socket.on(EVENTS.resync, (notice) => {
    hooks.resync({ services: Array.isArray(notice?.services) ? notice.services : [...wanted()], reason: String(notice?.reason ?? 'unknown') });
  });

  socket.on(EVENTS.error, (notice) => {
    if (isErrorCode(notice?.code)) hooks.error(notice);
  });

  socket.on(EVENTS.presenceChange, (notice) => {
    if (typeof notice?.service === 'string' && typeof notice.userId === 'string' && (notice.type === 'join' || notice.type === 'leave')) {
      hooks.presence({ service: notice.service, type: notice.type, userId: notice.userId });
    }
  });

  const query = <E extends QueryName>(event: E, request: QueryMap[E]['request']): Promise<QueryMap[E]['ack']> =>
    new Promise((resolve, reject) => {
      const attempt = (): void => {
        if (stoppedWith || closed) {
          reject(stoppedWith ?? closedError());
          return;
        }
        if (!synced || !socket.connected) {
          queued.push(attempt);
          return;
        }
        const at = connection;
        // Typed loosely: Socket.IO's typings do not narrow an ack callback over a generic event name.
        const timed = socket.timeout(opts.requestTimeoutMs) as unknown as {
          emit(name: string, body: unknown, ack: (err: Error | null, reply: QueryMap[E]['ack']) => void): void;
        };
        timed.emit(event, request, (err, reply) => {
          if (!err) resolve(reply);
          else if (isLostWithConnection(socket, at, connection)) attempt();
          else reject(timeoutError(opts.requestTimeoutMs));
        });
      };
      attempt();
    });

  return {
    reconcile() {
      if (stoppedWith) return Promise.reject(stoppedWith);
      const held = waiters.wait();
      // Offline, or while the new connection resumes, the sync's own pass answers this caller.
      if (synced && socket.connected) void pass();
      return held;
    },
    publish,
    query,
    get position() {
      return position.current;
    },
    status: () => ({ ...status }),
    close() {
      if (closed) return;
      closed = true;
      stopWatchingWake();
      socket.disconnect();
      // Already stopped by the disconnect above if the socket was connected or retrying.
      stop(closedError());
    },
  };
}
