import { EVENTS, compareOffsets, frameEventCount, isDeliveryFrame, type DeliveryFrame } from '@roomwire/shared';
import type { ServerOptions } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { Logger } from 'pino';
import { effectivePositionIntervalMs, type ResolvedNodeOptions } from '../config/node-options';
import type { RecoveryGate } from '../recovery/recovery-gate';
import type { ReplayContext } from '../recovery/replay';
import { installSessionHooks } from '../recovery/session-hooks';
import { memorySessionStore, redisSessionStore, type SessionStore } from '../recovery/session-store';
import { TailCache } from '../recovery/tail-cache';
import { EMITTER_UID, HEARTBEAT_TYPE } from '../stream/adapter-message';
import type { EventLog } from '../stream/event-log';
import { memoryAdapterClass } from '../stream/memory-adapter';
import { MemoryStreamLog } from '../stream/memory-stream-log';
import { connectRedis, type RedisClient } from '../stream/redis-client';
import { RedisStreamLog, volatileChannel } from '../stream/redis-stream-log';
import { streamsAdapterFactory } from '../stream/streams-adapter';
import type { RoomwireServer } from './types';

/**
 * How a node exchanges events with the rest of the cluster: the Redis stream through the streams
 * adapter (plus pub/sub for volatile frames), or, for a lone node, an in-memory log and adapter.
 */
export interface EventTransport {
  log: EventLog;
  sessions: SessionStore;
  adapter: ServerOptions['adapter'];
  /** The node's own (fail-fast) Redis client; `undefined` in memory. */
  redis: RedisClient | undefined;
  /** Offset of the last stream entry delivered to this node's sockets. */
  readerOffset(): string;
  /** Recent entries for replays from memory (cluster mode, once started). */
  tail(): ReplayContext['tail'];
  /** What the tail holds. */
  tailSize(): { entries: number; bytes: number };
  /** Starts delivering into `io`. */
  start(io: RoomwireServer): Promise<void>;
  /** Closes what the transport opened. */
  close(): Promise<void>;
}

/** What the transport needs from the node. */
export interface TransportDeps {
  gate: RecoveryGate;
  logger: Logger;
  /** The stream epoch the node currently knows. */
  epoch(): string;
  /** Keeps track of a session being saved, so closing waits for it. */
  trackSession(saving: Promise<void>): void;
  /** Sends a volatile frame to the local sockets of a room. */
  sendVolatile(room: string, frame: DeliveryFrame): void;
  /** Counts a durable frame delivered to the local sockets of `rooms`. */
  countDelivery(rooms: string[], events: number, firstTs: number | undefined): void;
  /** Registers what must be closed if start-up fails. */
  opened: (() => Promise<unknown>)[];
}

/** Sessions persisted for recovery live under this prefix (next to the stream's keys). */
const SESSION_SUFFIX = ':session:';
/** Longest wait for this node's stream reader to come alive. */
const READER_START_TIMEOUT_MS = 10_000;

/** Opens the cluster transport when `redisUrl` is set, the in-memory one otherwise. */
export async function openEventTransport(opts: ResolvedNodeOptions, deps: TransportDeps): Promise<EventTransport> {
  return opts.redisUrl === undefined ? memoryTransport(opts, deps) : redisTransport(opts.redisUrl, opts, deps);
}

function sessionHooks(deps: TransportDeps, store: () => SessionStore, log: () => EventLog): (adapter: Adapter) => void {
  return (adapter) => installSessionHooks(adapter, { store: store(), log: log(), epoch: deps.epoch, logger: deps.logger, track: deps.trackSession });
}

