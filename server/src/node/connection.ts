import {
  EVENTS,
  PROTOCOL_VERSION,
  RoomwireError,
  isValidOffset,
  orgRoom,
  parseServiceRoom,
  type CatalogDefinition,
  type ClientPublishAck,
  type RefreshAck,
  type ResumeAck,
  type StreamPosition,
  type SubscribeAck,
  type UnsubscribeAck,
} from '@roomwire/shared';
import type { Logger } from 'pino';
import { canSeeService } from '../auth/claims';
import type { TokenVerifier } from '../auth/verify-token';
import { replayInto, type ReplayContext } from '../recovery/replay';
import { syncedRoom, type PartitionView } from '../stream/partition-view';
import { RESTORE_KEY } from './socket-state';
import { noticeEviction } from '../delivery/slow-consumer';
import { safePreview } from '../safe-preview';
import type { RateLimits } from '../limits/rate-limits';
import type { Queries } from '../presence/queries';
import type { ClientAddress } from './client-address';
import { sendToSocket } from '../delivery/send-to-socket';
import { checkServiceNames, checkServices, failureAck, roomsFor, servicesOf } from './subscriptions';
import { refreshClaims, type createClientPublish } from './client-requests';
import type { RoomwireServer, RoomwireSocket } from './types';

/** The partitions a connection's org can be in, and this node's readers of them. */
export interface PartitionAccess {
  /** The partition of an org. */
  of(org: string): number;
  /** Makes sure this node reads a partition (see `EventTransport.acquire`); one release per acquire. */
  acquire(index: number): Promise<PartitionView>;
  release(index: number): void;
}

/** What the connection handlers need from the node. */
export interface ConnectionContext extends ReplayContext {
  partitions: PartitionAccess;
  verify: TokenVerifier;
  catalog: CatalogDefinition;
  maxSubscriptionsPerSocket: number;
  logger: Logger;
  /** Whether the node is draining: new handshakes are refused (retryable), so clients go elsewhere. */
  isDraining(): boolean;
  /** Rate limits, when configured. */
  limits: RateLimits | undefined;
  /** The client's address of a handshake (the TCP peer, or what trusted proxies say it is). */
  clientAddress: ClientAddress;
  /** Serves `rw:publish` (events clients send). */
  clientPublish: ReturnType<typeof createClientPublish>;
  /** Presence and history requests. */
  queries: Queries;
}

/** How often sockets are checked for an expired token. */
const EXPIRY_SWEEP_MS = 1000;

/** The requests a node serves; any other `rw:` event name is an unknown request. */
const REQUESTS: ReadonlySet<unknown> = new Set([EVENTS.subscribe, EVENTS.unsubscribe, EVENTS.resume, EVENTS.refresh, EVENTS.publish, EVENTS.presence, EVENTS.history]);

/** Why: Socket.IO never answers an event nobody listens to, so a client would wait for that ack forever. */
function isUnknownRequest(event: unknown): boolean {
  return typeof event === 'string' && event.startsWith('rw:') && !REQUESTS.has(event);
}

/**
 * Authenticates handshakes and serves the subscribe, unsubscribe and resume requests of each socket;
 * closes sockets whose token expired. Returns what stops the expiry sweep.
 */
export function attachConnectionHandlers(io: RoomwireServer, ctx: ConnectionContext): { stop(): void } {
  io.use((socket, next) => {
    try {
      authenticate(socket, next, ctx);
    } catch (err) {
      // Nothing a client sends may escape as an unhandled error (Socket.IO does not await this).
      ctx.logger.warn({ err }, 'handshake check failed');
      next(connectError(new RoomwireError('RW_ERR_INVALID_REQUEST', 'malformed handshake')));
    }
  });

  const handlers = connectionHandlers(ctx);
  io.on('connection', (socket) => onConnection(socket, ctx, handlers));

  // One sweep for every socket instead of a timer each: an idle connection costs less memory.
  const told = new WeakSet<RoomwireSocket>();
  const sweep = setInterval(() => closeExpired(io, ctx.logger, told), EXPIRY_SWEEP_MS);
  sweep.unref();
  return { stop: () => clearInterval(sweep) };
}

