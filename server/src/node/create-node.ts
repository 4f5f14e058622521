import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENTS, compareOffsets, frameEventCount, isDeliveryFrame, parseServiceRoom, type DeliveryFrame } from '@roomwire/shared';
import { createNodeMetrics } from '../metrics/node-metrics';
import { enableAdminUi } from './admin-ui';
import { startClusterStatus } from './cluster-status';
import { offsetTimeMs } from '../stream/retention';
import { Server, type ServerOptions } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { Logger } from 'pino';
import { createTokenVerifier } from '../auth/verify-token';
import { effectivePositionIntervalMs, maxPositionAgeMs, resolveNodeOptions, type NodeOptions, type ResolvedNodeOptions } from '../config/node-options';
import { createLogger } from '../logger';
import { createHttpPublishHandler, sendJson } from '../publish/http-publish';
import { createPublishPipeline, type PublishFn } from '../publish/publish-pipeline';
import { RecoveryGate } from '../recovery/recovery-gate';
import { newReplayStats, type ReplayContext, type ReplayStats } from '../recovery/replay';
import { TailCache } from '../recovery/tail-cache';
import { installSessionHooks } from '../recovery/session-hooks';
import { memorySessionStore, redisSessionStore, type SessionStore } from '../recovery/session-store';
import { EMITTER_UID, HEARTBEAT_TYPE } from '../stream/adapter-message';
import type { EventLog } from '../stream/event-log';
import { memoryAdapterClass } from '../stream/memory-adapter';
import { MemoryStreamLog } from '../stream/memory-stream-log';
import { connectRedis, type RedisClient } from '../stream/redis-client';
import { RedisStreamLog, volatileChannel } from '../stream/redis-stream-log';
import { PRESSURED_ROOM, startSlowConsumerGuard } from '../delivery/slow-consumer';
import { streamsAdapterFactory } from '../stream/streams-adapter';
import { SYNCED_ROOM, attachConnectionHandlers } from './connection';
import { createStatusPage } from './status-page';
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
  /** Offset of the last stream entry delivered to this node's sockets. */
  deliveredOffset: string;
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

