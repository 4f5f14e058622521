import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { freePort } from './ports';
import { startRedis, type RedisServerHandle } from './redis-server';
import { waitUntil } from './wait';

const run = promisify(execFile);

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters (each owns an equal, contiguous range of the 16384 slots). Default 3. */
  masters?: number;
  /** Replicas of each master. Default 1. */
  replicasPerMaster?: number;
  /** How long a node may be unreachable before the cluster fails it over, in ms. Default 1000. */
  nodeTimeoutMs?: number;
}

/** One node of a test cluster. */
export interface ClusterNode {
  readonly server: RedisServerHandle;
  readonly port: number;
  readonly url: string;
}

/** A real Redis Cluster of `redis-server --cluster-enabled yes` processes on loopback, owned by a test. */
export interface RedisClusterHandle {
  readonly nodes: readonly ClusterNode[];
  /** Seed URLs (every node). */
  readonly urls: string[];
  /** The node that is master of `slot` now (asks the cluster). */
  masterOf(slot: number): Promise<ClusterNode>;
  /** The ports of the current masters. */
  masterPorts(): Promise<number[]>;
  /** A replica of the master on `masterPort` (now). */
  replicaOf(masterPort: number): Promise<ClusterNode>;
  /** Freezes a node (SIGSTOP): it answers nothing, not even the cluster bus, until {@link resume}. */
  pause(node: ClusterNode): void;
  resume(node: ClusterNode): void;
  /**
   * `CLUSTER FAILOVER <mode>` on a replica, then waits until it reports itself master: `FORCE` without
   * its master's consent (the other masters vote), `TAKEOVER` without anyone's.
   */
  failover(replica: ClusterNode, mode: 'FORCE' | 'TAKEOVER', timeoutMs?: number): Promise<void>;
  /** Resolves once every running node reports `cluster_state:ok` and running masters' slots cover all 16384. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every process and removes their data. */
  cleanup(): Promise<void>;
}

/** A port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    const busFree = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port + 10_000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
  throw new Error('no free port pair (port, port + 10000) for a cluster node');
}

/** Runs one command on the cluster node at `port` (not routed: that node answers). */
export async function command(port: number, args: string[]): Promise<string> {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return String(await client.sendCommand(args));
  } finally {
    client.destroy();
  }
}

/**
 * Starts `masters × (1 + replicasPerMaster)` cluster-enabled `redis-server` processes on free loopback
 * ports and joins them with `redis-cli --cluster create`; resolves once the cluster is healthy.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const nodes: ClusterNode[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((node) => node.server.cleanup()));
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await clusterPort();
      const server = await startRedis({
        port,
        args: [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', String(nodeTimeoutMs),
          // A replica may be promoted however long it was cut off: the tests make masters lose writes on purpose.
          '--cluster-replica-validity-factor', '0',
          '--cluster-require-full-coverage', 'no',
        ],
      });
      nodes.push({ server, port, url: server.url });
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {
      timeout: 30_000,
    });
  } catch (err) {
    await cleanup();
    throw err;
  }

  const running = (): ClusterNode[] => nodes.filter((n) => n.server.running());
  const paused = new Set<ClusterNode>();
  const table = async (): Promise<string[][]> => {
    const asked = running().find((n) => !paused.has(n)) as ClusterNode;
    const raw = await command(asked.port, ['CLUSTER', 'NODES']);
    return raw
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
  };
  const portOf = (address: string | undefined): number => Number((address ?? '').split(':')[1]?.split('@')[0]);
  const shards = async (): Promise<{ master: number; slots: [number, number][] }[]> => {
    return (await table())
      .filter((parts) => (parts[2] ?? '').includes('master') && !(parts[2] ?? '').includes('fail'))
      .map((parts) => ({
        master: portOf(parts[1]),
        slots: parts.slice(8).filter((r) => /^\d+(-\d+)?$/.test(r)).map((r) => {
          const [from, to] = r.split('-').map(Number);
          return [from as number, (to ?? from) as number];
        }),
      }));
  };
  const handle: RedisClusterHandle = {
    nodes,
    urls: nodes.map((n) => n.url),
    async masterOf(slot) {
      for (const shard of await shards()) {
        if (shard.slots.some(([from, to]) => slot >= from && slot <= to)) {
          const node = nodes.find((n) => n.port === shard.master);
          if (node) return node;
        }
      }
      throw new Error(`no master serves slot ${slot}`);
    },
    async masterPorts() {
      return (await shards()).filter((s) => s.slots.length > 0).map((s) => s.master);
    },
    async replicaOf(masterPort) {
      const rows = await table();
      const masterId = rows.find((parts) => portOf(parts[1]) === masterPort)?.[0];
      const replicaPort = portOf(rows.find((parts) => (parts[2] ?? '').includes('slave') && parts[3] === masterId)?.[1]);
      const node = nodes.find((n) => n.port === replicaPort);
      if (!node) throw new Error(`no replica of the master on port ${masterPort}`);
      return node;
    },
    pause(node) {
      paused.add(node);
      process.kill(node.server.pid, 'SIGSTOP');
    },
    resume(node) {
      process.kill(node.server.pid, 'SIGCONT');
      paused.delete(node);
    },
    async failover(replica, mode, timeoutMs = 10_000) {
      await command(replica.port, ['CLUSTER', 'FAILOVER', mode]);
      await waitUntil(async () => (await command(replica.port, ['ROLE'])).startsWith('master'), {
        what: `the replica on port ${replica.port} to be master after CLUSTER FAILOVER ${mode}`,
        timeoutMs,
        intervalMs: 50,
      });
    },
    async waitHealthy(timeoutMs = 20_000) {
      await waitUntil(
        async () => {
          try {
            for (const node of running().filter((n) => !paused.has(n))) {
              if (!(await command(node.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) return false;
            }
            // Only masters that are running count: a killed one still owns its slots until it is failed over.
            const live = new Set(running().map((n) => n.port));
            const covered = (await shards())
              .filter((s) => live.has(s.master))
              .flatMap((s) => s.slots)
              .reduce((sum, [from, to]) => sum + to - from + 1, 0);
            return covered === 16_384;
          } catch {
            return false;
          }
        },
        { what: 'the Redis Cluster to be healthy', timeoutMs, intervalMs: 100 },
      );
    },
    cleanup,
  };
  try {
    await handle.waitHealthy();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return handle;
}
