import { randomBytes } from 'node:crypto';
import {
  freePort,
  spawnNode,
  startRedis,
  startRedisCluster,
  startTcpProxy,
  type ChildNodeHandle,
  type RedisClusterHandle,
  type RedisClusterOptions,
  type RedisServerHandle,
  type RedisServerOptions,
  type TcpProxy,
} from '../../test/harness';
import type { BalancerHandle, BalancerKind } from './balancer-process';
import { startHaproxy } from './haproxy';
import { startNginx } from './nginx';

/** The committed balancer configs name three servers, node1 to node3. */
export const NODE_NAMES = ['node1', 'node2', 'node3'] as const;

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** The load balancer in front of the nodes. @default 'haproxy' */
  balancer?: BalancerKind;
  /** Loopback port of the balancer; 0 picks a free one. @default 0 */
  port?: number;
  /** Loopback port of HAProxy's stats page; 0 picks a free one (nginx has none). @default 0 */
  statsPort?: number;
  /** Loopback ports of node1, node2 and node3; 0 picks a free one. @default [0, 0, 0] */
  nodePorts?: readonly [number, number, number];
  /** Called with everything a node prints (its JSON logs), with the node's name. @default undefined */
  onNodeOutput?: (name: string, chunk: Buffer) => void;
  /** HS256 secret of client tokens, shared by every node. @default 32 random bytes */
  jwtSecret?: string;
  /** Bearer key of `POST /v1/publish`. @default 24 random bytes */
  publishApiKey?: string;
  /** More environment for every node, over the defaults (e.g. `{ LOG_LEVEL: 'debug' }`). */
  env?: Record<string, string>;
  /** Options of the private redis-server (e.g. `{ appendOnly: true }`). @default no persistence */
  redis?: RedisServerOptions;
  /**
   * Run the nodes on a real Redis Cluster of this shape (test/harness/redis-cluster.ts) instead of one
   * redis-server: {@link LocalCluster.redisCluster} is set, {@link LocalCluster.redis} throws. Set
   * `STREAM_PARTITIONS` in `env` to spread orgs over the masters. @default undefined (one redis-server)
   */
  redisCluster?: RedisClusterOptions;
  /**
   * Nodes reach Redis through a loopback TCP proxy ({@link LocalCluster.redisProxy}), so that a test
   * can make Redis unreachable for them (`cut()`) and reachable again (`restore()`). @default false
   */
  redisThroughProxy?: boolean;
}

/** One node of a local cluster, a child process of this one. */
export interface LocalNode {
  /** `node1` …: its name in the balancer config and its `NODE_ID`. */
  readonly name: string;
  readonly port: number;
  /** The node itself, bypassing the balancer. */
  readonly url: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  /** Whether the current process is still running. */
  running(): boolean;
  /** Sends `signal` (SIGTERM drains, SIGKILL crashes) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Drains (SIGTERM), starts again on the same port, and resolves once the balancer sends it new sessions. */
  restart(): Promise<void>;
  /**
   * Starts the node again on the same port after it exited (e.g. after `stop('SIGKILL')`), and
   * resolves once the balancer sends it new sessions. Throws if it is still running.
   */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP) without ending it: it holds its sockets but answers nothing. */
  pause(): void;
  /** Lets a paused process run again (SIGCONT). */
  resume(): void;
  /** Whether the process is paused by {@link pause}. */
  paused(): boolean;
  /** Last lines the node printed. */
  output(): string;
}