/** Checks a handshake: not draining, a protocol version we speak, within the rate limit, a valid token. */
function authenticate(socket: RoomwireSocket, next: (err?: Error) => void, ctx: ConnectionContext): void {
  if (ctx.isDraining()) {
    next(connectError(new RoomwireError('RW_ERR_DRAINING', 'this node is shutting down; retry (another node will answer)')));
    return;
  }
  const auth = (socket.handshake.auth ?? {}) as { token?: unknown; v?: unknown };
  if (auth.v !== undefined && auth.v !== PROTOCOL_VERSION) {
    next(connectError(new RoomwireError('RW_ERR_UNSUPPORTED_PROTOCOL', `protocol version ${safePreview(auth.v)} is not supported; this node speaks ${PROTOCOL_VERSION}`)));
    return;
  }
  const address = ctx.clientAddress.of(socket.handshake.address, socket.handshake.headers['x-forwarded-for']);
  // The cheap check first: a flood is refused before any token is verified.
  Promise.resolve(ctx.limits?.takeHandshake(address))
    .then(() => ctx.verify(auth.token))
    .then(
      (claims) => {
        socket.data.claims = claims;
        socket.data.connId = socket.id;
        // The session id carries the partition, so the session is stored in (and restored from) its
        // partition's slot: a restore knows only the id. A restored id carries it already.
        if (!socket.recovered) {
          const session = socket as unknown as { pid: string };
          session.pid = `${ctx.partitions.of(claims.org)}.${session.pid}`;
        }
        // Verified once: not kept for the connection's life (memory per idle socket), nor shown by the admin UI.
        delete (socket.handshake.auth as { token?: unknown }).token;
        next();
      },
      (err: unknown) => {
        const error = err instanceof RoomwireError ? err : new RoomwireError('RW_ERR_UNAUTHORIZED', 'invalid token');
        ctx.logger.info({ code: error.code, address }, 'handshake refused');
        next(connectError(error));
      },
    );
}

/**
 * The per-socket handlers, made once per node: Socket.IO calls each with the socket as `this`, so an
 * idle connection carries no closures of its own (memory per idle connection is a bar we are held to:
 * see the memory scenario in docs/benchmarks.md).
 */
