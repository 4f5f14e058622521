import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENTS, frameEventCount, parseServiceRoom, type DeliveryFrame, type PresenceChange } from '@roomwire/shared';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import { createTokenVerifier } from '../auth/verify-token';
import { effectivePositionIntervalMs, maxPositionAgeMs, resolveNodeOptions, type NodeOptions, type ResolvedNodeOptions } from '../config/node-options';
import { PRESSURED_ROOM, startSlowConsumerGuard } from '../delivery/slow-consumer';
import { createLogger } from '../logger';
import { createRateLimits, createSharedLimiter, takePoint } from '../limits/rate-limits';
import { createNodeMetrics } from '../metrics/node-metrics';
import { createHttpPublishHandler } from '../publish/http-publish';
import { createHttpBatchPublishHandler } from '../publish/http-publish-batch';
import { createPublishPipeline, type PublishFn } from '../publish/publish-pipeline';
import { RecoveryGate } from '../recovery/recovery-gate';
import { newReplayStats, type ReplayStats } from '../recovery/replay';
import { offsetTimeMs } from '../stream/retention';
import { enableAdminUi } from './admin-ui';
import { createClientAddress } from './client-address';
import { startClusterStatus } from './cluster-status';
import { sendToSocket } from '../delivery/send-to-socket';
import { attachConnectionHandlers } from './connection';
import { createClientPublish } from './client-requests';
import { openEventTransport } from './event-transport';
import { CorkedWrites } from '../delivery/corked-writes';
import { startIdleHeartbeats } from '../delivery/idle-heartbeats';
import { broadcastToRoom, encodeForBroadcast } from '../delivery/room-broadcast';
import { syncedRoom, type PartitionView } from '../stream/partition-view';
import { encodeEventPacket, type EncodedFrame } from '../stream/stream-entry';
import { createHttpEdge, guardHttpListeners } from './http-edge';
import { createHttpRoutes } from './http-routes';
import { createOriginCheck } from './origin-check';
import { createStatusPage } from './status-page';
import { createHttpQueries } from '../presence/http-queries';
import { memoryPresenceEngine, type PresenceEngine } from '../presence/presence-engine';
import { startPresenceTracker } from '../presence/presence-tracker';
import { createQueries } from '../presence/queries';
import { redisPresenceEngine } from '../presence/redis-presence';
import { servicesOf } from './subscriptions';
import type { RoomwireServer } from './types';

/** A running node. */
export interface RoomwireNode {
  /** The typed Socket.IO server. */
  io: RoomwireServer;
  /** The HTTP server (Socket.IO, health, publish API, status page). */
  httpServer: HttpServer;
  /** Base URL the node listens on, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** This node's id, as in its logs. */
  nodeId: string;
  /** Publishes through this node, exactly as `POST /v1/publish` does. */
  publish: PublishFn;
  /** Counters of this node, read at the time of the call. */
  stats(): NodeStats;
  /** Drains: fails `/readyz`, stops accepting, closes sockets recoverably, saves their sessions, exits cleanly. */
  close(): Promise<void>;
}

/** Counters of one node. */
export interface NodeStats {
  /** Connected sockets. */
  connections: number;
  /** Sockets evicted as slow consumers so far. */
  slowConsumerEvictions: number;
  /** Sockets above the soft limit (skipping volatile events) at the last sweep. */
  pressuredSockets: number;
  /** Most bytes queued towards a socket when it was evicted. */
  maxEvictedQueuedBytes: number;
  /** Offset of the last stream entry delivered to this node's sockets, per partition read now. */
  deliveredOffsets: Record<number, string>;
  /** Partitions this node reads now. */
  partitionsRead: number[];
  /** Stream entries read since start, per partition. */
  entriesRead: Record<number, number>;
  /** Replays by outcome. */
  replays: ReplayStats;
  /** Recent stream entries held in memory for replays (cluster mode). */
  recoveryCache: { entries: number; bytes: number };
}

/** Extra, non-public options the CLI passes. */
interface InternalOptions {
  /** A development token the status page may use (never set in production). */
  statusPageToken?: string;
}

