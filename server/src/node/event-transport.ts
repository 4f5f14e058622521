import { createAdapter } from '@socket.io/redis-streams-adapter';
import { EVENTS, frameEventCount, isDeliveryFrame, orgOfRoom, type DeliveryFrame, type PresenceChange } from '@roomwire/shared';
import type { ServerOptions } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { Logger } from 'pino';
import { effectivePositionIntervalMs, type ResolvedNodeOptions } from '../config/node-options';
import type { RecoveryGate } from '../recovery/recovery-gate';
import { installSessionHooks } from '../recovery/session-hooks';
import { memorySessionStore, redisSessionStore, type SessionStore } from '../recovery/session-store';
import { TailCache } from '../recovery/tail-cache';
import type { EventLog, EventSink } from '../stream/event-log';
import { memoryAdapterClass } from '../stream/memory-adapter';
import { MemoryStreamLog } from '../stream/memory-stream-log';
import { PartitionReader } from '../stream/partition-reader';
import type { PartitionView } from '../stream/partition-view';
import { allPartitionKeys, partitionOf } from '../stream/partitions';
import { connectRedis, type RedisHandle, type RedisTarget } from '../stream/redis-client';
import { adapterClient } from '../stream/adapter-client';
import { RedisStreamLog, type EpochRecord, type PartitionState } from '../stream/redis-stream-log';
import type { EncodedFrame } from '../stream/stream-entry';
import type { RoomwireServer } from './types';

/**
 * How a node exchanges events with the rest of the cluster: one Redis stream per partition (on one
 * Redis or spread over a Redis Cluster's masters), read only while this node has sockets of the
 * partition's orgs, plus pub/sub for volatile frames; or, for a lone node, an in-memory log.
 */
export interface EventTransport {
  /** Where publishes go (routed to the partition of the room's org). */
  sink: EventSink;
  /** The event log of an org's partition (history reads it). */
  logOf(org: string): EventLog;
  sessions: SessionStore;
  adapter: ServerOptions['adapter'];
  /** The node's own (fail-fast) Redis handle; `undefined` in memory. */
  redis: RedisHandle | undefined;
  partitionCount: number;
  /** The partition of an org's events. */
  partitionOf(org: string): number;
  /**
   * Makes sure this node reads partition `index` and resolves with its view once the reader is live:
   * every entry after `view.readerOffset()` will be delivered. Each acquire is matched by one release.
   */
  acquire(index: number): Promise<PartitionView>;
  /** The caller no longer needs the partition; its reader stops after a grace period without users. */
  release(index: number): void;
  /** The partitions this node reads now. */
  active(): PartitionView[];
  /** What the tails hold, over every partition. */
  tailSize(): { entries: number; bytes: number };
  /** Starts delivering into the node's Socket.IO server. */
  start(io: RoomwireServer): Promise<void>;
  /** Closes what the transport opened. */
  close(): Promise<void>;
}

/** What the transport needs from the node. */
export interface TransportDeps {
  gate: RecoveryGate;
  logger: Logger;
  /** Keeps track of a session being saved, so closing waits for it. */
  trackSession(saving: Promise<void>): void;
  /**
   * Delivers a durable frame read from a partition to the local sockets of its rooms; with `coalesce`,
   * other frames of the same read go to the same org, and each socket's writes of the read are coalesced.
   */
  deliverFrame(view: PartitionView, offset: string, frame: EncodedFrame, coalesce: boolean): void;
  /** A reader of partition `index` read `count` entries. */
  entriesRead(index: number, count: number): void;
  /** Sends a volatile frame to the local sockets of a room. */
  sendVolatile(room: string, frame: DeliveryFrame): void;
  /** Sends a presence change (published on the partition's volatile channel) to the local sockets of a room. */
  sendPresence?(room: string, change: PresenceChange): void;
  /** Counts a durable frame delivered by the in-memory adapter (memory mode). */
  countDelivery(rooms: string[], events: number, firstTs: number | undefined): void;
  /** The partition's stream lost what this node's sockets were owed (new epoch, or trimmed unread). */
  partitionReset(view: PartitionView, reason: 'stream-reset' | 'trimmed'): void;
  /** Registers what must be closed if start-up fails. */
  opened: (() => Promise<unknown>)[];
}