function connectionHandlers(ctx: ConnectionContext) {
  // Requests of one socket run one after another, so a subscribe never races a replay. A socket with
  // nothing in flight has no entry.
  const queues = new WeakMap<RoomwireSocket, Promise<unknown>>();
  const serially = <T>(socket: RoomwireSocket, task: () => Promise<T>): Promise<T> => {
    const run = (queues.get(socket) ?? Promise.resolve()).then(task, task);
    const tail: Promise<unknown> = run.then(noop, noop);
    queues.set(socket, tail);
    void tail.then(() => {
      if (queues.get(socket) === tail) queues.delete(socket);
    });
    return run;
  };
  // The partition each socket holds (acquired once, at its first subscribe, resume or restore; released
  // when it disconnects): this node reads a partition only while sockets of its orgs are here.
  const held = new WeakMap<RoomwireSocket, Promise<PartitionView>>();
  const hold = (socket: RoomwireSocket): Promise<PartitionView> => {
    let view = held.get(socket);
    if (view === undefined) {
      const index = ctx.partitions.of(socket.data.claims.org);
      view = ctx.partitions.acquire(index);
      held.set(socket, view);
      view.catch(() => held.delete(socket));
    }
    return view;
  };
  const unhold = (socket: RoomwireSocket): void => {
    const view = held.get(socket);
    if (view === undefined) return;
    held.delete(socket);
    view.then((v) => ctx.partitions.release(v.index), () => undefined);
  };
  // Made when needed: most connections never log.
  const logOf = (socket: RoomwireSocket): Logger => ctx.logger.child({ connId: socket.data.connId, org: socket.data.claims.org });
  const limits = ctx.limits;

  /**
   * Runs one request: it counts against the socket's rate (a refused one is answered in its ack, not
   * run), then waits its turn in the socket's queue. A request is `[body, ack]`: with no body or more
   * than one argument Socket.IO would hand the ack over as the body or drop it, leaving the client
   * waiting, so those are answered RW_ERR_INVALID_REQUEST (in the queue, so answers keep the order of
   * the requests). A request without an ack is run, unanswered.
   */
  const request = (socket: RoomwireSocket, args: unknown[], run: (body: unknown, ack: unknown) => Promise<void>, counted = true): void => {
    const last = args[args.length - 1];
    const ack = typeof last === 'function' ? last : undefined;
    const go = (): void => {
      if (ack !== undefined && args.length !== 2) {
        const error = new RoomwireError('RW_ERR_INVALID_REQUEST', 'a request takes exactly one argument, the request body');
        void serially(socket, async () => reply(ack, failureAck(error)));
        return;
      }
      void serially(socket, () => run(args[0], ack));
    };
    // Client publishes have a limit of their own (a token bucket per connection, see client-requests.ts).
    if (!limits || !counted) {
      go();
      return;
    }
    limits.takeClientEvent(socket.id).then(go, (err: unknown) => reply(ack, failureAck(err)));
  };

  const subscribe = async (socket: RoomwireSocket, body: unknown, ack: unknown): Promise<void> => {
    const { claims } = socket.data;
    let result: SubscribeAck;
    try {
      const services = checkServices(body, claims, ctx.catalog, ctx.maxSubscriptionsPerSocket);
      checkSubscriptionLimit(socket, services, ctx.maxSubscriptionsPerSocket);
      const view = await hold(socket);
      socket.join(roomsFor(claims, services));
      // Every entry after the reader's offset at the moment of the join reaches this socket live.
      const position = { epoch: view.epoch(), offset: view.readerOffset() };
      socket.join(syncedRoom(view.index));
      result = { ok: true, services, position };
    } catch (err) {
      result = failureAck(err);
    }
    reply(ack, result);
  };

  const unsubscribe = async (socket: RoomwireSocket, body: unknown, ack: unknown): Promise<void> => {
    let result: UnsubscribeAck;
    try {
      // No catalog or claims check: leaving a room is always allowed, even for a service since removed.
      const services = checkServiceNames(body, ctx.maxSubscriptionsPerSocket);
      for (const room of roomsFor(socket.data.claims, services).slice(1)) socket.leave(room);
      result = { ok: true, services };
    } catch (err) {
      result = failureAck(err);
    }
    reply(ack, result);
  };

  const resume = async (socket: RoomwireSocket, body: unknown, ack: unknown): Promise<void> => {
    const { claims } = socket.data;
    let result: ResumeAck;
    try {
      const services = checkServices(body, claims, ctx.catalog, ctx.maxSubscriptionsPerSocket);
      checkSubscriptionLimit(socket, services, ctx.maxSubscriptionsPerSocket);
      const position = checkPosition((body as { position?: unknown }).position);
      const view = await hold(socket);
      const outcome = await replayInto(socket, roomsFor(claims, services), position, view, ctx);
      socket.join(syncedRoom(view.index));
      result = outcome.recovered
        ? { ok: true, recovered: true, services, position: outcome.position, replayed: outcome.replayed }
        : { ok: true, recovered: false, services, position: outcome.position, reason: outcome.reason };
      logOf(socket).info({ services, recovered: outcome.recovered, ...(outcome.recovered ? { replayed: outcome.replayed } : { reason: outcome.reason }) }, 'resume');
    } catch (err) {
      logOf(socket).warn({ err }, 'resume failed');
      result = failureAck(err instanceof RoomwireError ? err : new RoomwireError('RW_ERR_UNAVAILABLE', 'could not read the event stream'));
    }
    reply(ack, result);
  };

  const refresh = async (socket: RoomwireSocket, body: unknown, ack: unknown): Promise<void> => {
    let result: RefreshAck;
    try {
      result = await refreshClaims(socket, body, ctx.verify);
      if (ctx.logger.isLevelEnabled('debug')) logOf(socket).debug({ exp: result.ok ? result.exp : undefined }, 'token refreshed');
    } catch (err) {
      result = failureAck(err);
    }
    reply(ack, result);
  };

  const publishEvent = async (socket: RoomwireSocket, body: unknown, ack: unknown): Promise<void> => {
    let result: ClientPublishAck;
    try {
      result = await ctx.clientPublish.publish(socket, body);
    } catch (err) {
      if (!(err instanceof RoomwireError) || err.code === 'RW_ERR_UNAVAILABLE') logOf(socket).warn({ err }, 'client publish failed');
      result = failureAck(err);
    }
    reply(ack, result);
  };

  return {
    serially,
    hold,
    logOf,
    // Listeners, shared by every socket: `this` is the socket (Socket.IO emits on it).
    onSubscribe(this: RoomwireSocket, ...args: unknown[]): void {
      request(this, args, (body, ack) => subscribe(this, body, ack));
    },
    onUnsubscribe(this: RoomwireSocket, ...args: unknown[]): void {
      request(this, args, (body, ack) => unsubscribe(this, body, ack));
    },
    onResume(this: RoomwireSocket, ...args: unknown[]): void {
      request(this, args, (body, ack) => resume(this, body, ack));
    },
    onRefresh(this: RoomwireSocket, ...args: unknown[]): void {
      request(this, args, (body, ack) => refresh(this, body, ack));
    },
    onPublish(this: RoomwireSocket, ...args: unknown[]): void {
      request(this, args, (body, ack) => publishEvent(this, body, ack), false);
    },
    onPresence(this: RoomwireSocket, ...args: unknown[]): void {
      request(this, args, async (body, ack) => {
        reply(ack, await ctx.queries.presenceFor(this.data.claims, body).then((snapshot) => ({ ok: true as const, ...snapshot }), failureAck));
      });
    },
    onHistory(this: RoomwireSocket, ...args: unknown[]): void {
      request(this, args, async (body, ack) => {
        reply(ack, await ctx.queries.historyFor(this.data.claims, body).then((page) => ({ ok: true as const, ...page }), failureAck));
      });
    },
    /** An unknown `rw:` request with an ack is answered RW_ERR_INVALID_REQUEST, in turn; without an ack it is ignored. */
    onAny(this: RoomwireSocket, event: unknown, ...args: unknown[]): void {
      if (!isUnknownRequest(event) || typeof args[args.length - 1] !== 'function') return;
      const error = new RoomwireError('RW_ERR_INVALID_REQUEST', `unknown request ${safePreview(event)}; requests are ${[...REQUESTS].join(', ')}`);
      // Socket.IO calls any-listeners at once but event listeners a tick later (socket.io's dispatch):
      // a tick later, this request queues behind the requests that arrived before it.
      process.nextTick(() => request(this, args, async (_body, ack) => reply(ack, failureAck(error))));
    },
    onDisconnect(this: RoomwireSocket, reason: string): void {
      unhold(this);
      ctx.gate.drop(this.id);
      ctx.limits?.forgetSocket(this.id);
      ctx.clientPublish.forget(this);
      if (ctx.logger.isLevelEnabled('debug')) logOf(this).debug({ reason }, 'disconnected');
    },
  };
}

