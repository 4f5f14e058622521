import { randomBytes } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { createClient as createRedisClient } from 'redis';
import type { LocalCluster } from '../../infra/cluster/launch-cluster';
import { partitionKeys, partitionOf } from '../../server/src/stream/partitions';
import type { ClusterNode, RedisClusterHandle } from '../../test/harness';
import { uniqueOrg } from '../../test/support/tokens';
import type { Receiver } from './fleet';
import { checkAllReady, checkNodesUntouched, pids } from './scenario-checks';
import type { ScenarioContext, ScenarioDefinition } from './scenarios';

/**
 * Faults of a real Redis Cluster (3 masters, 1 replica each; orgs spread over 16 partitions): a
 * failover that loses acknowledged writes, and one master down. Two orgs have clients: one whose
 * partition is on the faulted master, one on another master. The first must get every event or a
 * resync; the second must not notice.
 */

const PARTITIONS = 16;
const CLUSTER = { masters: 3, replicasPerMaster: 1 } as const;
const KEY_PREFIX = 'roomwire';

/**
 * Clients of the org on another master went this long at most without an event during the fault:
 * the normal gap at 50 events/s is 20 ms, and a busy 2-core machine adds up to about a second.
 */
export const OTHER_MASTER_STALL_BOUND_MS = 2000;

function clusterOf(cluster: LocalCluster): RedisClusterHandle {
  if (!cluster.redisCluster) throw new Error('this scenario needs a Redis Cluster');
  return cluster.redisCluster;
}

const slotOfOrg = (org: string): number => calculateSlot(partitionKeys(KEY_PREFIX, partitionOf(org, PARTITIONS), PARTITIONS).stream);

/** Two new orgs whose partitions sit on different masters (the first is the one the fault hits). */
async function orgsOnTwoMasters(cluster: LocalCluster): Promise<string[]> {
  const redis = clusterOf(cluster);
  const first = uniqueOrg('chaos');
  const firstMaster = (await redis.masterOf(slotOfOrg(first))).port;
  for (let attempt = 0; attempt < 200; attempt++) {
    const other = uniqueOrg('chaos');
    if ((await redis.masterOf(slotOfOrg(other))).port !== firstMaster) return [first, other];
  }
  throw new Error('no org found on another master in 200 tries');
}

/** An org in the same partition as `org` (so in the same stream) that has no clients. */
function sameStreamOrg(org: string): string {
  const partition = partitionOf(org, PARTITIONS);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const candidate = uniqueOrg('filler');
    if (partitionOf(candidate, PARTITIONS) === partition) return candidate;
  }
  throw new Error(`no org found in partition ${partition}`);
}

/** The class of a client: the org on the faulted master, or the other one. */
const byMaster =
  (faulted: string, other: string) =>
  (receiver: Receiver, ctx: ScenarioContext): string =>
    receiver.org === ctx.org ? faulted : other;

/** Longest time a client of `receivers` went without an event whose publish started within [from, to]. */
function longestGapWithin(receivers: readonly Receiver[], from: number, to: number, startedAt: (seq: number) => number | undefined): number {
  let worst = 0;
  for (const r of receivers) {
    const times: number[] = [];
    r.arrivals.forEach((at, seq) => {
      const started = startedAt(seq);
      if (at !== 0 && started !== undefined && started >= from && started <= to) times.push(at);
    });
    times.sort((a, b) => a - b);
    let previous = from;
    for (const t of times) {
      worst = Math.max(worst, t - previous);
      previous = t;
    }
    worst = Math.max(worst, to - previous);
  }
  return worst;
}

/**
 * Where the affected org's out-of-order arrivals come from: of the events a client got after a later
 * one, how many had their publish started during the fault (in flight while the master changed).
 */
function describeReordering(ctx: ScenarioContext, from: number, to: number): string {
  const affected = ctx.fleet.receivers.filter((r) => r.org === ctx.org);
  const records = ctx.load.records;
  let late = 0;
  let duringFault = 0;
  for (const r of affected) {
    const arrivals: [number, number][] = [];
    r.arrivals.forEach((at, seq) => {
      if (at !== 0) arrivals.push([at, seq]);
    });
    arrivals.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let highest = -1;
    for (const [, seq] of arrivals) {
      if (seq < highest) {
        late += 1;
        const started = records[seq]?.startedAt ?? 0;
        if (started >= from && started <= to) duringFault += 1;
      }
      highest = Math.max(highest, seq);
    }
  }
  return `${late} arrivals after a later event over ${affected.length} clients, ${duringFault} of them of publishes started during the fault`;
}

/**
 * The events of the affected org that some client neither got nor was excused from by a resync: when
 * their publishes started, against `mark` (when the old master ran again), and against the resyncs.
 */
