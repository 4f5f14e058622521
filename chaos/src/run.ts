import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createPublisher, type Publisher } from '@roomwire/server';
import { startLocalCluster, type LocalCluster } from '../../infra/cluster/launch-cluster';
import { waitUntil } from '../../test/harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, uniqueOrg } from '../../test/support/tokens';
import type { ChaosConfig } from './config';
import { startFleet, type Fleet, type Receiver } from './fleet';
import { startSteadyLoad, type SteadyLoad } from './load';
import { caughtUp, countClass, halfDelivered, storedSeqs, storedSince, type ClassCounts, type FaultRecord } from './measure';
import type { PublishRecord } from './load';
import { SCENARIOS, type Check, type ScenarioContext, type ScenarioName } from './scenarios';

/** What one scenario run measured, as written to the results JSON. */
export interface ScenarioResult {
  name: ScenarioName;
  title: string;
  mode: ChaosConfig['mode'];
  clients: number;
  ratePerSecond: number;
  startedAt: string;
  durationMs: number;
  publishes: {
    started: number;
    stored: number;
    failed: number;
    failedByCode: Record<string, number>;
    /** Slowest publish call to settle (resolve or reject), ms. */
    slowestSettleMs: number;
    /** Failed publishes that clients got anyway (stored, but the reply was lost): not half delivered. */
    failedButDelivered: number;
  };
  /**
   * Event-loop delay of this process, which runs the clients, the publisher and the proxies: when it
   * is high, the load generator itself was starved (busy machine), which delays deliveries as seen by
   * the clients and can time out publishes whose replies it was too busy to read.
   */
  loadGenerator: { eventLoopDelayP99Ms: number; eventLoopDelayMaxMs: number };
  /** Faults, in ms from the start of publishing. */
  faults: { label: string; atMs: number; durationMs: number }[];
  classes: Record<string, ClassCounts>;
  checks: Check[];
  ok: boolean;
  /**
   * Set when this result was merged into the results of another run (`--merge`): the command that
   * produced it, when, and the machine's load average at its start and end.
   */
  separateRun?: { command: string; finishedAt: string; loadAverage: number[]; loadAverageAfter: number[] };
}

/** Node environment of the chaos clusters. */
const NODE_ENV: Record<string, string> = {
  // Every client of the test connects from 127.0.0.1; in production they come from many addresses.
  RATE_LIMIT_HANDSHAKES_PER_IP_PER_10S: '1000000',
  LOG_LEVEL: 'warn',
};

/**
 * Runs one scenario on a fresh cluster (Redis, three nodes, HAProxy): clients connect, the publisher
 * starts, the fault is injected, publishing goes on until events are stored again and then for `settleMs`, then stops; the run waits for every
 * client to have every stored event (or a resync signal after it) and counts. Everything started is
 * stopped, whatever happens.
 */