type ConnectionHandlers = ReturnType<typeof connectionHandlers>;

function onConnection(socket: RoomwireSocket, ctx: ConnectionContext, handlers: ConnectionHandlers): void {
  const { claims } = socket.data;
  if (ctx.logger.isLevelEnabled('debug')) handlers.logOf(socket).debug({ recovered: socket.recovered }, 'connected');
  socket.join(orgRoom(claims.org));

  const restore = socket.data[RESTORE_KEY];
  if (restore) {
    delete socket.data[RESTORE_KEY];
    void handlers.serially(socket, () => replayRestored(socket, restore.rooms, restore.position, ctx, handlers.hold, handlers.logOf(socket)));
  }

  socket.on(EVENTS.subscribe, handlers.onSubscribe);
  socket.on(EVENTS.unsubscribe, handlers.onUnsubscribe);
  socket.on(EVENTS.resume, handlers.onResume);
  socket.on(EVENTS.refresh, handlers.onRefresh);
  socket.on(EVENTS.publish, handlers.onPublish);
  socket.on(EVENTS.presence, handlers.onPresence);
  socket.on(EVENTS.history, handlers.onHistory);
  socket.onAny(handlers.onAny);
  socket.on('disconnect', handlers.onDisconnect);
}

async function replayRestored(
  socket: RoomwireSocket,
  rooms: string[],
  position: StreamPosition,
  ctx: ConnectionContext,
  hold: (socket: RoomwireSocket) => Promise<PartitionView>,
  log: Logger,
): Promise<void> {
  const { claims } = socket.data;
  // The fresh token decides: rooms it no longer allows are not rejoined.
  const allowed = rooms.filter((room) => {
    if (room === orgRoom(claims.org)) return true;
    const parsed = parseServiceRoom(room);
    return parsed !== undefined && parsed.org === claims.org && canSeeService(claims, parsed.service);
  });
  const services = servicesOf(allowed, claims.org);
  try {
    const view = await hold(socket);
    const outcome = await replayInto(socket, allowed, position, view, ctx);
    socket.join(syncedRoom(view.index));
    noticeEviction(socket);
    log.info({ services, recovered: outcome.recovered, ...(outcome.recovered ? { replayed: outcome.replayed } : { reason: outcome.reason }) }, 'session restored');
    if (!outcome.recovered && services.length > 0) sendToSocket(socket, EVENTS.resync, { services, reason: outcome.reason });
  } catch (err) {
    log.warn({ err }, 'replay of a restored session failed');
    if (services.length > 0) sendToSocket(socket, EVENTS.resync, { services, reason: 'unavailable' });
  }
}

