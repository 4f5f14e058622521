import { createClient, type RoomwireClient } from '@roomwire/client';
import { createPublisher } from '@roomwire/server';
import { affinityPartition } from '@roomwire/shared';
import { cpuSeconds } from '../measure/proc-stats';
import { waitUntil } from '../../../test/harness';
import { signToken } from '../../../test/support/tokens';
import { BENCH_PARTITION_IDLE_GRACE_MS, startFleet, type Fleet } from './fleet';
import { sumOf } from './metrics-text';
import { ConsistentHashRing } from './ring';
import { EVENT_TYPE, openStreamProbe, orgName, payloadOf, seededRandom, SERVICE, type StreamProbe } from './workload';

/**
 * How clients reach nodes:
 * - `round-robin`: no affinity, a balancer spreads each org's clients over the nodes in turn;
 * - `org-affinity`: a balancer hashes the org NAME (consistent hashing), so all of an org's clients share one
 *   node; not shipped (it does not cut reads when orgs outnumber partitions), kept as an explanatory row;
 * - `partition-affinity`: what ships: the client sends its org's partition (`createClient({ affinity })` →
 *   `rw_partition`) and a balancer hashes it, so all orgs of a partition share one node.
 */
export type RoutingMode = 'round-robin' | 'org-affinity' | 'partition-affinity';
export const ROUTING_MODES: readonly RoutingMode[] = ['round-robin', 'org-affinity', 'partition-affinity'];

/** Options of {@link measureReadRatio}. */
export interface ReadRatioOptions {
  nodes: number;
  streamPartitions: number;
  orgs: number;
  /** Clients per org. */
  clientsPerOrg: number;
  /** Events published per second, over all orgs (one event per stream entry: batching off). */
  eventsPerSecond: number;
  /** How long each mode publishes, in ms. */
  publishMs: number;
  /** Event payload size, in bytes of JSON. */
  payloadBytes: number;
  modes: readonly RoutingMode[];
  log(line: string): void;
}

/** What one node read in one mode. */
export interface NodeRead {
  node: number;
  clients: number;
  orgs: number;
  /** `roomwire_partitions_read` while the mode published. */
  partitionsRead: number;
  /** Δ `roomwire_stream_entries_read_total` (all partitions). */
  entriesRead: number;
  /** entriesRead ÷ entries added to the streams. */
  readRatio: number;
  /** The share of published events whose org has a client on this node. */
  orgShare: number;
  /** readRatio ÷ orgShare: 1 means the node reads only what its clients need. */
  readOverShare: number;
  /** The node's CPU from just before publishing until every reader caught up, per entry it read (delivery to its clients included), µs. */
  cpuUsPerEntryRead: number;
}

/** One mode's outcome. */
export interface ReadRatioMode {
  mode: RoutingMode;
  eventsPublished: number;
  publishFailures: number;
  /** Δ entries-added over every partition stream (events and heartbeats). */
  entriesAdded: number;
  nodes: NodeRead[];
  /** Redis CPU from just before publishing until every reader caught up, per entry added (the append and every node's reads of it), µs. */
  redisCpuUsPerEntry: number;
  /** Σ entries read by all nodes ÷ entries added: how many nodes read each entry on average. */
  readersPerEntry: number;
  /** The largest readOverShare of any node. */
  worstReadOverShare: number;
  /** The largest readRatio of any node × node count: 1 is a perfectly even split of the reading. */
  worstReadRatioTimesNodes: number;
}

/** The read-ratio measurement. */
export interface ReadRatioResult {
  nodes: number;
  streamPartitions: number;
  orgs: number;
  clientsPerOrg: number;
  eventsPerSecond: number;
  publishMs: number;
  modes: ReadRatioMode[];
}