export async function runScenario(name: ScenarioName, config: ChaosConfig, print: (line: string) => void): Promise<ScenarioResult> {
  const def = SCENARIOS[name];
  const began = Date.now();
  const log = (message: string): void => print(`[${name}] ${((Date.now() - began) / 1000).toFixed(1).padStart(5)}s ${message}`);
  const checks: Check[] = [];
  const faults: FaultRecord[] = [];
  let org = uniqueOrg('chaos');
  let cluster: LocalCluster | undefined;
  let publisher: Publisher | undefined;
  let fleet: Fleet | undefined;
  const loads = new Map<string, SteadyLoad>();
  let progress: NodeJS.Timeout | undefined;
  const holds = new Set<NodeJS.Timeout>();
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  try {
    const partitions = def.streamPartitions ?? 1;
    const env = { ...NODE_ENV, STREAM_PARTITIONS: String(partitions) };
    cluster = def.redisCluster
      ? await startLocalCluster({ balancer: 'haproxy', jwtSecret: TEST_JWT_SECRET, publishApiKey: TEST_PUBLISH_KEY, redisCluster: def.redisCluster, env })
      : await startLocalCluster({
          balancer: 'haproxy',
          jwtSecret: TEST_JWT_SECRET,
          publishApiKey: TEST_PUBLISH_KEY,
          redis: { appendOnly: def.appendOnly ?? false },
          redisThroughProxy: true,
          env,
        });
    const redisCluster = cluster.redisCluster;
    log(
      `cluster up (${redisCluster ? `Redis Cluster of ${redisCluster.nodes.length} processes, ${partitions} partitions` : `Redis ${def.appendOnly ? 'with AOF' : 'without persistence'}`}, 3 nodes, HAProxy at ${cluster.url})`,
    );
    const orgs = def.orgs ? await def.orgs(cluster, partitions) : [org];
    org = orgs[0] as string;
    // The publisher reaches Redis the way the nodes do: when Redis is unreachable, it is for everyone.
    publisher = await createPublisher(
      redisCluster ? { redisCluster: redisCluster.urls, streamPartitions: partitions } : { redisUrl: cluster.nodeRedisUrl, streamPartitions: partitions },
    );
    const current = await startFleet({ url: cluster.url, orgs, clients: config.clients, cuttable: (i) => def.cuttable?.(i, config) ?? false });
    fleet = current;
    await current.connected(60_000);
    log(`${config.clients} clients connected${orgs.length > 1 ? ` (orgs ${orgs.join(', ')})` : ''}`);
    loopDelay.enable();
    for (const o of orgs) loads.set(o, startSteadyLoad(publisher, o, config.ratePerSecond));
    const running = loads.get(org) as SteadyLoad;
    const all = [...loads.values()];
    const recordsOf = (r: Receiver): readonly PublishRecord[] => (loads.get(r.org) as SteadyLoad).records;
    const sum = (f: (l: SteadyLoad) => number): number => all.reduce((n, l) => n + f(l), 0);
    progress = setInterval(() => {
      const resyncs = current.receivers.reduce((n, r) => n + r.resyncs.length, 0);
      log(`published ${sum((l) => l.published())} failed ${sum((l) => l.failed())} | clients ${JSON.stringify(current.states())} | resync signals ${resyncs}`);
    }, 5000);
    await waitUntil(() => current.receivers.every((r) => r.highest >= 0), { what: 'a first event on every client', timeoutMs: 15_000 });
    const ctx: ScenarioContext = {
      cluster,
      fleet: current,
      load: running,
      loads,
      publisher,
      config,
      org,
      orgs,
      log,
      faults,
      check: (what, ok, detail = '') => {
        checks.push({ what, ok, detail });
        if (!ok) log(`FAILED: ${what} (${detail})`);
      },
      hold: (ms) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            holds.delete(timer);
            resolve();
          }, ms);
          holds.add(timer);
        }),
    };
    await ctx.hold(config.warmupMs);
    try {
      await def.inject(ctx);
    } catch (err) {
      ctx.check('the fault was injected and ended', false, (err as Error).message);
    }
    // Publishing goes on after the fault until the cluster stores events again, then for `settleMs`: a
    // Redis client's reconnect backoff (up to 2 s) can outlast a fixed hold on a busy machine, and the
    // checks need events published after the fault.
    const faultsEnded = faults.reduce((latest, f) => Math.max(latest, f.endAt), 0) || Date.now();
    await waitUntil(() => all.every((l) => storedSince(l.records, faultsEnded)), {
      what: 'a publish started after the fault to be stored',
      timeoutMs: config.catchUpTimeoutMs,
      intervalMs: 50,
    }).catch((err: Error) => log(err.message));
    await ctx.hold(config.settleMs);
    await Promise.all(all.map((l) => l.stop()));
    log(`publishing stopped: ${sum((l) => l.published())} stored, ${sum((l) => l.failed())} failed; waiting for clients to catch up`);
    const storedOf = new Map([...loads].map(([o, l]) => [o, storedSeqs(l.records)]));
    const caughtUpAt = Date.now();
    await waitUntil(() => current.receivers.every((r) => caughtUp(r, recordsOf(r), storedOf.get(r.org) ?? [])), {
      what: 'every client to have every stored event (or a resync signal after it)',
      timeoutMs: config.catchUpTimeoutMs,
    }).then(
      () => log(`every client caught up in ${Date.now() - caughtUpAt} ms`),
      (err: Error) => log(err.message),
    );
    await def.expect?.(ctx);

    const classes: Record<string, Receiver[]> = {};
    for (const r of current.receivers) (classes[def.classify(r, ctx)] ??= []).push(r);
    const counts: Record<string, ClassCounts> = {};
    for (const [cls, members] of Object.entries(classes).sort()) {
      const classOrgs = new Set(members.map((r) => r.org));
      if (classOrgs.size !== 1) throw new Error(`class ${cls} mixes the orgs ${[...classOrgs].join(', ')}: classify by org`);
      counts[cls] = countClass(members, recordsOf(members[0] as Receiver), (r) => def.faultsOf?.(r, ctx) ?? faults);
    }
    const byOrg = orgs.map((o) => ({ receivers: current.receivers.filter((r) => r.org === o), records: (loads.get(o) as SteadyLoad).records }));
    const totals = byOrg.map(({ receivers, records }) => countClass(receivers, records, () => []));
    const total = (f: (c: ClassCounts) => number): number => totals.reduce((n, c) => n + f(c), 0);
    const half = byOrg.reduce((n, { receivers, records }) => n + halfDelivered(receivers, records), 0);
    const records = all.flatMap((l) => l.records);
    checks.unshift(
      { what: 'no silent loss', ok: total((c) => c.lost) === 0, detail: `${total((c) => c.lost)} events lost without a resync signal` },
      { what: 'no duplicate reached the app', ok: total((c) => c.duplicatedToApp) === 0, detail: `${total((c) => c.duplicatedToApp)} duplicates` },
      { what: 'events in order', ok: total((c) => c.outOfOrder) === 0, detail: `${total((c) => c.outOfOrder)} out of order` },
      { what: 'no publish half delivered', ok: half === 0, detail: `${half} failed publishes reached some clients only` },
      {
        what: 'every failed publish failed loudly with a retryable code',
        ok: records.every((r) => r.ok || r.retryable === true),
        detail: `${sum((l) => l.failed())} failed: ${[...new Set(records.filter((r) => !r.ok).map((r) => r.code))].join(', ') || 'none'}`,
      },
    );
    const failedByCode: Record<string, number> = {};
    for (const r of records) if (!r.ok) failedByCode[r.code ?? 'unknown'] = (failedByCode[r.code ?? 'unknown'] ?? 0) + 1;
    const firstPublish = Math.min(...all.map((l) => l.records[0]?.startedAt ?? Infinity));
    const t0 = Number.isFinite(firstPublish) ? firstPublish : began;
    const stored = [...storedOf.values()].flat();
    const result: ScenarioResult = {
      name,
      title: def.title,
      mode: config.mode,
      clients: config.clients,
      ratePerSecond: config.ratePerSecond,
      startedAt: new Date(began).toISOString(),
      durationMs: Date.now() - began,
      publishes: {
        started: records.length,
        stored: stored.length,
        failed: records.length - stored.length,
        failedByCode,
        slowestSettleMs: Math.max(0, ...records.map((r) => r.settledAt - r.startedAt)),
        failedButDelivered: byOrg.reduce(
          (n, { receivers, records: own }) => n + own.filter((r, seq) => !r.ok && receivers.some((c) => (c.arrivals[seq] ?? 0) !== 0)).length,
          0,
        ),
      },
      loadGenerator: {
        eventLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e6),
        eventLoopDelayMaxMs: Math.round(loopDelay.max / 1e6),
      },
      faults: faults.map((f) => ({ label: f.label, atMs: f.at - t0, durationMs: f.endAt - f.at })),
      classes: counts,
      checks,
      ok: checks.every((c) => c.ok),
    };
    for (const c of checks) log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.what}${c.detail ? ` — ${c.detail}` : ''}`);
    return result;
  } finally {
    loopDelay.disable();
    clearInterval(progress);
    for (const timer of holds) clearTimeout(timer);
    await Promise.all([...loads.values()].map((l) => l.stop().catch(() => undefined)));
    await fleet?.close().catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
  }
}
