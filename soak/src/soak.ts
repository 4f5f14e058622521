/**
 * The soak (`npm run soak`): two Roomwire nodes on one redis-server under connect/disconnect churn,
 * subscribe/unsubscribe churn and steady publishing, watching node heap, node RSS and Redis memory for
 * growth after the warm-up, and accounting every event owed to the long-lived clients.
 */
import { describeMachine } from '../../bench/src/report/machine';
import { startChurn, type Churn } from './churn';
import { startSoakCluster, type SoakCluster } from './cluster';
import { connectLongLived, type LongLivedClients } from './long-lived';
import { growthChecks, memoryWindows, scrapeNodeMemory, type MemorySample } from './memory';
import { createLedgers, startSteadyPublishing, type SteadyPublishing } from './publishing';
import { measuredOverheadFactor, redisBudget } from './redis-budget';
import { mib, renderSummary, windowLine, writeResults, type SoakCheck, type SoakResults } from './report';
import { resolveSoakOptions, type SoakOptions } from './soak-options';

/** What {@link runSoak} resolves to. */
export interface SoakOutcome {
  pass: boolean;
  results: SoakResults;
  files: { json: string; summary: string };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Runs the soak and writes its results; resolves with whether every check passed. Everything it starts
 * (redis-server, two node processes, clients) is stopped before it resolves, also when it throws.
 *
 * @example
 * const { pass } = await runSoak({ durationMs: 60_000, warmupMs: 20_000 });
 */
export async function runSoak(options: SoakOptions = {}): Promise<SoakOutcome> {
  const opts = resolveSoakOptions(options);
  const { log } = opts;
  const startedAt = Date.now();
  const machine = describeMachine();
  const orgs = Array.from({ length: opts.orgs }, (_, i) => `soak-org-${i + 1}`);
  log(
    `[soak] ${opts.durationMs / 1000} s, warm-up ${opts.warmupMs / 1000} s, windows of ${opts.windowMs / 1000} s; ` +
      `${opts.connectsPerSecond} connects/s (≤ ${opts.maxChurnClients} alive), ${opts.longLivedClients} long-lived clients, ${opts.eventsPerSecond} events/s over ${orgs.length} orgs; replay window ${opts.replayWindowMs / 1000} s, node recovery cache ${opts.recoveryCacheMs / 1000} s`,
  );

  let cluster: SoakCluster | undefined;
  let longLived: LongLivedClients | undefined;
  let churn: Churn | undefined;
  let publishing: SteadyPublishing | undefined;
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  try {
    cluster = await startSoakCluster({ replayWindowMs: opts.replayWindowMs, recoveryCacheMs: opts.recoveryCacheMs, orgs, tokenTtlS: Math.ceil(opts.durationMs / 1000) + 3600 });
    const { nodes, publisher } = cluster;
    const nodeNames = nodes.map((n) => n.name);
    const urls = nodes.map((n) => n.url);
    const exitedEarly = new Set<string>();
    for (const node of nodes) void node.handle.exited.then(() => !stopping && exitedEarly.add(node.name));

    // Publishing starts once every long-lived client is subscribed: each is owed every event of its anchor room.
    const ledgers = createLedgers(orgs);
    const token = (org: string): string => (cluster as SoakCluster).token(org);
    longLived = await connectLongLived({ urls, orgs, count: opts.longLivedClients, token, ledgers, toggleIntervalMs: opts.toggleIntervalMs });
    const baselineBytes = await cluster.redisUsedMemory();
    log(`[soak] cluster up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${urls.join(', ')}; redis ${cluster.redis.url}, idle used_memory ${mib(baselineBytes)} MiB`);

    const trafficT0 = Date.now();
    const untilMs = trafficT0 + opts.durationMs;
    publishing = startSteadyPublishing(publisher, { ledgers, eventsPerSecond: opts.eventsPerSecond, untilMs });
    churn = startChurn({ urls, orgs, token, connectsPerSecond: opts.connectsPerSecond, maxClients: opts.maxChurnClients, minLifetimeMs: opts.minLifetimeMs, maxLifetimeMs: opts.maxLifetimeMs, untilMs });
    longLived.startToggling();

    const samples: MemorySample[] = [];
    const sampleCount = Math.floor(opts.durationMs / opts.sampleIntervalMs);
    let printedWindows = 0;
    const sampling = (async () => {
      for (let k = 0; k < sampleCount && !stopping; k++) {
        await sleep(trafficT0 + k * opts.sampleIntervalMs - Date.now());
        const atMs = Date.now() - trafficT0;
        const collected = await Promise.all(nodes.map((n) => n.gc.collectGarbage())).then(() => true, () => false);
        const [a, b, redisUsedBytes] = await Promise.all([scrapeNodeMemory(nodes[0].url), scrapeNodeMemory(nodes[1].url), cluster?.redisUsedMemory().catch(() => Number.NaN) ?? Number.NaN]);
        samples.push({ atMs, nodes: [a, b], redisUsedBytes, collected });
        const windows = memoryWindows(samples, nodeNames, opts.windowMs, atMs);
        for (; printedWindows < windows.length; printedWindows++) log(windowLine(windows[printedWindows] as (typeof windows)[number], nodeNames));
      }
    })();
    const progress = setInterval(() => {
      const last = samples[samples.length - 1];
      const memory = last ? ` | heap ${last.nodes.map((n) => mib(n.heapUsedBytes)).join('/')} MiB, rss ${last.nodes.map((n) => mib(n.rssBytes)).join('/')} MiB, redis ${mib(last.redisUsedBytes)} MiB` : '';
      log(
        `[soak] ${Math.round((Date.now() - trafficT0) / 1000)} s: published ${publishing?.stats.published ?? 0} (${publishing?.stats.failed ?? 0} failed) | ` +
          `churn ${churn?.alive() ?? 0} alive, ${churn?.stats.created ?? 0} created, ${churn?.stats.skippedAtCap ?? 0} skipped | long-lived ${longLived?.connected() ?? 0}/${opts.longLivedClients} connected${memory}`,
      );
    }, opts.progressIntervalMs);
    timers.push(progress);

    await sleep(untilMs - Date.now());
    const trafficEnd = Date.now();
    clearInterval(progress);
    await churn.stop();
    await longLived.stopToggling();
    await publishing.stop();
    await sampling;
    const longLivedReport = await longLived.finish(15_000);
    longLived = undefined;
    const durationMs = trafficEnd - trafficT0;

    const windows = memoryWindows(samples, nodeNames, opts.windowMs, opts.durationMs);
    for (; printedWindows < windows.length; printedWindows++) log(windowLine(windows[printedWindows] as (typeof windows)[number], nodeNames));
    const growth = growthChecks(windows, opts.warmupMs, opts.maxGrowth);
    const payloadBytesPerSecond = publishing.stats.payloadBytes / (durationMs / 1000);
    const budget = redisBudget({ payloadBytesPerSecond, replayWindowMs: opts.replayWindowMs, overheadFactor: opts.redisOverheadFactor, baselineBytes, floorBytes: opts.redisFloorBytes });
    const postWarmupRedis = samples.filter((s) => s.atMs >= opts.warmupMs).map((s) => s.redisUsedBytes);
    const maxPostWarmupBytes = Math.max(...postWarmupRedis.filter((v) => Number.isFinite(v)));
    const lastRedis = windows[windows.length - 1]?.values.redis ?? Number.NaN;

    const ll = longLivedReport;
    const checks: SoakCheck[] = [
      ...growth.map((g) => ({
        name: `${g.series} growth after warm-up`,
        measured: `${mib(g.firstBytes)} → ${mib(g.lastBytes)} MiB (${(g.growth * 100).toFixed(1)} %)`,
        limit: `≤ ${(opts.maxGrowth * 100).toFixed(0)} %`,
        pass: g.pass,
      })),
      {
        name: 'redis used_memory within what the replay window needs',
        measured: `max ${mib(maxPostWarmupBytes)} MiB after warm-up`,
        limit: `${mib(budget.limitBytes)} MiB = ${mib(baselineBytes)} idle + ${mib(opts.redisFloorBytes)} floor + ${Math.round(payloadBytesPerSecond)} B/s × ${budget.retentionS} s × ${opts.redisOverheadFactor}`,
        pass: Number.isFinite(maxPostWarmupBytes) && maxPostWarmupBytes <= budget.limitBytes,
      },
      { name: 'long-lived clients: no loss', measured: `${ll.received} / ${ll.expected} owed events (${ll.missing} missing)`, limit: 'all', pass: ll.missing === 0 && ll.expected > 0 },
      { name: 'long-lived clients: no duplicates to the app', measured: String(ll.duplicates), limit: '0', pass: ll.duplicates === 0 },
      { name: 'long-lived clients: no resyncs', measured: String(ll.resyncs), limit: '0', pass: ll.resyncs === 0 },
      { name: 'publishes', measured: `${publishing.stats.published} stored, ${publishing.stats.failed} failed`, limit: '0 failed', pass: publishing.stats.failed === 0 && publishing.stats.published > 0 },
      { name: 'nodes alive', measured: exitedEarly.size === 0 ? 'both' : `exited: ${[...exitedEarly].join(', ')}`, limit: 'both', pass: exitedEarly.size === 0 },
      { name: 'growth rule evaluated', measured: `${growth.length} series over ${windows.filter((w) => w.startMs >= opts.warmupMs).length} post-warm-up windows`, limit: '5 series, ≥ 2 windows', pass: growth.length === 5 },
    ];
    const pass = checks.every((c) => c.pass);

    stopping = true;
    await cluster.cleanup();
    cluster = undefined;
    const results: SoakResults = {
      soak: 'roomwire',
      at: new Date(startedAt).toISOString(),
      machine,
      settings: {
        durationS: opts.durationMs / 1000,
        warmupS: opts.warmupMs / 1000,
        replayWindowS: opts.replayWindowMs / 1000,
        recoveryCacheS: opts.recoveryCacheMs / 1000,
        windowS: opts.windowMs / 1000,
        sampleIntervalS: opts.sampleIntervalMs / 1000,
        connectsPerSecond: opts.connectsPerSecond,
        maxChurnClients: opts.maxChurnClients,
        lifetimeS: [opts.minLifetimeMs / 1000, opts.maxLifetimeMs / 1000],
        longLivedClients: opts.longLivedClients,
        toggleIntervalS: opts.toggleIntervalMs / 1000,
        eventsPerSecond: opts.eventsPerSecond,
        orgs: opts.orgs,
        maxGrowth: opts.maxGrowth,
      },
      timingS: { startup: round((trafficT0 - startedAt) / 1000), traffic: round(durationMs / 1000), shutdown: round((Date.now() - trafficEnd) / 1000) },
      publishing: { ...publishing.stats, payloadBytesPerSecond: round(payloadBytesPerSecond) },
      churn: churn.stats,
      longLived: longLivedReport,
      nodes: nodeNames.map((name) => ({ name, exitedEarly: exitedEarly.has(name) })),
      redis: { ...budget, maxPostWarmupBytes, measuredOverheadFactor: round(measuredOverheadFactor(lastRedis, budget), 2) },
      windows,
      growth,
      samples,
      checks,
      pass,
    };
    const files = await writeResults(results, opts.outFile);
    log(renderSummary(results));
    log(`[soak] ${pass ? 'PASS' : 'FAIL'}; wrote ${files.json} and ${files.summary}`);
    return { pass, results, files };
  } finally {
    stopping = true;
    for (const timer of timers) clearInterval(timer);
    await churn?.stop().catch(() => undefined);
    await longLived?.stopToggling().catch(() => undefined);
    if (longLived) await longLived.finish(0).catch(() => undefined);
    await publishing?.stop().catch(() => undefined);
    await cluster?.cleanup();
  }
}