/** Longest blocking read, in ms: also how long a stopping reader may take. */
const READ_BLOCK_MS = 1000;
/** Most entries one read returns. */
const READ_COUNT = 500;
/** How often a reader checks that its partition's stream has not moved backwards, in ms. */
const STREAM_CHECK_INTERVAL_MS = 1000;
/** The Socket.IO adapter's own stream (cluster-wide Socket.IO features, never Roomwire events). */
const CONTROL_STREAM_SUFFIX = ':{control}:socket.io';

/** Opens the cluster transport when Redis is configured, the in-memory one otherwise. */
export async function openEventTransport(opts: ResolvedNodeOptions, deps: TransportDeps): Promise<EventTransport> {
  const target: RedisTarget | undefined =
    opts.redisClusterUrls.length > 0 ? { clusterUrls: opts.redisClusterUrls } : opts.redisUrl !== undefined ? { url: opts.redisUrl } : undefined;
  return target === undefined ? memoryTransport(opts, deps) : redisTransport(target, opts, deps);
}

/** The partition index carried in a session id (`<index>.<pid>`), so its session sits in its slot. */
export function partitionOfPid(pid: string, count: number): number | undefined {
  const dot = pid.indexOf('.');
  if (dot < 1) return undefined;
  const index = Number(pid.slice(0, dot));
  return Number.isInteger(index) && index >= 0 && index < count ? index : undefined;
}

interface ActivePartition {
  users: number;
  starting: Promise<PartitionView>;
  stopTimer: NodeJS.Timeout | undefined;
  stop(): Promise<void>;
}