async function redisTransport(redisUrl: string, opts: ResolvedNodeOptions, deps: TransportDeps): Promise<EventTransport> {
  const { logger, opened } = deps;
  const onError = (err: Error): void => logger.warn({ err: err.message }, 'redis connection error');
  // The adapter's clients queue while Redis is away (its read loop must not spin); ours fail fast.
  const adapterClient = await connectRedis(redisUrl, { failFast: false, name: `roomwire-adapter-${opts.nodeId}`, onError });
  opened.push(() => adapterClient.close());
  const client = await connectRedis(redisUrl, { failFast: true, name: `roomwire-${opts.nodeId}`, onError });
  opened.push(() => client.close());
  const clients: RedisClient[] = [client, adapterClient];
  const log = new RedisStreamLog(client, {
    streamName: opts.streamName,
    replayWindowMs: opts.replayWindowMs,
    maxStreamLength: opts.maxStreamLength,
    compressFramesMinBytes: opts.compressFramesMinBytes,
  });
  const sessions = redisSessionStore(client, opts.streamName + SESSION_SUFFIX, opts.replayWindowMs);
  const cache = new TailCache({ maxAgeMs: opts.recoveryCacheMs, maxBytes: opts.recoveryCacheBytes });
  let tail: ReplayContext['tail'];
  let delivered: string | null = null;
  const adapter = streamsAdapterFactory(adapterClient, {
    streamName: opts.streamName,
    maxStreamLength: opts.maxStreamLength,
    sessionKeyPrefix: opts.streamName + SESSION_SUFFIX,
    heartbeatIntervalMs: Math.min(5000, effectivePositionIntervalMs(opts)),
    gate: deps.gate,
    onFrame: (offset, frame, bytes) => {
      cache.append(offset, frame, bytes);
      deps.countDelivery(frame.rooms, frame.events, frame.firstTs);
    },
    onDelivered: (offset) => {
      if (delivered === null || compareOffsets(offset, delivered) > 0) delivered = offset;
    },
    onAdapter: sessionHooks(deps, () => sessions, () => log),
  }) as unknown as ServerOptions['adapter'];
  const readerOffset = (): string => delivered ?? '0-0';

  return {
    log,
    sessions,
    adapter,
    redis: client,
    readerOffset,
    tail: () => tail,
    tailSize: () => ({ entries: cache.size, bytes: cache.bytes }),
    async start() {
      await waitForReader(client, opts.streamName, opts.maxStreamLength, () => delivered);
      cache.start(readerOffset());
      tail = { cache, epoch: deps.epoch };
      const subscriber = adapterClient.duplicate();
      subscriber.on('error', onError);
      await subscriber.connect();
      opened.push(() => subscriber.close());
      clients.push(subscriber);
      await subscriber.subscribe(volatileChannel(opts.streamName), (message) => {
        const parsed = parseVolatile(message);
        if (parsed) deps.sendVolatile(parsed.room, parsed.frame);
      });
    },
    async close() {
      sessions.close();
      await Promise.allSettled(clients.map((c) => (c.isOpen ? c.close() : Promise.resolve())));
    },
  };
}

function memoryTransport(opts: ResolvedNodeOptions, deps: TransportDeps): EventTransport {
  const log = new MemoryStreamLog({ replayWindowMs: opts.replayWindowMs, maxStreamLength: opts.maxStreamLength, compressFramesMinBytes: opts.compressFramesMinBytes });
  const sessions = memorySessionStore(opts.replayWindowMs);
  const adapter = memoryAdapterClass(log, deps.gate, sessionHooks(deps, () => sessions, () => log), (rooms, frame) =>
    deps.countDelivery(rooms, frameEventCount(frame), 'events' in frame ? frame.events[0]?.ts : undefined),
  );
  return {
    log,
    sessions,
    adapter,
    redis: undefined,
    readerOffset: () => log.deliveredOffset,
    // The memory log is itself the replay source: no tail needed.
    tail: () => undefined,
    tailSize: () => ({ entries: 0, bytes: 0 }),
    async start(io) {
      log.bind((room, frame, volatile) => {
        if (volatile) deps.sendVolatile(room, frame);
        else io.to(room).emit(EVENTS.event, frame);
      });
    },
    async close() {
      sessions.close();
    },
  };
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
