import type { Logger } from 'pino';
import type { RedisClient } from '../stream/redis-client';

/** One node as the status page shows it. */
export interface NodeSnapshot {
  nodeId: string;
  connections: number;
  subscriptions: number;
  /** Events accepted for publishing through this node since it started. */
  eventsPublished: number;
  /** Events sent to this node's sockets since it started (events × sockets). */
  eventsDelivered: number;
  /** Publish → delivery latency over recent frames, in ms. */
  latencyMs: { p50: number; p99: number } | null;
  uptimeS: number;
  /** When the snapshot was taken (ms since the epoch). */
  ts: number;
}

/** The cluster's nodes, as the status page reads them. */
export interface ClusterStatus {
  nodes(): Promise<NodeSnapshot[]>;
  stop(): Promise<void>;
}

/**
 * Each node writes a snapshot of itself into one Redis hash every `intervalMs`; any node can then show
 * the whole cluster. Snapshots older than three intervals (a node that died) are left out and removed.
 * Without Redis the cluster is this node alone.
 */
export function startClusterStatus(options: {
  client: RedisClient | undefined;
  key: string;
  nodeId: string;
  snapshot(): NodeSnapshot;
  intervalMs: number;
  logger: Logger;
}): ClusterStatus {
  const { client, key, nodeId } = options;
  if (!client) return { nodes: async () => [options.snapshot()], stop: async () => undefined };
  const write = (): void => {
    client.hSet(key, nodeId, JSON.stringify(options.snapshot())).catch((err: unknown) => {
      options.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'could not write the node snapshot');
    });
  };
  write();
  const timer = setInterval(write, options.intervalMs);
  timer.unref();
  return {
    async nodes() {
      const all = await client.hGetAll(key);
      const staleBefore = Date.now() - 3 * options.intervalMs;
      const nodes: NodeSnapshot[] = [];
      const stale: string[] = [];
      for (const [id, raw] of Object.entries(all)) {
        const snapshot = parse(raw);
        if (snapshot && snapshot.ts >= staleBefore) nodes.push(snapshot);
        else stale.push(id);
      }
      if (stale.length > 0) void client.hDel(key, stale).catch(() => undefined);
      return nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    },
    async stop() {
      clearInterval(timer);
      await client.hDel(key, nodeId).catch(() => undefined);
    },
  };
}

function parse(raw: string): NodeSnapshot | undefined {
  try {
    const value = JSON.parse(raw) as NodeSnapshot;
    return typeof value.nodeId === 'string' && typeof value.ts === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}