function checkSubscriptionLimit(socket: RoomwireSocket, services: string[], max: number): void {
  if (new Set([...servicesOf(socket.rooms, socket.data.claims.org), ...services]).size > max) {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', `at most ${max} subscriptions per connection`);
  }
}

function checkPosition(value: unknown): StreamPosition {
  const position = value as Partial<StreamPosition> | undefined;
  if (
    typeof position !== 'object' ||
    position === null ||
    typeof position.epoch !== 'string' ||
    position.epoch.length === 0 ||
    position.epoch.length > 100 ||
    !isValidOffset(position.offset)
  ) {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'position must be { epoch, offset } with an offset of the form ms-seq');
  }
  return { epoch: position.epoch, offset: position.offset };
}

/**
 * Closes (recoverably) every socket whose token has expired; its client reconnects with a fresh token.
 * A socket is told once, then closed.
 */
function closeExpired(io: RoomwireServer, logger: Logger, told: WeakSet<RoomwireSocket>): void {
  const nowS = Date.now() / 1000;
  for (const socket of io.of('/').sockets.values()) {
    const exp = socket.data.claims?.exp;
    // Not in socket.data: that is saved with the recovery session and would outlive the token.
    if (exp === undefined || exp > nowS || told.has(socket)) continue;
    told.add(socket);
    logger.info({ connId: socket.data.connId, org: socket.data.claims.org }, 'token expired; closing the connection so the client reconnects with a fresh token');
    sendToSocket(socket, EVENTS.error, { code: 'RW_ERR_TOKEN_EXPIRED', message: 'token expired' });
    socket.conn.close();
  }
}

function noop(): void {}

function reply<T>(ack: unknown, result: T): void {
  if (typeof ack === 'function') (ack as (r: T) => void)(result);
}

function connectError(error: RoomwireError): Error & { data: { code: string; message: string } } {
  return Object.assign(new Error(error.message), { data: error.toJSON() });
}