async function redisTransport(target: RedisTarget, opts: ResolvedNodeOptions, deps: TransportDeps): Promise<EventTransport> {
  const { logger, opened } = deps;
  const onError = (err: Error): void => logger.warn({ err: err.message }, 'redis connection error');
  // The adapter's client queues while Redis is away (its read loop must not spin); ours fails fast.
  const adapterRedis = await connectRedis(target, { failFast: false, name: `roomwire-adapter-${opts.nodeId}`, onError });
  opened.push(() => adapterRedis.close());
  const redis = await connectRedis(target, { failFast: true, name: `roomwire-${opts.nodeId}`, onError });
  opened.push(() => redis.close());
  const count = opts.streamPartitions;
  const keys = allPartitionKeys(opts.keyPrefix, count);
  const logs = keys.map(
    (k) =>
      new RedisStreamLog(redis, k, {
        replayWindowMs: opts.replayWindowMs,
        maxStreamLength: opts.maxStreamLength,
        compressFramesMinBytes: opts.compressFramesMinBytes,
      }),
  );
  const sessions = redisSessionStore(redis, (pid) => {
    const index = partitionOfPid(pid, count);
    return index === undefined ? undefined : (keys[index] as (typeof keys)[number]).sessionPrefix + pid;
  }, opts.replayWindowMs);
  const heartbeatIntervalMs = Math.min(5000, effectivePositionIntervalMs(opts));
  const active = new Map<number, ActivePartition>();
  const views = new Map<number, PartitionView>();
  let closed = false;

  const startPartition = async (index: number): Promise<{ view: PartitionView; stop(): Promise<void> }> => {
    const log = logs[index] as RedisStreamLog;
    let tail = new TailCache({ maxAgeMs: opts.recoveryCacheMs, maxBytes: opts.recoveryCacheBytes });
    let reader: PartitionReader | undefined;
    const view: PartitionView = {
      index,
      log,
      epoch: () => reader?.epoch ?? '',
      readerOffset: () => reader?.offset ?? '0-0',
      get tail() {
        return tail;
      },
    };
    const channel = log.keys.volatileChannel;
    await redis.subscribe(channel, (message) => {
      const parsed = parseVolatile(message);
      if (parsed === undefined) return;
      if ('frame' in parsed) deps.sendVolatile(parsed.room, parsed.frame);
      else deps.sendPresence?.(parsed.room, parsed.presence);
    });
    const connection = await redis.dedicated(`roomwire-reader-${opts.nodeId}-${index}`).catch(async (err: unknown) => {
      await redis.unsubscribe(channel).catch(() => undefined);
      throw err;
    });
    try {
      reader = await PartitionReader.start(
        log,
        connection,
        {
          blockMs: READ_BLOCK_MS,
          readCount: READ_COUNT,
          heartbeatIntervalMs,
          checkIntervalMs: STREAM_CHECK_INTERVAL_MS,
          nodeId: opts.nodeId,
          reconnect: () => redis.dedicated(`roomwire-reader-${opts.nodeId}-${index}`),
        },
        {
          frame(offset, frame, coalesce) {
            tail.append(offset, frame);
            deps.deliverFrame(view, offset, frame, coalesce);
          },
          read(entries) {
            deps.entriesRead(index, entries);
          },
          epochChanged(previous: string, record: EpochRecord, why: PartitionState['status']) {
            logger.warn({ partition: index, previous, current: record.epoch, start: record.start, why }, 'the partition stream was lost or moved backwards: new epoch, its synced sockets resync');
            tail = new TailCache({ maxAgeMs: opts.recoveryCacheMs, maxBytes: opts.recoveryCacheBytes });
            tail.start(record.start);
            deps.partitionReset(view, 'stream-reset');
          },
          fellBehind() {
            logger.warn({ partition: index }, 'entries were trimmed before this node read them: its synced sockets of the partition resync');
            tail = new TailCache({ maxAgeMs: opts.recoveryCacheMs, maxBytes: opts.recoveryCacheBytes });
            tail.start(view.readerOffset());
            deps.partitionReset(view, 'trimmed');
          },
          failed(err) {
            if (!closed) logger.warn({ partition: index, err: err.message }, 'stream read failed; checking the stream before reading on');
          },
        },
      );
    } catch (err) {
      await Promise.allSettled([connection.close(), redis.unsubscribe(channel)]);
      throw err;
    }
    tail.start(reader.offset);
    logger.debug({ partition: index, offset: reader.offset, epoch: reader.epoch }, 'reading partition');
    const started = reader;
    return {
      view,
      async stop() {
        await Promise.allSettled([started.stop(), redis.unsubscribe(channel)]);
        logger.debug({ partition: index }, 'stopped reading partition');
      },
    };
  };

  const acquire = async (index: number): Promise<PartitionView> => {
    if (closed) throw new Error('the event transport is closed');
    let entry = active.get(index);
    if (entry === undefined) {
      let stopper: (() => Promise<void>) | undefined;
      const starting = startPartition(index).then(({ view, stop }) => {
        stopper = stop;
        views.set(index, view);
        return view;
      });
      const created: ActivePartition = {
        users: 0,
        starting,
        stopTimer: undefined,
        async stop() {
          if (active.get(index) === created) active.delete(index);
          views.delete(index);
          await starting.catch(() => undefined);
          await stopper?.();
        },
      };
      entry = created;
      active.set(index, entry);
      starting.catch(() => {
        if (active.get(index) === created) active.delete(index);
      });
    }
    entry.users += 1;
    clearTimeout(entry.stopTimer);
    entry.stopTimer = undefined;
    try {
      return await entry.starting;
    } catch (err) {
      entry.users -= 1;
      throw err;
    }
  };

  const release = (index: number): void => {
    const entry = active.get(index);
    if (entry === undefined || entry.users === 0) return;
    entry.users -= 1;
    if (entry.users > 0 || closed) return;
    entry.stopTimer = setTimeout(() => void entry.stop(), opts.partitionIdleGraceMs);
    entry.stopTimer.unref();
  };

  const adapterOptions = {
    streamName: opts.keyPrefix + CONTROL_STREAM_SUFFIX,
    maxLen: 10_000,
    heartbeatInterval: 5000,
    heartbeatTimeout: 15_000,
    // Shorter blocking reads let a closing node release its reader connection quickly.
    blockTimeInMs: 1000,
  };
  const adapter = createAdapter(
    adapterClient(adapterRedis.client, (err, what) => logger.warn({ err: err.message }, `${what} failed`)),
    adapterOptions,
  );
  const hooked = function roomwireAdapter(nsp: unknown): Adapter {
    const instance = (adapter as (nsp: unknown) => Adapter)(nsp);
    installSessionHooks(instance, {
      store: sessions,
      logOf: (pid) => {
        const index = partitionOfPid(pid, count);
        return index === undefined ? undefined : (logs[index] as EventLog);
      },
      epochOf: (pid) => {
        const index = partitionOfPid(pid, count);
        return index === undefined ? '' : (views.get(index)?.epoch() ?? '');
      },
      logger,
      track: deps.trackSession,
    });
    return instance;
  } as unknown as ServerOptions['adapter'];

  return {
    sink: {
      append: (room, frame, options) => (logs[partitionOf(orgOfRoom(room), count)] as RedisStreamLog).append(room, frame, options),
    },
    logOf: (org) => logs[partitionOf(org, count)] as RedisStreamLog,
    sessions,
    adapter: hooked,
    redis,
    partitionCount: count,
    partitionOf: (org) => partitionOf(org, count),
    acquire,
    release,
    active: () => [...views.values()],
    tailSize: () => {
      let entries = 0;
      let bytes = 0;
      for (const view of views.values()) {
        entries += view.tail?.size ?? 0;
        bytes += view.tail?.bytes ?? 0;
      }
      return { entries, bytes };
    },
    async start() {},
    async close() {
      closed = true;
      sessions.close();
      const stopping = [...active.values()].map((entry) => {
        clearTimeout(entry.stopTimer);
        return entry.stop();
      });
      await Promise.allSettled(stopping);
      await Promise.allSettled([redis.close(), adapterRedis.close()]);
    },
  };
}