/** Redis, three nodes and a load balancer on loopback, with one `stop()`. */
export interface LocalCluster {
  /** The balancer's URL: what clients connect to. */
  readonly url: string;
  readonly jwtSecret: string;
  readonly publishApiKey: string;
  /** The one redis-server; throws when the cluster runs on a Redis Cluster (see {@link redisCluster}). */
  readonly redis: RedisServerHandle;
  /** The Redis Cluster, with the `redisCluster` option. */
  readonly redisCluster: RedisClusterHandle | undefined;
  /** The proxy between the nodes and Redis, with `redisThroughProxy`. */
  readonly redisProxy: TcpProxy | undefined;
  /** The Redis URL the nodes use (the proxy's with `redisThroughProxy`; a seed's on a Redis Cluster). */
  readonly nodeRedisUrl: string;
  readonly nodes: readonly LocalNode[];
  readonly balancer: BalancerHandle;
  /** Drains every node (in parallel), then stops the balancer and Redis. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server, three Roomwire nodes (the server CLI, from source) and a real
 * HAProxy or nginx in front of them running the committed config, all on free loopback ports.
 * `npm run cluster` and the load-balancer tests both run it.
 *
 * @example
 * const cluster = await startLocalCluster({ balancer: 'nginx' });
 * const client = createClient({ url: cluster.url, token, services: ['billing'] });
 * await cluster.stop();
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const kind = options.balancer ?? 'haproxy';
  const jwtSecret = options.jwtSecret ?? randomBytes(32).toString('base64url');
  const publishApiKey = options.publishApiKey ?? randomBytes(24).toString('base64url');
  if (options.redisCluster && (options.redisThroughProxy || options.redis)) {
    throw new TypeError('startLocalCluster: redisCluster runs without a proxy and without the options of a single redis-server');
  }
  const redisCluster = options.redisCluster ? await startRedisCluster(options.redisCluster) : undefined;
  const redis = redisCluster ? undefined : await startRedis(options.redis);
  const nodes: LocalNode[] = [];
  let balancer: BalancerHandle | undefined;
  let redisProxy: TcpProxy | undefined;

  const stopAll = async (): Promise<void> => {
    // Nodes drain through Redis: let them reach it again first.
    redisProxy?.restore();
    await Promise.allSettled(nodes.map((node) => node.stop('SIGTERM')));
    await balancer?.stop();
    await redisProxy?.close();
    await redis?.cleanup();
    await redisCluster?.cleanup();
  };

  try {
    if (options.redisThroughProxy && redis) redisProxy = await startTcpProxy(redis.port);
    const ports = await Promise.all(NODE_NAMES.map((_, i) => options.nodePorts?.[i] || freePort()));
    const baseEnv = {
      HOST: '127.0.0.1',
      ...(redisCluster ? { REDIS_CLUSTER_URLS: redisCluster.urls.join(',') } : { REDIS_URL: redisProxy ? `redis://127.0.0.1:${redisProxy.port}` : (redis as RedisServerHandle).url }),
      JWT_SECRET: jwtSecret,
      PUBLISH_API_KEY: publishApiKey,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      // HAProxy takes a node out after two failed /readyz checks 1 s apart: stop sending it sessions first.
      DRAIN_DELAY_MS: '3000',
      // Both balancers append the client's address to X-Forwarded-For: the nodes trust that one hop.
      TRUST_PROXY: '1',
      ...options.env,
    };
    // Settled, not Promise.all: when one node fails to start, the others may still be starting, and
    // must be stopped too (they were left running, holding the jest worker open).
    const launches = await Promise.allSettled(NODE_NAMES.map((name, i) => launchNode(name, ports[i] as number, baseEnv, () => balancer, options.onNodeOutput)));
    for (const launch of launches) if (launch.status === 'fulfilled') nodes.push(launch.value);
    const failed = launches.find((launch): launch is PromiseRejectedResult => launch.status === 'rejected');
    if (failed) throw failed.reason;
    const addresses = ports.map((p) => `127.0.0.1:${p}`) as [string, string, string];
    const port = options.port || (await freePort());
    balancer =
      kind === 'nginx'
        ? await startNginx({ port, nodes: addresses })
        : await startHaproxy({
            port,
            statsPort: options.statsPort || (await freePort()),
            nodes: addresses,
            sticky: kind !== 'haproxy-roundrobin',
            affinity: kind === 'haproxy-affinity',
          });
  } catch (err) {
    await stopAll();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const started = balancer;
  return {
    url: started.url,
    jwtSecret,
    publishApiKey,
    get redis(): RedisServerHandle {
      if (!redis) throw new Error('this local cluster runs on a Redis Cluster: use redisCluster');
      return redis;
    },
    redisCluster,
    redisProxy,
    nodeRedisUrl: redisProxy ? `redis://127.0.0.1:${redisProxy.port}` : (redis?.url ?? (redisCluster as RedisClusterHandle).urls[0] as string),
    nodes,
    balancer: started,
    stop: () => (stopping ??= stopAll()),
  };
}

async function launchNode(
  name: string,
  port: number,
  baseEnv: Record<string, string>,
  balancer: () => BalancerHandle | undefined,
  onOutput: ((name: string, chunk: Buffer) => void) | undefined,
): Promise<LocalNode> {
  const url = `http://127.0.0.1:${port}`;
  const spawn = (): Promise<ChildNodeHandle> =>
    spawnNode({
      env: { ...baseEnv, PORT: String(port), NODE_ID: name },
      readyUrl: `${url}/readyz`,
      ...(onOutput ? { onOutput: (chunk: Buffer) => onOutput(name, chunk) } : {}),
    });
  let current = await spawn();
  let alive = true;
  let isPaused = false;
  const watch = (handle: ChildNodeHandle): void => {
    void handle.exited.then(() => {
      if (handle === current) alive = false;
    });
  };
  watch(current);
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(current.pid, sig);
    } catch {
      // already gone
    }
  };
  const resume = (): void => {
    if (!isPaused) return;
    isPaused = false;
    if (alive) signal('SIGCONT');
  };
  const stop = async (sig: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    // A stopped process only acts on a signal (other than SIGKILL) once it runs again.
    if (sig !== 'SIGKILL') resume();
    await current.kill(sig);
    isPaused = false;
  };
  const start = async (): Promise<void> => {
    if (alive) throw new Error(`${name} is still running (pid ${current.pid})`);
    current = await spawn();
    alive = true;
    watch(current);
    await balancer()?.waitUntilInRotation(name);
  };
  return {
    name,
    port,
    url,
    get pid() {
      return current.pid;
    },
    running: () => alive,
    stop,
    async restart() {
      await stop('SIGTERM');
      await start();
    },
    start,
    pause() {
      if (!alive || isPaused) return;
      isPaused = true;
      signal('SIGSTOP');
    },
    resume,
    paused: () => isPaused,
    output: () => current.output(),
  };
}