/** The node (0-based) of client `clientIndex` of org `org` in `mode`. */
export function nodeOf(mode: RoutingMode, org: number, clientIndex: number, clientsPerOrg: number, ring: ConsistentHashRing, partitions: number): number {
  switch (mode) {
    case 'round-robin':
      return (org * clientsPerOrg + clientIndex) % ring.members;
    case 'org-affinity':
      return ring.memberOf(orgName(org));
    case 'partition-affinity':
      // The ring hashes the very value the shipped client sends as its `rw_partition` handshake parameter.
      return ring.memberOf(String(affinityPartition({ org: orgName(org), partitions })));
  }
}

const CONNECT_CONCURRENCY = 100;
const SETTLE_TIMEOUT_MS = 30_000;

async function nodeCounters(fleet: Fleet): Promise<{ entriesRead: number; partitionsRead: number; subscriptions: number }[]> {
  return Promise.all(
    fleet.nodes.map(async (_, i) => {
      const samples = await fleet.metrics(i);
      return {
        entriesRead: sumOf(samples, 'roomwire_stream_entries_read_total'),
        partitionsRead: sumOf(samples, 'roomwire_partitions_read'),
        subscriptions: sumOf(samples, 'roomwire_subscriptions'),
      };
    }),
  );
}

/** Longest wait for one client to connect, in ms. */
const CONNECT_TIMEOUT_MS = 60_000;

/**
 * Connects every client of the mode (bounded concurrency) into `clients` (the caller closes them, also after
 * a failure); resolves once every node counts its subscriptions.
 */
