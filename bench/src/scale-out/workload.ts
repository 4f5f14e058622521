import calculateSlot from 'cluster-key-slot';
import { createClient as createRedisClient, createCluster } from 'redis';
import { allPartitionKeys } from '../../../server/src/stream/partitions';
import type { Fleet } from './fleet';

/** The service and event type the scale-out benchmark publishes (the example catalog's `billing/invoice.paid`). */
export const SERVICE = 'billing';
export const EVENT_TYPE = 'invoice.paid';
/** The nodes' (and publishers') default key prefix. */
const KEY_PREFIX = 'roomwire';

/** The org named `index` (0-based). */
export function orgName(index: number): string {
  return `scale-${String(index).padStart(5, '0')}`;
}

/** An event payload of about `bytes` bytes of JSON (the catalog keeps `invoiceId` and `amountCents`). */
export function payloadOf(seq: number, bytes: number): { invoiceId: string; amountCents: number } {
  const head = `in_${seq}_`;
  const fixed = JSON.stringify({ invoiceId: head, amountCents: seq }).length;
  return { invoiceId: head.padEnd(head.length + Math.max(0, bytes - fixed), 'x'), amountCents: seq };
}

/** A small seeded PRNG (mulberry32): the same run publishes to the same orgs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Direct access to a fleet's Redis: stream counters and memory per Redis server. */
export interface StreamProbe {
  /** `XINFO STREAM … entries-added` summed over every partition stream (0 for streams not created yet). */
  entriesAdded(): Promise<number>;
  /** `XINFO STREAM … entries-added` of each partition stream, by partition index. */
  entriesAddedByPartition(): Promise<number[]>;
  /** Per partition: its stream key, the port of the Redis server holding it, its `MEMORY USAGE` and length. */
  streams(): Promise<{ partition: number; key: string; port: number; memoryBytes: number; length: number }[]>;
  /** `INFO memory` used_memory of each Redis server (each master), by port. */
  usedMemory(): Promise<Map<number, number>>;
  close(): Promise<void>;
}

type Reply = unknown;

function field(reply: Reply, name: string): unknown {
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) if (String(reply[i]) === name) return reply[i + 1];
    return undefined;
  }
  if (reply !== null && typeof reply === 'object') return (reply as Record<string, unknown>)[name];
  return undefined;
}

/** Opens one plain connection per Redis server of the fleet (standalone, or each master of the cluster). */
export async function openStreamProbe(fleet: Fleet): Promise<StreamProbe> {
  const clients = await Promise.all(
    fleet.redis.map(async (r) => {
      const client = createRedisClient({ url: r.url });
      client.on('error', () => undefined);
      await client.connect();
      return { port: r.port, client };
    }),
  );
  const keys = allPartitionKeys(KEY_PREFIX, fleet.streamPartitions).map((k) => k.stream);
  // Which server holds which key: on a cluster, the cluster client's slot table says.
  let cluster: ReturnType<typeof createCluster> | undefined;
  if (fleet.shape.kind === 'cluster') {
    cluster = createCluster({ rootNodes: fleet.redis.map((r) => ({ url: r.url })) });
    cluster.on('error', () => undefined);
    await cluster.connect();
  }
  const serverOf = (key: string): { port: number; client: (typeof clients)[number]['client'] } => {
    if (!cluster) return clients[0] as (typeof clients)[number];
    const master = cluster.getSlotMaster(calculateSlot(key));
    const found = clients.find((c) => c.port === master.port);
    if (!found) throw new Error(`no connection to the master on port ${master.port} (of ${key})`);
    return found;
  };
  const exists = async (key: string): Promise<boolean> => (await serverOf(key).client.exists(key)) === 1;
  const entriesAddedByPartition = async (): Promise<number[]> =>
    Promise.all(
      keys.map(async (key) => {
        if (!(await exists(key))) return 0;
        const info = await serverOf(key).client.sendCommand(['XINFO', 'STREAM', key]);
        return Number(field(info, 'entries-added') ?? 0);
      }),
    );
  return {
    async entriesAdded() {
      return (await entriesAddedByPartition()).reduce((a, b) => a + b, 0);
    },
    entriesAddedByPartition,
    async streams() {
      return Promise.all(
        keys.map(async (key, partition) => {
          const server = serverOf(key);
          const present = await exists(key);
          const memoryBytes = present ? Number(await server.client.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0'])) : 0;
          const length = present ? Number(await server.client.sendCommand(['XLEN', key])) : 0;
          return { partition, key, port: server.port, memoryBytes, length };
        }),
      );
    },
    async usedMemory() {
      const result = new Map<number, number>();
      for (const { port, client } of clients) {
        const info = String(await client.sendCommand(['INFO', 'memory']));
        result.set(port, Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN));
      }
      return result;
    },
    async close() {
      await Promise.all(clients.map(({ client }) => client.quit().catch(() => client.destroy())));
      if (cluster) await cluster.quit().catch(() => cluster?.destroy());
    },
  };
}