function memoryTransport(opts: ResolvedNodeOptions, deps: TransportDeps): EventTransport {
  const log = new MemoryStreamLog({ replayWindowMs: opts.replayWindowMs, maxStreamLength: opts.maxStreamLength, compressFramesMinBytes: opts.compressFramesMinBytes });
  const sessions = memorySessionStore(opts.replayWindowMs);
  const view: PartitionView = {
    index: 0,
    log,
    epoch: () => log.currentEpoch,
    readerOffset: () => log.deliveredOffset,
    // The memory log is itself the replay source: no tail needed.
    tail: undefined,
  };
  const adapter = memoryAdapterClass(
    log,
    deps.gate,
    (instance) =>
      installSessionHooks(instance, { store: sessions, logOf: () => log, epochOf: () => log.currentEpoch, logger: deps.logger, track: deps.trackSession }),
    (rooms, frame) => deps.countDelivery(rooms, frameEventCount(frame), 'events' in frame ? frame.events[0]?.ts : undefined),
  );
  return {
    sink: log,
    logOf: () => log,
    sessions,
    adapter,
    redis: undefined,
    partitionCount: 1,
    partitionOf: () => 0,
    acquire: async () => view,
    release: () => undefined,
    active: () => [view],
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

function parseVolatile(message: string): { room: string; frame: DeliveryFrame } | { room: string; presence: PresenceChange } | undefined {
  try {
    const value = JSON.parse(message) as { room?: unknown; frame?: unknown; presence?: unknown };
    if (typeof value.room !== 'string') return undefined;
    if (isPresenceChange(value.presence)) return { room: value.room, presence: value.presence };
    return isDeliveryFrame(value.frame) ? { room: value.room, frame: value.frame } : undefined;
  } catch {
    return undefined;
  }
}

/** Why: presence changes share the volatile channel with frames; anything else on it is ignored. */
function isPresenceChange(value: unknown): value is PresenceChange {
  if (typeof value !== 'object' || value === null) return false;
  const { service, type, userId } = value as Record<string, unknown>;
  return typeof service === 'string' && (type === 'join' || type === 'leave') && typeof userId === 'string';
}