async function connectClients(fleet: Fleet, placements: { org: number; node: number }[], clients: RoomwireClient[], log: (line: string) => void): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < placements.length; i += CONNECT_CONCURRENCY) {
    const batch = placements.slice(i, i + CONNECT_CONCURRENCY);
    await Promise.all(
      batch.map(async ({ org, node }) => {
        const token = await signToken({ org: orgName(org), services: [SERVICE] }, { secret: fleet.jwtSecret });
        const client = createClient({ url: (fleet.nodes[node] as { url: string }).url, token: () => token, services: [SERVICE], transports: ['websocket'] });
        clients.push(client);
        await new Promise<void>((resolve, reject) => {
          if (client.state === 'connected') return resolve();
          const timer = setTimeout(() => {
            off();
            reject(new Error(`a client of ${orgName(org)} did not connect to node ${node} within ${CONNECT_TIMEOUT_MS} ms`));
          }, CONNECT_TIMEOUT_MS);
          const off = client.onState(({ to }) => {
            if (to === 'connected') {
              clearTimeout(timer);
              off();
              resolve();
            }
          });
        });
      }),
    );
  }
  const expected = fleet.nodes.map((_, n) => placements.filter((p) => p.node === n).length);
  await waitUntil(async () => (await nodeCounters(fleet)).every((c, n) => c.subscriptions === expected[n]), {
    what: `every node to count its ${placements.length} clients' subscriptions`,
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  log(`  ${placements.length} clients connected and subscribed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Publishes at a fixed rate to random orgs for `durationMs`; counts events per org. */
async function publishAtRate(fleet: Fleet, options: ReadRatioOptions, seed: number): Promise<{ perOrg: number[]; failures: number; firstFailure: string | null }> {
  const publisher = await createPublisher({ ...fleet.publisherTarget, streamPartitions: fleet.streamPartitions, batching: false });
  const random = seededRandom(seed);
  const perOrg = Array.from({ length: options.orgs }, () => 0);
  const tickMs = 10;
  const perTick = (options.eventsPerSecond * tickMs) / 1000;
  const startedAt = Date.now();
  const pending = new Set<Promise<void>>();
  let failures = 0;
  let firstFailure: string | null = null;
  let owed = 0;
  let seq = 0;
  try {
    for (let tick = 0; tick * tickMs < options.publishMs; tick++) {
      const wait = startedAt + tick * tickMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      owed += perTick;
      for (; owed >= 1; owed -= 1) {
        const org = Math.floor(random() * options.orgs);
        const emit: Promise<void> = publisher
          .to(orgName(org), SERVICE)
          .emit(EVENT_TYPE, payloadOf(seq++, options.payloadBytes))
          .then(
            () => {
              // Only stored events count towards the orgs' shares.
              perOrg[org] = (perOrg[org] as number) + 1;
            },
            (err: unknown) => {
              failures += 1;
              firstFailure ??= err instanceof Error ? err.message : String(err);
            },
          )
          .finally(() => pending.delete(emit));
        pending.add(emit);
      }
      // Bounded: a publisher that cannot keep up waits instead of queueing without end.
      while (pending.size > 5000) await Promise.race(pending);
    }
    await Promise.all(pending);
  } finally {
    await publisher.close();
  }
  return { perOrg, failures, firstFailure };
}

/** Per partition: entries added to its stream, and entries each node read of it. */
interface Counts {
  added: number[];
  /** reads[node][partition] */
  reads: number[][];
  partitionsRead: number[];
}

async function counts(fleet: Fleet, probe: StreamProbe): Promise<Counts> {
  // Added first: a reader can only have read what was added before it was asked.
  const added = await probe.entriesAddedByPartition();
  const perNode = await Promise.all(fleet.nodes.map((_, i) => fleet.metrics(i)));
  return {
    added,
    reads: perNode.map((samples) => {
      const row = Array.from({ length: fleet.streamPartitions }, () => 0);
      for (const s of samples) if (s.name === 'roomwire_stream_entries_read_total') row[Number(s.labels.partition)] = s.value;
      return row;
    }),
    partitionsRead: perNode.map((samples) => sumOf(samples, 'roomwire_partitions_read')),
  };
}

/**
 * Waits until every node has read, of every partition it read anything of since `since`, at least what
 * was added to it since (heartbeats included): every reader caught up. Resolves with those counts.
 */
async function caughtUp(fleet: Fleet, probe: StreamProbe, since: Counts): Promise<Counts> {
  let last: Counts = since;
  await waitUntil(
    async () => {
      last = await counts(fleet, probe);
      const now = last;
      return now.reads.every((row, n) =>
        row.every((value, p) => {
          const read = value - (since.reads[n]?.[p] ?? 0);
          return read === 0 || read >= (now.added[p] as number) - (since.added[p] as number);
        }),
      );
    },
    { what: 'every node to read every entry of its partitions', timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 300 },
  );
  return last;
}

const total = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/**
 * Entries read per node ÷ entries published, on `nodes` nodes and `streamPartitions` partitions, for each
 * routing mode: the nodes' own `roomwire_stream_entries_read_total` against the streams' `entries-added`.
 */
export async function measureReadRatio(options: ReadRatioOptions): Promise<ReadRatioResult> {
  options.log(`[scale-out] read ratio: ${options.nodes} nodes, ${options.streamPartitions} partitions, ${options.orgs} orgs × ${options.clientsPerOrg} clients`);
  const fleet = await startFleet({ redis: { kind: 'standalone' }, nodeCount: options.nodes, streamPartitions: options.streamPartitions });
  const probe = await openStreamProbe(fleet);
  const ring = new ConsistentHashRing(options.nodes);
  const modes: ReadRatioMode[] = [];
  try {
    for (const [m, mode] of options.modes.entries()) {
      options.log(`[scale-out] mode ${mode}`);
      const placements = Array.from({ length: options.orgs }, (_, org) =>
        Array.from({ length: options.clientsPerOrg }, (_, c) => ({ org, node: nodeOf(mode, org, c, options.clientsPerOrg, ring, options.streamPartitions) })),
      ).flat();
      const clients: RoomwireClient[] = [];
      try {
        await connectClients(fleet, placements, clients, options.log);
        const before = await counts(fleet, probe);
        const nodeCpuBefore = fleet.nodes.map((n) => cpuSeconds(n.pid) ?? 0);
        const redisCpuBefore = cpuSeconds((fleet.redis[0] as { pid: number }).pid) ?? 0;
        const { perOrg, failures, firstFailure } = await publishAtRate(fleet, options, 1000 + m);
        if (failures > 0) options.log(`  ${failures} publishes failed, the first with: ${firstFailure}`);
        const after = await caughtUp(fleet, probe, before);
        const nodeCpuS = fleet.nodes.map((n, i) => (cpuSeconds(n.pid) ?? 0) - (nodeCpuBefore[i] as number));
        const redisCpuS = (cpuSeconds((fleet.redis[0] as { pid: number }).pid) ?? 0) - redisCpuBefore;
        const entriesAdded = total(after.added) - total(before.added);
        const eventsPublished = perOrg.reduce((a, b) => a + b, 0);
        const nodes: NodeRead[] = fleet.nodes.map((_, n) => {
          const orgsHere = new Set(placements.filter((p) => p.node === n).map((p) => p.org));
          const orgEvents = [...orgsHere].reduce((sum, org) => sum + (perOrg[org] as number), 0);
          const entriesRead = total(after.reads[n] as number[]) - total(before.reads[n] as number[]);
          const readRatio = entriesAdded > 0 ? entriesRead / entriesAdded : 0;
          const orgShare = eventsPublished > 0 ? orgEvents / eventsPublished : 0;
          return {
            node: n,
            clients: placements.filter((p) => p.node === n).length,
            orgs: orgsHere.size,
            partitionsRead: after.partitionsRead[n] as number,
            entriesRead,
            readRatio,
            orgShare,
            readOverShare: orgShare > 0 ? readRatio / orgShare : 0,
            cpuUsPerEntryRead: entriesRead > 0 ? ((nodeCpuS[n] as number) * 1e6) / entriesRead : 0,
          };
        });
        const result: ReadRatioMode = {
          mode,
          eventsPublished,
          publishFailures: failures,
          entriesAdded,
          nodes,
          redisCpuUsPerEntry: entriesAdded > 0 ? (redisCpuS * 1e6) / entriesAdded : 0,
          readersPerEntry: entriesAdded > 0 ? nodes.reduce((sum, n) => sum + n.entriesRead, 0) / entriesAdded : 0,
          worstReadOverShare: Math.max(...nodes.map((n) => n.readOverShare)),
          worstReadRatioTimesNodes: Math.max(...nodes.map((n) => n.readRatio)) * options.nodes,
        };
        modes.push(result);
        options.log(
          `  ${eventsPublished} events, ${entriesAdded} entries added; per node read ratio ${nodes.map((n) => n.readRatio.toFixed(3)).join(' / ')}, ` +
            `org share ${nodes.map((n) => n.orgShare.toFixed(3)).join(' / ')}, partitions read ${nodes.map((n) => n.partitionsRead).join(' / ')}; ` +
            `node CPU per entry read ${nodes.map((n) => n.cpuUsPerEntryRead.toFixed(0)).join(' / ')} µs, Redis CPU per entry ${result.redisCpuUsPerEntry.toFixed(1)} µs`,
        );
      } finally {
        for (const client of clients) client.close();
      }
      // The next mode starts with nodes that read nothing.
      await waitUntil(async () => (await nodeCounters(fleet)).every((c) => c.partitionsRead === 0 && c.subscriptions === 0), {
        what: 'every node to stop reading once its clients left',
        timeoutMs: 30_000 + BENCH_PARTITION_IDLE_GRACE_MS,
        intervalMs: 200,
      });
    }
  } finally {
    await probe.close();
    await fleet.stop();
  }
  return {
    nodes: options.nodes,
    streamPartitions: options.streamPartitions,
    orgs: options.orgs,
    clientsPerOrg: options.clientsPerOrg,
    eventsPerSecond: options.eventsPerSecond,
    publishMs: options.publishMs,
    modes,
  };
}
