import { catalog as exampleCatalog, type BatchItemResult, type Catalog, type CatalogDefinition, type EventData, type EventType, type ServiceName } from '@roomwire/shared';
import { publishBatch } from './publish-batch';
import { orgOfRoom, type PartitionAffinity } from '@roomwire/shared';
import { affinityFor } from '../affinity';
import { connectRedis, standaloneHandle, type RedisClient, type RedisHandle } from '../stream/redis-client';
import { RedisStreamLog } from '../stream/redis-stream-log';
import { allPartitionKeys, partitionOf } from '../stream/partitions';
import { nodeDefaults } from '../config/node-options';
import { createPublishPipeline, type PublishResult } from './publish-pipeline';
import { resolveBatchingOptions, type BatchingOptions } from '../batching/room-batcher';

/** Options of {@link createPublisher}. */
export interface PublisherOptions<C extends CatalogDefinition = Catalog> {
  /** Redis URL of the nodes' one Redis; or pass `redis`, or `redisCluster`. */
  redisUrl?: string;
  /** Seed node URLs of the nodes' Redis Cluster. */
  redisCluster?: string[];
  /** A connected node-redis client (of one Redis) to use instead of `redisUrl`; it is not closed by `close()`. */
  redis?: RedisClient;
  /** Must equal the nodes' partition count. @default 1 */
  streamPartitions?: number;
  /** The event catalog; must be the nodes' catalog. @default the example catalog */
  catalog?: C;
  /** Must equal the nodes' replay window: appends trim the stream by it, in ms. @default 300000 */
  replayWindowMs?: number;
  /** Must equal the nodes' stream length cap. @default 1000000 */
  maxStreamLength?: number;
  /** Must equal the nodes' key prefix. @default 'roomwire' */
  keyPrefix?: string;
  /** Largest accepted event, in bytes. @default 65536 */
  maxPayloadBytes?: number;
  /** Frames whose JSON is at least this many bytes are stored compressed; 0 turns it off. @default 2048 */
  compressFramesMinBytes?: number;
  /** Adaptive batching per room, or `false` to send every event in a frame of its own. @default batchingDefaults */
  batching?: BatchingOptions | false;
}

/** Options of one emit. */
export interface EmitOptions {
  /** A retry with the same key within the replay window is not delivered twice. */
  idempotencyKey?: string;
}

/** Publishes the events of one org and service. */
export interface ServiceEmitter<C extends CatalogDefinition, S extends ServiceName<C>> {
  /**
   * Validates and publishes one event; resolves once it is in the stream.
   * @throws RoomwireError `RW_ERR_UNKNOWN_EVENT`, `RW_ERR_INVALID_PAYLOAD`, `RW_ERR_INVALID_REQUEST`,
   * `RW_ERR_PAYLOAD_TOO_LARGE` (nothing sent), or `RW_ERR_UNAVAILABLE` (Redis down; retry).
   */
  emit<T extends EventType<C, S>>(type: T, data: EventData<C, S, T>, options?: EmitOptions): Promise<PublishResult>;
}

/** One event of {@link Publisher.emitMany}: any event type of the catalog, with its payload type. */
export type BatchEvent<C extends CatalogDefinition = Catalog> = {
  [S in ServiceName<C>]: {
    [T in EventType<C, S>]: { org: string; service: S; type: T; data: EventData<C, S, T>; idempotencyKey?: string };
  }[EventType<C, S>];
}[ServiceName<C>];

/** A publisher for trusted service code inside the network. */
export interface Publisher<C extends CatalogDefinition = Catalog> {
  /** Targets the room of one service of one org. */
  to<S extends ServiceName<C>>(org: string, service: S): ServiceEmitter<C, S>;
  /**
   * Publishes up to 100 events of any orgs and services, each validated on its own, as
   * `POST /v1/publish/batch` does: resolves with one result per event, in order, `{ id, offset,
   * duplicate }` or `{ error: { code, message } }` (a refused event does not stop the others).
   * @throws RoomwireError `RW_ERR_INVALID_REQUEST` when `events` holds no event or more than 100 (nothing sent).
   *
   * @example
   * const results = await publisher.emitMany([
   *   { org: 'acme', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 4200 } },
   *   { org: 'acme', service: 'tickets', type: 'ticket.updated', data: { ticketId: 'T-1', status: 'open' }, idempotencyKey: 'T-1-open' },
   * ]);
   */
  emitMany(events: readonly BatchEvent<C>[]): Promise<BatchItemResult[]>;
  /**
   * `{ org, partitions }` with this publisher's `streamPartitions`, for a token endpoint to return to
   * clients with partition affinity (`createClient({ affinity })`); see `affinityFor`.
   */
  affinityFor(org: string): PartitionAffinity;
  /** Sends what is batched, then closes the Redis connection the publisher opened. */
  close(): Promise<void>;
}

/**
 * Creates a publisher that writes events straight into the cluster's Redis stream; every node
 * delivers them to its sockets.
 *
 * @example
 * const publisher = await createPublisher({ redisUrl: 'redis://127.0.0.1:6379' });
 * const { id, offset } = await publisher.to('acme', 'billing').emit('invoice.paid', { invoiceId: 'in_1', amountCents: 4200 });
 */
export async function createPublisher<C extends CatalogDefinition = Catalog>(options: PublisherOptions<C>): Promise<Publisher<C>> {
  const targets = [options.redis, options.redisUrl, options.redisCluster].filter((t) => t !== undefined).length;
  if (targets !== 1) throw new TypeError('createPublisher: set exactly one of redisUrl, redisCluster and redis');
  const onError = (): void => undefined;
  const redis: RedisHandle = options.redis
    ? standaloneHandle(options.redis, { owned: false, onError })
    : await connectRedis(options.redisCluster ? { clusterUrls: options.redisCluster } : { url: options.redisUrl as string }, {
        failFast: true,
        name: 'roomwire-publisher',
        onError,
      });
  const count = options.streamPartitions ?? nodeDefaults.streamPartitions;
  const logs = allPartitionKeys(options.keyPrefix ?? nodeDefaults.keyPrefix, count).map(
    (keys) =>
      new RedisStreamLog(redis, keys, {
        replayWindowMs: options.replayWindowMs ?? nodeDefaults.replayWindowMs,
        maxStreamLength: options.maxStreamLength ?? nodeDefaults.maxStreamLength,
        compressFramesMinBytes: options.compressFramesMinBytes ?? nodeDefaults.compressFramesMinBytes,
      }),
  );
  const sink = { append: (...args: Parameters<RedisStreamLog['append']>) => (logs[partitionOf(orgOfRoom(args[0]), count)] as RedisStreamLog).append(...args) };
  const { publish, flush } = createPublishPipeline({
    catalog: options.catalog ?? (exampleCatalog as unknown as C),
    sink,
    maxPayloadBytes: options.maxPayloadBytes ?? nodeDefaults.maxPayloadBytes,
    batching: resolveBatchingOptions(options.batching, 'createPublisher'),
  });
  return {
    to(org, service) {
      return {
        emit(type, data, emitOptions = {}) {
          const request = { org, service, type, data, ...(emitOptions.idempotencyKey === undefined ? {} : { idempotencyKey: emitOptions.idempotencyKey }) };
          return publish(request);
        },
      };
    },
    emitMany: (events) => publishBatch(publish, events),
    affinityFor: (org) => affinityFor(org, { streamPartitions: count }),
    async close() {
      await flush();
      await redis.close();
    },
  };
}
