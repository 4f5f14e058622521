import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startRedis, type RedisServerHandle } from '../../../test/harness';
import { RpcChild } from '../ipc/rpc';
import type { PublisherApi } from '../publish/publisher-api';
import { startNodeProcess, type NodeProcess } from './node-process';
import { batchingOf, isPlainSocketIo, type SystemName } from './system-names';

const PUBLISHER_ENTRY = path.join(__dirname, '../publish/publisher-process.ts');
const BASELINE_SERVER_ENTRY = path.join(__dirname, '../baseline/server.ts');
/** The server CLI with the bench-only memory probe loaded first (as the baseline server loads it). */
const ROOMWIRE_NODE_ENTRY = path.join(__dirname, 'roomwire-node-entry.ts');

/** One system under test, running: its Redis, its server processes and its publisher process. */
export interface RunningSystem {
  name: SystemName;
  redisUrl: string;
  redisPid: number;
  nodes: NodeProcess[];
  publisher: RpcChild<PublisherApi>;
  /** HS256 secret the Roomwire nodes verify client tokens with. */
  jwtSecret: string;
  stop(): Promise<void>;
}

/** The environment of a Roomwire node: production mode, quiet logs, the system's batching, no per-address limit. */
function roomwireEnv(system: SystemName, index: number, redisUrl: string, jwtSecret: string, extra: Record<string, string>): Record<string, string> {
  const batching = batchingOf(system);
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    NODE_ID: `${system}-${index}`,
    REDIS_URL: redisUrl,
    JWT_SECRET: jwtSecret,
    PUBLISH_API_KEY: randomBytes(24).toString('hex'),
    // Thousands of load clients share 127.0.0.1: the per-address handshake limit would refuse them.
    RATE_LIMIT_HANDSHAKES_PER_IP_PER_10S: '0',
    ...(batching === false
      ? { BATCH_WINDOW_MS: '0' }
      : {
          BATCH_WINDOW_MS: String(batching.batchWindowMs),
          MAX_BATCH_EVENTS: String(batching.maxBatchEvents),
          MAX_BATCH_BYTES: String(batching.maxBatchBytes),
          BATCH_LEADING_EVENTS: String(batching.leadingEvents),
        }),
    ...extra,
  };
}

/** Options of {@link startSystem}. */
export interface StartSystemOptions {
  /** Extra environment of the Roomwire nodes (e.g. `COMPRESSION_THRESHOLD_BYTES`); the baseline ignores it. */
  roomwireNodeEnv?: Record<string, string>;
  /** Server processes, default 2. */
  nodeCount?: number;
  /** Start every server process with the bench-only memory probe (`NodeProcess#memory`). */
  memoryProbe?: boolean;
}

/**
 * Starts a system on a private redis-server (never the default port): `nodeCount` nodes (2) and a publisher
 * process. Everything started is stopped again if a later step fails.
 */
export async function startSystem(name: SystemName, options: StartSystemOptions = {}): Promise<RunningSystem> {
  const nodeCount = options.nodeCount ?? 2;
  const probe = options.memoryProbe === true;
  const jwtSecret = randomBytes(32).toString('hex');
  const redis: RedisServerHandle = await startRedis();
  const nodes: NodeProcess[] = [];
  let publisher: RpcChild<PublisherApi> | undefined;
  const stop = async (): Promise<void> => {
    if (publisher) {
      await publisher.call('close', {}).catch(() => undefined);
      await publisher.stop();
    }
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.cleanup();
  };
  try {
    const started = await Promise.allSettled(
      Array.from({ length: nodeCount }, (_, i) =>
        isPlainSocketIo(name)
          ? startNodeProcess({ env: { REDIS_URL: redis.url, BASELINE_ADAPTER: name === 'baseline-pubsub' ? 'pubsub' : 'streams' }, entry: BASELINE_SERVER_ENTRY, probe })
          : startNodeProcess({ env: roomwireEnv(name, i, redis.url, jwtSecret, options.roomwireNodeEnv ?? {}), entry: ROOMWIRE_NODE_ENTRY, probe }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    publisher = RpcChild.fork<PublisherApi>(PUBLISHER_ENTRY, `${name}/publisher`);
    await publisher.call('init', { system: name, redisUrl: redis.url });
  } catch (err) {
    await stop();
    throw err;
  }
  return { name, redisUrl: redis.url, redisPid: redis.pid, nodes, publisher, jwtSecret, stop };
}
