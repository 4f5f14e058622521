import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { startRedis, startRedisCluster, type RedisClusterHandle, type RedisServerHandle } from '../../../test/harness';
import { startNodeProcess, type NodeProcess } from '../systems/node-process';
import { parseMetrics, type MetricSample } from './metrics-text';

/** Where a fleet's events are stored: one Redis, or a Redis Cluster of `masters` masters (no replicas). */
export type RedisShape = { kind: 'standalone' } | { kind: 'cluster'; masters: number };

/** One Redis server process of a fleet: a standalone Redis or a cluster master. */
export interface FleetRedis {
  url: string;
  pid: number;
  port: number;
}

/** Roomwire nodes on their own Redis (or Redis Cluster), started for one measurement. */
export interface Fleet {
  shape: RedisShape;
  /** The standalone Redis, or every master of the cluster. */
  redis: FleetRedis[];
  /** What a publisher connects with: `{ redisUrl }` or `{ redisCluster }`. */
  publisherTarget: { redisUrl: string } | { redisCluster: string[] };
  nodes: NodeProcess[];
  jwtSecret: string;
  publishApiKey: string;
  streamPartitions: number;
  /** Every sample of node `index`'s `GET /metrics`. */
  metrics(index: number): Promise<MetricSample[]>;
  stop(): Promise<void>;
}

/** Options of {@link startFleet}. */
export interface FleetOptions {
  redis: RedisShape;
  /** Roomwire nodes (server CLI processes). */
  nodeCount: number;
  /** STREAM_PARTITIONS of nodes and publishers. */
  streamPartitions: number;
  /** More node environment. */
  nodeEnv?: Record<string, string>;
}

/** How long a node keeps reading a partition after its last socket of it left, in ms (short: modes follow each other). */
export const BENCH_PARTITION_IDLE_GRACE_MS = 500;

/** A one-off GET on loopback (no keep-alive pool that would outlive the run). */
export function getText(url: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${url} answered ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/**
 * Starts a private Redis (never the default port) or a Redis Cluster without replicas
 * (`test/harness/redis-cluster.ts`), then `nodeCount` Roomwire nodes on it as child processes (the
 * bench's `startNodeProcess`). Everything started is stopped again if a later step fails.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const jwtSecret = randomBytes(32).toString('hex');
  const publishApiKey = randomBytes(24).toString('hex');
  let standalone: RedisServerHandle | undefined;
  let cluster: RedisClusterHandle | undefined;
  const nodes: NodeProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    await standalone?.cleanup();
    await cluster?.cleanup();
  };
  try {
    let redisEnv: Record<string, string>;
    let redis: FleetRedis[];
    let publisherTarget: Fleet['publisherTarget'];
    if (options.redis.kind === 'standalone') {
      standalone = await startRedis();
      redisEnv = { REDIS_URL: standalone.url };
      redis = [{ url: standalone.url, pid: standalone.pid, port: standalone.port }];
      publisherTarget = { redisUrl: standalone.url };
    } else {
      cluster = await startRedisCluster({ masters: options.redis.masters, replicasPerMaster: 0 });
      redisEnv = { REDIS_CLUSTER_URLS: cluster.urls.join(',') };
      const masterPorts = new Set(await cluster.masterPorts());
      redis = cluster.nodes.filter((n) => masterPorts.has(n.port)).map((n) => ({ url: n.url, pid: n.server.pid, port: n.port }));
      publisherTarget = { redisCluster: [...cluster.urls] };
    }
    const started = await Promise.allSettled(
      Array.from({ length: options.nodeCount }, (_, i) =>
        startNodeProcess({
          env: {
            NODE_ENV: 'production',
            LOG_LEVEL: 'warn',
            NODE_ID: `scale-out-${i}`,
            ...redisEnv,
            STREAM_PARTITIONS: String(options.streamPartitions),
            JWT_SECRET: jwtSecret,
            PUBLISH_API_KEY: publishApiKey,
            // Every load client shares 127.0.0.1, and one key publishes everything.
            RATE_LIMIT_HANDSHAKES_PER_IP_PER_10S: '0',
            RATE_LIMIT_PUBLISHES_PER_SECOND: '10000000',
            PARTITION_IDLE_GRACE_MS: String(BENCH_PARTITION_IDLE_GRACE_MS),
            ...options.nodeEnv,
          },
        }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    return {
      shape: options.redis,
      redis,
      publisherTarget,
      nodes,
      jwtSecret,
      publishApiKey,
      streamPartitions: options.streamPartitions,
      async metrics(index) {
        const node = nodes[index];
        if (!node) throw new RangeError(`no node ${index}`);
        return parseMetrics(await getText(`${node.url}/metrics`));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