function describeLoss(ctx: ScenarioContext, mark: number): string {
  const affected = ctx.fleet.receivers.filter((r) => r.org === ctx.org);
  const records = ctx.load.records;
  const missing = new Set<number>();
  let lastResync = 0;
  for (const r of affected) {
    const resync = r.resyncs.at(-1) ?? 0;
    lastResync = Math.max(lastResync, resync);
    records.forEach((record, seq) => {
      if (record.ok && record.startedAt >= resync && (r.arrivals[seq] ?? 0) === 0) missing.add(seq);
    });
  }
  if (missing.size === 0) return 'none';
  const starts = [...missing].map((seq) => (records[seq]?.startedAt ?? 0) - mark);
  return `${missing.size} distinct events missed by some client, publishes started ${Math.min(...starts)} to ${Math.max(...starts)} ms after the old master ran again (the last resync signal ${lastResync - mark} ms after it)`;
}

/** Each node's stream read lag and connections, from its /metrics: a reader stuck after a failover shows here. */
async function describeReaders(ctx: ScenarioContext): Promise<string> {
  const lines = await Promise.all(
    ctx.cluster.nodes.map(async (node) => {
      try {
        const text = await (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
        const lag = /^roomwire_stream_read_lag_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? '?';
        const connections = /^roomwire_connections(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? '?';
        const partition = partitionOf(ctx.org, PARTITIONS);
        const read = new RegExp(`^roomwire_stream_entries_read_total\\{[^}]*partition="${partition}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? '0';
        return `${node.name}: ${connections} connections, read lag ${lag} s, ${read} entries read of partition ${partition}`;
      } catch (err) {
        return `${node.name}: /metrics failed (${(err as Error).message})`;
      }
    }),
  );
  return lines.join('; ');
}

/** Checks for the org on the master the fault did not touch: no resync, no reconnect, no stall. */
function checkOtherOrgUnaffected(ctx: ScenarioContext, from: number, to: number): void {
  const others = ctx.fleet.receivers.filter((r) => r.org !== ctx.org);
  const records = ctx.loads.get(others[0]?.org ?? '')?.records ?? [];
  const resyncs = others.reduce((n, r) => n + r.resyncs.length, 0);
  const disconnects = others.reduce((n, r) => n + r.client.metrics().totalDisconnects, 0);
  ctx.check('the org on another master: no resync, no reconnect', others.length > 0 && resyncs === 0 && disconnects === 0, `${others.length} clients, ${resyncs} resync signals, ${disconnects} disconnects`);
  const gap = longestGapWithin(others, from, to, (seq) => (records[seq]?.ok ? records[seq]?.startedAt : undefined));
  ctx.check(
    `the org on another master kept receiving during the fault (no gap over ${OTHER_MASTER_STALL_BOUND_MS} ms)`,
    gap <= OTHER_MASTER_STALL_BOUND_MS,
    `longest gap ${gap} ms over ${to - from} ms of fault`,
  );
}

/**
 * `cluster-failover`: the replica of the org's master stops taking its writes (SIGSTOP), the master
 * acknowledges more than the socket buffers between them hold, freezes too, and the replica takes over
 * (`CLUSTER FAILOVER TAKEOVER`); the old master comes back as a replica of it, losing those writes.
 */
export function clusterFailover(): ScenarioDefinition {
  let before: number[] = [];
  let window = { from: 0, to: 0 };
  let lost = { ok: false, detail: 'not measured' };
  /** When the old master ran again (SIGCONT), after the replica had taken over. */
  let resumedAt = 0;
  return {
    name: 'cluster-failover',
    title: 'Redis Cluster failover that loses acknowledged writes (CLUSTER FAILOVER TAKEOVER)',
    redisCluster: CLUSTER,
    streamPartitions: PARTITIONS,
    inQuickTest: false,
    orgs: orgsOnTwoMasters,
    async inject(ctx) {
      const redis = clusterOf(ctx.cluster);
      before = pids(ctx.cluster);
      const key = partitionKeys(KEY_PREFIX, partitionOf(ctx.org, PARTITIONS), PARTITIONS).stream;
      const master: ClusterNode = await redis.masterOf(slotOfOrg(ctx.org));
      const replica = await redis.replicaOf(master.port);
      const filler = sameStreamOrg(ctx.org);
      const at = Date.now();
      redis.pause(replica);
      ctx.log(`SIGSTOP the replica (port ${replica.port}) of ${ctx.org}'s master (port ${master.port}); filling the master's replication buffer`);
      let lastOffset = '';
      try {
        // 16 MB into the same stream, from an org without clients: more than loopback's socket buffers hold.
        for (let i = 0; i < 25; i++) {
          const burst = await Promise.all(
            Array.from({ length: 20 }, () => ctx.publisher.to(filler, 'billing').emit('invoice.paid', { invoiceId: randomBytes(24_000).toString('base64'), amountCents: 0 })),
          );
          lastOffset = burst.at(-1)?.offset ?? lastOffset;
        }
        // A moment of the steady load on top, acknowledged by the master only.
        await ctx.hold(500);
        redis.pause(master);
        redis.resume(replica);
        ctx.log(`SIGSTOP the master; CLUSTER FAILOVER TAKEOVER on the replica`);
        await redis.failover(replica, 'TAKEOVER');
      } finally {
        redis.resume(replica);
        redis.resume(master);
        resumedAt = Date.now();
      }
      await redis.waitHealthy(30_000);
      const probe = createRedisClient({ url: replica.url });
      probe.on('error', () => undefined);
      await probe.connect();
      try {
        const kept = await probe.xRange(key, lastOffset, lastOffset);
        lost = { ok: lastOffset !== '' && kept.length === 0, detail: `the last acknowledged filler entry ${lastOffset} is ${kept.length === 0 ? 'missing on' : 'still on'} the new master` };
      } finally {
        probe.destroy();
      }
      window = { from: at, to: Date.now() };
      ctx.faults.push({ label: `failover of ${ctx.org}'s master (port ${master.port} → ${replica.port})`, at, endAt: window.to });
      ctx.log(`cluster healthy again after ${window.to - at} ms; ${lost.detail}`);
    },
    classify: byMaster("org on the failed-over master", 'org on another master'),
    async expect(ctx) {
      ctx.check('the failover lost acknowledged writes (precondition)', lost.ok, lost.detail);
      const affected = ctx.fleet.receivers.filter((r) => r.org === ctx.org);
      const resynced = affected.filter((r) => r.resyncs.some((t) => t >= window.from)).length;
      ctx.check("the failed-over org's clients told to resync (their stream lost entries they had)", resynced === affected.length, `${resynced} of ${affected.length} clients`);
      ctx.log(`order in the failed-over org: ${describeReordering(ctx, window.from, window.to)}`);
      ctx.log(`silent loss in the failed-over org: ${describeLoss(ctx, resumedAt)}`);
      ctx.log(`nodes after the run: ${await describeReaders(ctx)}`);
      checkOtherOrgUnaffected(ctx, window.from, window.to);
      checkNodesUntouched(ctx, before);
      await checkAllReady(ctx, 15_000);
    },
  };
}

/**
 * `partition-master-down`: SIGKILL the master of one org's partition; its replica takes over after the
 * cluster's node timeout (1 s); the old master is started again `masterDown.forMs` later and rejoins as
 * a replica. Only that org's clients may notice.
 */
export function partitionMasterDown(): ScenarioDefinition {
  let before: number[] = [];
  let window = { from: 0, to: 0 };
  return {
    name: 'partition-master-down',
    title: 'One master of a 3-master Redis Cluster SIGKILLed (its replica takes over)',
    redisCluster: CLUSTER,
    streamPartitions: PARTITIONS,
    inQuickTest: false,
    orgs: orgsOnTwoMasters,
    async inject(ctx) {
      const redis = clusterOf(ctx.cluster);
      before = pids(ctx.cluster);
      const master = await redis.masterOf(slotOfOrg(ctx.org));
      const at = Date.now();
      await master.server.kill('SIGKILL');
      ctx.log(`SIGKILL ${ctx.org}'s master (port ${master.port})`);
      await redis.waitHealthy(30_000);
      const promoted = Date.now();
      ctx.faults.push({ label: `SIGKILL ${ctx.org}'s master (replica promoted after ${promoted - at} ms)`, at, endAt: promoted });
      ctx.log(`replica promoted after ${promoted - at} ms`);
      const left = at + ctx.config.masterDown.forMs - Date.now();
      if (left > 0) await ctx.hold(left);
      await master.server.restart();
      await redis.waitHealthy(30_000);
      window = { from: at, to: Date.now() };
      ctx.log(`old master back as a replica ${window.to - at} ms after the kill`);
    },
    classify: byMaster('org on the killed master', 'org on another master'),
    async expect(ctx) {
      const failed = ctx.loads.get(ctx.orgs[1] ?? '')?.records.filter((r) => !r.ok).length ?? -1;
      ctx.check('no publish into the org on another master failed', failed === 0, `${failed} failed`);
      ctx.log(`order in the killed master's org: ${describeReordering(ctx, window.from, window.to)}`);
      checkOtherOrgUnaffected(ctx, window.from, window.to);
      checkNodesUntouched(ctx, before);
      await checkAllReady(ctx, 15_000);
    },
  };
}