/**
 * Starts a node: HTTP + Socket.IO, on `@socket.io/redis-streams-adapter` when `redisUrl` is set (the
 * in-memory adapter otherwise), with JWT handshake auth, subscriptions checked against the claims,
 * loss-free recovery within the replay window, health endpoints and the HTTP publish API.
 *
 * @example
 * const node = await createNode({ auth: { jwtSecret }, redisUrl: 'redis://127.0.0.1:6379', port: 3000 });
 * // … later
 * await node.close();
 */
export async function createNode(options: NodeOptions & InternalOptions): Promise<RoomwireNode> {
  const opts = resolveNodeOptions(options);
  // What start-up has opened so far, closed again (newest first) if start-up fails.
  const opened: (() => Promise<unknown>)[] = [];
  try {
    return await startNode(opts, options, opened);
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

async function startNode(opts: ResolvedNodeOptions, options: InternalOptions, opened: (() => Promise<unknown>)[]): Promise<RoomwireNode> {
  const logger: Logger = opts.logger ?? createLogger(opts.nodeId);
  const verify = createTokenVerifier(opts.auth);
  const gate = new RecoveryGate(opts.maxReplayFrames);
  const savingSessions = new Set<Promise<void>>();
  const track = (saving: Promise<void>): void => {
    savingSessions.add(saving);
    void saving.finally(() => savingSessions.delete(saving));
  };

  const replayStats = newReplayStats();
  const corkedWrites = new CorkedWrites();
  const entriesRead: Record<number, number> = {};
  // Volatile frames skip sockets under pressure, and Socket.IO drops them where the transport is busy.
  const sendVolatile = (room: string, frame: DeliveryFrame): void => {
    const members = io.of('/').adapter.rooms.get(room);
    if (!members) return;
    let pressured = 0;
    for (const id of io.of('/').adapter.rooms.get(PRESSURED_ROOM) ?? []) if (members.has(id)) pressured += 1;
    const events = frameEventCount(frame);
    metrics.volatileDropped(pressured * events);
    metrics.delivered(events, 'events' in frame ? frame.events[0]?.ts : undefined, members.size - pressured);
    io.local.to(room).except(PRESSURED_ROOM).volatile.emit(EVENTS.event, frame);
  };
  // Presence changes are volatile too: skipped for sockets under pressure, never replayed.
  const sendPresence = (room: string, change: PresenceChange): void => {
    io.local.to(room).except(PRESSURED_ROOM).volatile.emit(EVENTS.presenceChange, change);
  };
  const countDelivery = (rooms: string[], events: number, firstTs: number | undefined): void => {
    let sockets = 0;
    for (const room of rooms) sockets += io.of('/').adapter.rooms.get(room)?.size ?? 0;
    metrics.delivered(events, firstTs, sockets);
  };
  const metrics = createNodeMetrics(opts.nodeId, {
    connections: () => io.of('/').sockets.size,
    subscriptions: () => countSubscriptions(),
    partitionsRead: () => transport.active().length,
    streamReadLagMs: async () => {
      if (transport.redis === undefined) return undefined;
      let lag = 0;
      for (const view of transport.active()) {
        const head = await view.log.head();
        lag = Math.max(lag, offsetTimeMs(head.offset) - offsetTimeMs(view.readerOffset()));
      }
      return lag;
    },
  });
  /**
   * A durable frame read from a partition: kept for replays, held back from sockets being replayed to,
   * and sent to every other socket of its rooms, encoded once.
   */
  const deliverFrame = (_view: PartitionView, offset: string, frame: EncodedFrame, coalesceWrites: boolean): void => {
    let except: Set<string> | undefined;
    if (gate.size > 0) {
      except = new Set();
      gate.intercept(frame.rooms, except, () => frame.frame(), offset);
    }
    const encoded = encodeForBroadcast(encodeEventPacket(frame, offset), directWrites);
    let sockets = 0;
    // A read with several frames for one org: each socket's frames of that read leave in one write.
    const coalesce = coalesceWrites ? corkedWrites : undefined;
    for (const room of frame.rooms) sockets += broadcastToRoom(io.of('/'), room, encoded, except, coalesce);
    metrics.delivered(frame.events, frame.firstTs, sockets);
  };
  /**
   * A partition's stream lost what its synced sockets were owed (a new epoch: Redis lost the stream,
   * or it moved backwards; or this node's reader lagged behind trimming): each is told to resync its
   * services, then given a position in the partition as it is now.
   */
  const partitionReset = (view: PartitionView, reason: 'stream-reset' | 'trimmed'): void => {
    const members = io.of('/').adapter.rooms.get(syncedRoom(view.index));
    for (const id of members ?? []) {
      const socket = io.of('/').sockets.get(id);
      if (socket === undefined) continue;
      const services = servicesOf(socket.rooms, socket.data.claims.org);
      if (services.length > 0) sendToSocket(socket, EVENTS.resync, { services, reason });
      if (!gate.isHeld(id)) sendToSocket(socket, EVENTS.position, { epoch: view.epoch() }, view.readerOffset());
    }
  };
  // The direct WebSocket write skips engine.io's per-packet events, which the admin UI counts bytes by.
  const directWrites = opts.adminUi === undefined;
  const transport = await openEventTransport(opts, {
    gate,
    logger,
    trackSession: track,
    deliverFrame,
    entriesRead: (index, count) => {
      entriesRead[index] = (entriesRead[index] ?? 0) + count;
      metrics.entriesRead(index, count);
    },
    sendVolatile,
    sendPresence,
    countDelivery,
    partitionReset,
    opened,
  });
  const presenceEngine: PresenceEngine =
    transport.redis === undefined
      ? memoryPresenceEngine((room, userId, type) => {
          const parsed = parseServiceRoom(room);
          if (parsed) sendPresence(room, { service: parsed.service, type, userId });
        })
      : redisPresenceEngine({
          redis: transport.redis,
          keyPrefix: opts.keyPrefix,
          partitionCount: transport.partitionCount,
          nodeId: opts.nodeId,
          livenessMs: 2 * opts.presenceHeartbeatMs,
        });
  const queries = createQueries({
    catalog: opts.catalog,
    engine: presenceEngine,
    maxMembers: opts.presenceMaxMembers,
    logOf: transport.logOf,
    replayWindowMs: opts.replayWindowMs,
  });

  const io: RoomwireServer = new Server({
    adapter: transport.adapter,
    connectionStateRecovery: { maxDisconnectionDuration: opts.replayWindowMs, skipMiddlewares: false },
    pingInterval: opts.pingIntervalMs,
    pingTimeout: opts.pingTimeoutMs,
    maxHttpBufferSize: 64 * 1024,
    serveClient: false,
    perMessageDeflate: opts.compressionThresholdBytes > 0 ? { threshold: opts.compressionThresholdBytes } : false,
    ...(opts.corsOrigins.length > 0 ? { cors: { origin: opts.corsOrigins, credentials: true } } : {}),
    // CORS headers only stop pages from reading answers: the origin is checked on every new session, WebSocket too.
    allowRequest: createOriginCheck(opts.corsOrigins, logger),
  });
  opened.push(() => io.close());
  await transport.start(io);
  const presence = startPresenceTracker({
    io,
    engine: presenceEngine,
    partitionOf: transport.partitionOf,
    partitionsRead: () => transport.active().map((view) => view.index),
    partitionCount: transport.partitionCount,
    heartbeatMs: opts.presenceHeartbeatMs,
    logger,
  });
  opened.push(() => presence.stop());
  const redisClient = transport.redis?.client;

  const clientAddress = createClientAddress(opts.trustProxy, logger);
  const limiterStore = { redis: redisClient, keyPrefix: `${opts.keyPrefix}:limit:` };
  const adminLogins = opts.adminUi ? createSharedLimiter(limiterStore, 'admin_login', opts.adminUi.loginFailuresPerIpPerMinute, 60) : undefined;
  const adminUi =
    opts.adminUi && adminLogins
      ? enableAdminUi(io as unknown as Server, opts.adminUi, opts.nodeId, {
          addressOf: (socket) => clientAddress.of(socket.handshake.address, socket.handshake.headers['x-forwarded-for']),
          takeAttempt: (address) =>
            takePoint(adminLogins, address, 'failed admin logins from this address', () => {
              metrics.rateLimited('admin_login');
            }),
          refundAttempt: async (address) => void (await adminLogins.reward(address, 1)),
          onFailure: (reason) => metrics.adminLoginFailed(reason),
          logger,
        })
      : undefined;
  const limits =
    opts.rateLimits === false
      ? undefined
      : createRateLimits(opts.rateLimits, { ...limiterStore, onLimited: (limit) => metrics.rateLimited(limit) });
  let draining = false;
  const pipeline = createPublishPipeline({ catalog: opts.catalog, sink: transport.sink, maxPayloadBytes: opts.maxPayloadBytes, batching: opts.batching, observer: metrics });
  const { publish } = pipeline;
  const clientPublish = createClientPublish({
    verify,
    catalog: opts.catalog,
    publish,
    publishLimit: opts.rateLimits === false ? undefined : { ratePerSecond: opts.rateLimits.clientPublishesPerSocketPerSecond, burst: opts.rateLimits.clientPublishBurstPerSocket },
    onLimited: () => metrics.rateLimited('client_publish'),
  });
  const connections = attachConnectionHandlers(io, {
    clientPublish,
    limits,
    clientAddress,
    isDraining: () => draining,
    verify,
    catalog: opts.catalog,
    maxSubscriptionsPerSocket: opts.maxSubscriptionsPerSocket,
    logger,
    partitions: { of: transport.partitionOf, acquire: transport.acquire, release: transport.release },
    gate,
    maxReplayFrames: opts.maxReplayFrames,
    replayPageSize: opts.replayPageSize,
    maxPositionAgeMs: maxPositionAgeMs(opts),
    stats: replayStats,
    pacing: { maxQueuedBytes: Math.floor(opts.maxBufferedBytes / 2), stallTimeoutMs: Math.max(5000, 5 * opts.slowConsumerGraceMs) },
    onOutcome: (result) => metrics.replayed(result),
    queries,
  });

  const httpPublish = createHttpPublishHandler({
    publish,
    apiKey: opts.publishApiKey,
    maxBodyBytes: opts.maxPayloadBytes,
    logger,
    ...(limits ? { takePublish: (key: string) => limits.takePublish(key) } : {}),
  });
  const httpPublishBatch = createHttpBatchPublishHandler({
    publish,
    apiKey: opts.publishApiKey,
    maxBodyBytes: opts.maxBatchBodyBytes,
    logger,
    ...(limits ? { takePublish: (key: string, points: number) => limits.takePublish(key, points) } : {}),
  });
  const startedAt = Date.now();
  const countSubscriptions = (): number => {
    let count = 0;
    for (const [room, members] of io.of('/').adapter.rooms) if (parseServiceRoom(room)) count += members.size;
    return count;
  };
  const clusterStatus = startClusterStatus({
    client: redisClient,
    key: `${opts.keyPrefix}:nodes`,
    nodeId: opts.nodeId,
    intervalMs: 2000,
    logger,
    snapshot: () => {
      const totals = metrics.totals();
      return {
        nodeId: opts.nodeId,
        connections: io.of('/').sockets.size,
        subscriptions: countSubscriptions(),
        eventsPublished: totals.published,
        eventsDelivered: totals.delivered,
        latencyMs: totals.latencyMs,
        uptimeS: Math.floor((Date.now() - startedAt) / 1000),
        ts: Date.now(),
      };
    },
  });
  const statusPage = createStatusPage({
    cluster: () => clusterStatus.nodes(),
    io,
    nodeId: opts.nodeId,
    catalog: opts.catalog,
    presence: () => presence.localCounts(),
    ...(options.statusPageToken === undefined ? {} : { devToken: options.statusPageToken }),
  });
  const httpQueries = createHttpQueries({ queries, apiKey: opts.publishApiKey, logger });

  const ready = async (): Promise<{ ok: boolean; redis: 'ok' | 'down' | 'none' }> => {
    const redis = transport.redis;
    if (redis === undefined) return { ok: !draining, redis: 'none' };
    const redisUp = await Promise.race([
      redis.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref()),
    ]);
    return { ok: !draining && redisUp, redis: redisUp ? 'ok' : 'down' };
  };

  const httpServer = createHttpEdge(
    createHttpRoutes({
      nodeId: opts.nodeId,
      logger,
      isDraining: () => draining,
      ready,
      metrics: metrics.registry,
      publish: httpPublish,
      publishBatch: httpPublishBatch,
      more: [httpQueries, ...(opts.statusPage ? [statusPage] : []), ...(adminUi ? [adminUi] : [])],
      clientAddress,
    }),
    {
      headersTimeoutMs: opts.headersTimeoutMs,
      requestTimeoutMs: opts.requestTimeoutMs,
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
      maxConnections: opts.maxConnections,
      logger,
      onConnectionRefused: () => metrics.connectionRefused(),
    },
  );
  io.attach(httpServer);
  guardHttpListeners(httpServer, { socketIoPath: `${io.path()}/`, logger });

  const slowConsumers = startSlowConsumerGuard(io, {
    maxBufferedBytes: opts.maxBufferedBytes,
    softLimitRatio: 0.5,
    slowConsumerGraceMs: opts.slowConsumerGraceMs,
    sweepIntervalMs: 50,
    calmSweepIntervalMs: 250,
    logger,
    onEvict: () => metrics.evicted(),
  });
  const heartbeats = startIdleHeartbeats(io as unknown as Server, { heartbeatMs: opts.heartbeatMs });

  // Watermarks keep quiet clients' positions recent: each partition's synced sockets get its reader's
  // position (each reader checks its stream's epoch on its own, every second and after any failure).
  const sendWatermarks = (): void => {
    const held = gate.heldIds();
    for (const view of transport.active()) {
      io.local.to(syncedRoom(view.index)).except(held).emit(EVENTS.position, { epoch: view.epoch() }, view.readerOffset());
    }
  };
  const positionTimer = setInterval(sendWatermarks, effectivePositionIntervalMs(opts));
  positionTimer.unref();

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, redis: transport.redis === undefined ? 'none' : transport.redis.isCluster ? 'cluster' : 'single', partitions: transport.partitionCount, replayWindowMs: opts.replayWindowMs, maxStreamLength: opts.maxStreamLength }, 'listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      clearInterval(positionTimer);
      slowConsumers.stop();
      heartbeats.stop();
      connections.stop();
      logger.info({ drainDelayMs: opts.drainDelayMs }, 'draining');
      await pipeline.flush();
      io.local.emit(EVENTS.error, { code: 'RW_ERR_DRAINING', message: 'this node is shutting down; reconnecting recovers everything' });
      if (opts.drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, opts.drainDelayMs));
      // Disconnects every socket with "server shutting down", a recoverable reason: sessions are saved.
      await io.close();
      await Promise.allSettled([...savingSessions]);
      await presence.stop();
      await clusterStatus.stop();
      await transport.close();
      logger.info('closed');
    })();
    return closing;
  };

  const stats = (): NodeStats => ({
    connections: io.of('/').sockets.size,
    slowConsumerEvictions: slowConsumers.stats.evictions,
    pressuredSockets: slowConsumers.stats.pressured,
    maxEvictedQueuedBytes: slowConsumers.stats.maxEvictedQueuedBytes,
    deliveredOffsets: Object.fromEntries(transport.active().map((view) => [view.index, view.readerOffset()])),
    partitionsRead: transport.active().map((view) => view.index).sort((a, b) => a - b),
    entriesRead: { ...entriesRead },
    replays: { ...replayStats, notRecovered: { ...replayStats.notRecovered } },
    recoveryCache: transport.tailSize(),
  });

  return { io, httpServer, url, nodeId: opts.nodeId, publish, stats, close };
}