/** Sessions persisted for recovery live under this prefix (next to the stream's keys). */
const SESSION_SUFFIX = ':session:';
/** Longest wait for this node's stream reader to come alive. */
const READER_START_TIMEOUT_MS = 10_000;

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

  let log: EventLog;
  let sessions: SessionStore;
  let readerOffset: () => string;
  let epoch = '';
  let redisClients: RedisClient[] = [];
  let adapter: ServerOptions['adapter'];
  let bindMemoryLog: ((io: RoomwireServer) => void) | undefined;
  let startReader: () => Promise<void> = async () => undefined;
  const tail = new TailCache({ maxAgeMs: opts.recoveryCacheMs, maxBytes: opts.recoveryCacheBytes });
  let tailSource: ReplayContext['tail'];
  const replayStats = newReplayStats();
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
  const countDelivery = (rooms: string[], events: number, firstTs: number | undefined): void => {
    let sockets = 0;
    for (const room of rooms) sockets += io.of('/').adapter.rooms.get(room)?.size ?? 0;
    metrics.delivered(events, firstTs, sockets);
  };
  const metrics = createNodeMetrics(opts.nodeId, {
    connections: () => io.of('/').sockets.size,
    subscriptions: () => countSubscriptions(),
    streamReadLagMs: async () => {
      if (opts.redisUrl === undefined) return undefined;
      const head = await log.head();
      return offsetTimeMs(head.offset) - offsetTimeMs(readerOffset());
    },
  });
  const sessionHooks = (a: Adapter): void => installSessionHooks(a, { store: sessions, log, epoch: () => epoch, logger, track });

  if (opts.redisUrl !== undefined) {
    const onError = (err: Error): void => logger.warn({ err: err.message }, 'redis connection error');
    const adapterClient = await connectRedis(opts.redisUrl, { failFast: false, name: `roomwire-adapter-${opts.nodeId}`, onError });
    opened.push(() => adapterClient.close());
    const client = await connectRedis(opts.redisUrl, { failFast: true, name: `roomwire-${opts.nodeId}`, onError });
    opened.push(() => client.close());
    redisClients = [client, adapterClient];
    log = new RedisStreamLog(client, {
      streamName: opts.streamName,
      replayWindowMs: opts.replayWindowMs,
      maxStreamLength: opts.maxStreamLength,
      compressFramesMinBytes: opts.compressFramesMinBytes,
    });
    sessions = redisSessionStore(client, opts.streamName + SESSION_SUFFIX, opts.replayWindowMs);
    let delivered: string | null = null;
    readerOffset = () => delivered ?? '0-0';
    adapter = streamsAdapterFactory(adapterClient, {
      streamName: opts.streamName,
      maxStreamLength: opts.maxStreamLength,
      sessionKeyPrefix: opts.streamName + SESSION_SUFFIX,
      heartbeatIntervalMs: Math.min(5000, effectivePositionIntervalMs(opts)),
      gate,
      onFrame: (offset, frame, bytes) => {
        tail.append(offset, frame, bytes);
        countDelivery(frame.rooms, frame.events, frame.firstTs);
      },
      onDelivered: (offset) => {
        if (delivered === null || compareOffsets(offset, delivered) > 0) delivered = offset;
      },
      onAdapter: sessionHooks,
    }) as unknown as ServerOptions['adapter'];
    startReader = async () => {
      await waitForReader(client, opts.streamName, opts.maxStreamLength, () => delivered);
      tail.start(readerOffset());
      tailSource = { cache: tail, epoch: () => epoch };
      const subscriber = adapterClient.duplicate();
      subscriber.on('error', onError);
      await subscriber.connect();
      opened.push(() => subscriber.close());
      redisClients.push(subscriber);
      await subscriber.subscribe(volatileChannel(opts.streamName), (message) => {
        const parsed = parseVolatile(message);
        if (parsed) sendVolatile(parsed.room, parsed.frame);
      });
    };
  } else {
    const memoryLog = new MemoryStreamLog({ replayWindowMs: opts.replayWindowMs, maxStreamLength: opts.maxStreamLength, compressFramesMinBytes: opts.compressFramesMinBytes });
    log = memoryLog;
    sessions = memorySessionStore(opts.replayWindowMs);
    readerOffset = () => memoryLog.deliveredOffset;
    adapter = memoryAdapterClass(memoryLog, gate, sessionHooks, (rooms, frame) =>
      countDelivery(rooms, frameEventCount(frame), 'events' in frame ? frame.events[0]?.ts : undefined),
    );
    bindMemoryLog = (server) =>
      memoryLog.bind((room, frame, volatile) => {
        if (volatile) sendVolatile(room, frame);
        else server.to(room).emit(EVENTS.event, frame);
      });
  }
  epoch = await log.epoch();

  const io: RoomwireServer = new Server({
    adapter,
    connectionStateRecovery: { maxDisconnectionDuration: opts.replayWindowMs, skipMiddlewares: false },
    pingInterval: opts.pingIntervalMs,
    pingTimeout: opts.pingTimeoutMs,
    maxHttpBufferSize: 64 * 1024,
    serveClient: false,
    perMessageDeflate: opts.compressionThresholdBytes > 0 ? { threshold: opts.compressionThresholdBytes } : false,
    ...(opts.corsOrigins.length > 0 ? { cors: { origin: opts.corsOrigins, credentials: true } } : {}),
  });
  opened.push(() => io.close());
  bindMemoryLog?.(io);
  await startReader();

  const adminUi = opts.adminUi ? enableAdminUi(io as unknown as Server, opts.adminUi, opts.nodeId) : undefined;
  let draining = false;
  attachConnectionHandlers(io, {
    isDraining: () => draining,
    verify,
    catalog: opts.catalog,
    maxSubscriptionsPerSocket: opts.maxSubscriptionsPerSocket,
    logger,
    log,
    gate,
    readerOffset,
    maxReplayFrames: opts.maxReplayFrames,
    replayPageSize: opts.replayPageSize,
    maxPositionAgeMs: maxPositionAgeMs(opts),
    stats: replayStats,
    onOutcome: (result) => metrics.replayed(result),
    ...(tailSource ? { tail: tailSource } : {}),
  });

  const pipeline = createPublishPipeline({ catalog: opts.catalog, log, maxPayloadBytes: opts.maxPayloadBytes, batching: opts.batching, observer: metrics });
  const { publish } = pipeline;
  const httpPublish = createHttpPublishHandler({ publish, apiKey: opts.publishApiKey, maxBodyBytes: opts.maxPayloadBytes, logger });
  const startedAt = Date.now();
  const countSubscriptions = (): number => {
    let count = 0;
    for (const [room, members] of io.of('/').adapter.rooms) if (parseServiceRoom(room)) count += members.size;
    return count;
  };
  const clusterStatus = startClusterStatus({
    client: redisClients[0],
    key: `${opts.streamName}:nodes`,
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
    ...(options.statusPageToken === undefined ? {} : { devToken: options.statusPageToken }),
  });

  const ready = async (): Promise<{ ok: boolean; redis: 'ok' | 'down' | 'none' }> => {
    if (redisClients.length === 0) return { ok: !draining, redis: 'none' };
    const [client] = redisClients as [RedisClient];
    const redisUp = await Promise.race([
      client.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref()),
    ]);
    return { ok: !draining && redisUp, redis: redisUp ? 'ok' : 'down' };
  };

  const httpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      sendJson(res, 200, { status: 'ok', nodeId: opts.nodeId });
    } else if (req.method === 'GET' && path === '/readyz') {
      void ready().then((r) => sendJson(res, r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', draining, redis: r.redis, nodeId: opts.nodeId }));
    } else if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
          res.end(text);
        },
        (err: unknown) => {
          logger.error({ err }, 'metrics failed');
          sendJson(res, 500, { error: { code: 'RW_ERR_INTERNAL', message: 'metrics failed' } });
        },
      );
    } else if (path === '/v1/publish') {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        sendJson(res, 405, { error: { code: 'RW_ERR_METHOD_NOT_ALLOWED', message: 'use POST' } });
      } else if (draining) {
        sendJson(res, 503, { error: { code: 'RW_ERR_DRAINING', message: 'this node is shutting down; publish through another node' } });
      } else {
        void httpPublish(req, res);
      }
    } else if (!statusPage(req, res) && !(adminUi?.(req, res) ?? false)) {
      sendJson(res, 404, { error: { code: 'RW_ERR_NOT_FOUND', message: `no route ${req.method ?? ''} ${path ?? ''}` } });
    }
  });
  io.attach(httpServer);

  const slowConsumers = startSlowConsumerGuard(io, {
    maxBufferedBytes: opts.maxBufferedBytes,
    softLimitRatio: 0.5,
    slowConsumerGraceMs: opts.slowConsumerGraceMs,
    sweepIntervalMs: 50,
    logger,
    onEvict: () => metrics.evicted(),
  });

  // Watermarks keep quiet clients' positions recent, and refresh the epoch (a lost stream gets a new one).
  const positionTimer = setInterval(() => {
    log.epoch().then(
      (current) => {
        epoch = current;
        io.local.to(SYNCED_ROOM).except(gate.heldIds()).emit(EVENTS.position, { epoch }, readerOffset());
      },
      (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not refresh the stream epoch'),
    );
  }, effectivePositionIntervalMs(opts));
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
  logger.info({ url, redis: opts.redisUrl !== undefined, replayWindowMs: opts.replayWindowMs }, 'listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      clearInterval(positionTimer);
      slowConsumers.stop();
      logger.info({ drainDelayMs: opts.drainDelayMs }, 'draining');
      await pipeline.flush();
      io.local.emit(EVENTS.error, { code: 'RW_ERR_DRAINING', message: 'this node is shutting down; reconnecting recovers everything' });
      if (opts.drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, opts.drainDelayMs));
      // Disconnects every socket with "server shutting down", a recoverable reason: sessions are saved.
      await io.close();
      await Promise.allSettled([...savingSessions]);
      await clusterStatus.stop();
      sessions.close();
      await Promise.allSettled(redisClients.map((c) => (c.isOpen ? c.close() : Promise.resolve())));
      logger.info('closed');
    })();
    return closing;
  };

  const stats = (): NodeStats => ({
    connections: io.of('/').sockets.size,
    slowConsumerEvictions: slowConsumers.stats.evictions,
    pressuredSockets: slowConsumers.stats.pressured,
    maxEvictedQueuedBytes: slowConsumers.stats.maxEvictedQueuedBytes,
    deliveredOffset: readerOffset(),
    replays: { ...replayStats, notRecovered: { ...replayStats.notRecovered } },
    recoveryCache: { entries: tail.size, bytes: tail.bytes },
  });

  return { io, httpServer, url, nodeId: opts.nodeId, publish, stats, close };
}

function parseVolatile(message: string): { room: string; frame: DeliveryFrame } | undefined {
  try {
    const value = JSON.parse(message) as { room?: unknown; frame?: unknown };
    return typeof value.room === 'string' && isDeliveryFrame(value.frame) ? { room: value.room, frame: value.frame } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The streams adapter starts reading at `$` some time after it is created. Until this node has seen an
 * entry come through its reader, it could miss entries, so it writes probes until one arrives.
 */
async function waitForReader(client: RedisClient, streamName: string, maxLen: number, delivered: () => string | null): Promise<void> {
  const deadline = Date.now() + READER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const probe = (await client.sendCommand(['XADD', streamName, 'MAXLEN', '~', String(maxLen), '*', 'uid', EMITTER_UID, 'nsp', '/', 'type', HEARTBEAT_TYPE])) as string;
    const until = Date.now() + 250;
    while (Date.now() < until) {
      const seen = delivered();
      if (seen !== null && compareOffsets(seen, probe) >= 0) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  throw new Error(`createNode: the stream reader did not start within ${READER_START_TIMEOUT_MS} ms`);
}
