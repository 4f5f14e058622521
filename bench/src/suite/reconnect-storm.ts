import { loadEventLoopP99, phaseNotes } from '../scenarios/phase-metrics';
import { runPhase } from '../scenarios/run-phase';
import type { ResourceReport } from '../measure/resource-sampler';
import { BASELINE, type SystemName } from '../systems/system-names';
import { benchConfigFor } from './config';
import { forEachSystem, isError, succeeded, mb, num, percentileOf, withSession } from './session';
import type { SuiteBar, SuiteEnv, SuiteScenarioResult } from './types';

interface StormData {
  clients: number;
  cutClients: number;
  recovered: number;
  reconnected: number;
  /** ms from restore until 50 % / 99 % / 100 % of the cut clients had recovered (null when fewer did). */
  recovered50Ms: number | null;
  recovered99Ms: number | null;
  recoveredAllMs: number | null;
  reconnectedAllMs: number | null;
  replayed: number;
  missed: number;
  duplicated: number;
  outOfOrder: number;
  resyncs: number;
  /** CPU over the storm window (restore until publishing ends), as % of one core. */
  nodeCpuPct: number;
  redisCpuPct: number;
  stormWindowS: number;
  redisMemoryPeakBytes: number | null;
  nodeRssPeakBytes: number | null;
  neverCutP99Ms: number | null;
  loadEldP99Ms: number;
  notes: string[];
}

const sleepUntil = (at: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
const pctOfCore = (r: ResourceReport, key: 'nodes' | 'redis'): number => (r.windowS > 0 ? (r.cpuS[key] / r.windowS) * 100 : 0);

/**
 * Reconnect storm: every client loses its connection at once (the load workers' proxies destroy the
 * TCP connections and refuse reconnects) while publishing goes on; then all reconnect together.
 */
export async function runReconnectStorm(env: SuiteEnv): Promise<SuiteScenarioResult> {
  const started = Date.now();
  const s = env.config.storm;
  const bench = benchConfigFor(env.config, { clients: s.clients, rooms: s.rooms, recovery: { eventsPerSecond: s.eventsPerSecond, cutFraction: 1, warmMs: s.warmMs, cutMs: s.cutMs, afterMs: s.afterMs, settleTimeoutMs: s.settleTimeoutMs } });
  const perSystem = await forEachSystem(env, (name) =>
    withSession(env, name, { nodeCount: 2, clients: s.clients, rooms: s.rooms, cutFraction: 1, bench }, async ({ ctx, sampler, pool }): Promise<StormData> => {
      const storm: { report: Promise<ResourceReport> | null } = { report: null };
      const result = await runPhase(ctx, {
        label: 'reconnect-storm',
        schedule: { kind: 'steady', eventsPerSecond: s.eventsPerSecond, durationMs: s.warmMs + s.cutMs + s.afterMs, rooms: s.rooms },
        settle: { idleMs: 1000, timeoutMs: s.settleTimeoutMs },
        during: async (startAt) => {
          await sleepUntil(startAt + s.warmMs);
          ctx.log(`reconnect-storm: cutting all ${s.clients} clients for ${s.cutMs} ms`);
          await pool.cut(s.cutMs);
          ctx.log('reconnect-storm: reconnects allowed');
          const close = sampler.start();
          storm.report = sleepUntil(startAt + s.warmMs + s.cutMs + s.afterMs).then(close);
          await storm.report;
        },
      });
      if (!storm.report) throw new Error('the storm never started');
      const window = await storm.report;
      const rec = result.load.recovery;
      const sorted = [...rec.recoveryMs].sort((a, b) => a - b);
      const reconnected = [...rec.reconnectMs].sort((a, b) => a - b);
      const need99 = Math.ceil(rec.cutClients * 0.99);
      const need50 = Math.ceil(rec.cutClients * 0.5);
      const data: StormData = {
        clients: s.clients,
        cutClients: rec.cutClients,
        recovered: rec.recovered,
        reconnected: reconnected.length,
        recovered50Ms: sorted.length >= need50 && need50 > 0 ? (sorted[need50 - 1] as number) : null,
        recovered99Ms: sorted.length >= need99 && need99 > 0 ? (sorted[need99 - 1] as number) : null,
        recoveredAllMs: sorted.length === rec.cutClients && rec.cutClients > 0 ? (sorted[sorted.length - 1] as number) : null,
        reconnectedAllMs: reconnected.length === rec.cutClients && rec.cutClients > 0 ? percentileOf(reconnected, 100) : null,
        replayed: rec.replayed,
        missed: result.load.missedCut,
        duplicated: result.load.duplicatedCut,
        outOfOrder: result.load.outOfOrder,
        resyncs: rec.resyncs,
        nodeCpuPct: pctOfCore(window, 'nodes'),
        redisCpuPct: pctOfCore(window, 'redis'),
        stormWindowS: window.windowS,
        redisMemoryPeakBytes: result.resources.redisMemoryPeak,
        nodeRssPeakBytes: result.resources.nodeRssPeak,
        neverCutP99Ms: result.load.latencyNeverCut.percentileMs(99),
        loadEldP99Ms: loadEventLoopP99(result),
        notes: phaseNotes(result, 'reconnect-storm'),
      };
      ctx.log(`reconnect-storm: ${data.recovered}/${data.cutClients} recovered, all by ${num(data.recoveredAllMs)} ms, ${data.replayed} replayed, ${data.missed} missed, ${data.duplicated} duplicated`);
      return data;
    }),
  );

  const ok = (name: SystemName): StormData | null => succeeded(perSystem[name]) ?? null;
  const metrics: [string, (d: StormData) => string][] = [
    ['clients cut', (d) => num(d.cutClients)],
    ['recovered (session restored, no resync)', (d) => `${num(d.recovered)} (${num((d.recovered / Math.max(1, d.cutClients)) * 100, 1)} %)`],
    ['reconnected (recovered or not)', (d) => num(d.reconnected)],
    ['time from restore until 99 % recovered', (d) => (d.recovered99Ms === null ? 'never' : `${num(d.recovered99Ms)} ms`)],
    ['time from restore until 100 % recovered', (d) => (d.recoveredAllMs === null ? 'never' : `${num(d.recoveredAllMs)} ms`)],
    ['time from restore until all reconnected', (d) => (d.reconnectedAllMs === null ? '–' : `${num(d.reconnectedAllMs)} ms`)],
    ['events replayed (received by a cut client after it went down, published before it was back)', (d) => num(d.replayed)],
    ['events missed', (d) => num(d.missed)],
    ['events duplicated', (d) => num(d.duplicated)],
    ['resyncs', (d) => num(d.resyncs)],
    ['node CPU during the storm (% of one core, all nodes)', (d) => `${num(d.nodeCpuPct)} %`],
    ['Redis CPU during the storm (% of one core)', (d) => `${num(d.redisCpuPct)} %`],
    ['Redis used_memory peak', (d) => `${mb(d.redisMemoryPeakBytes)} MB`],
    ['node RSS peak (largest node)', (d) => `${mb(d.nodeRssPeakBytes)} MB`],
    ['load generator event-loop delay p99', (d) => `${num(d.loadEldP99Ms, 1)} ms`],
  ];
  const rows = metrics.map(([label, f]) => [label, ...env.systems.map((n) => { const d = perSystem[n]; return isError(d) ? 'failed' : d ? f(d) : '–'; })]);
  const bars: SuiteBar[] = [];
  const subject = ok('roomwire');
  const base = ok(BASELINE);
  const requirement = `reconnect storm (all ${s.clients} clients cut for ${s.cutMs / 1000} s at ${s.eventsPerSecond} events/s): 100 % recovered, no missed and no duplicated event, within ${s.recoveryLimitMs / 1000} s of the restore`;
  if (!subject) bars.push({ requirement, measured: 'not measured in this run', verdict: 'N/A' });
  else {
    const pass = subject.recovered === subject.cutClients && subject.missed === 0 && subject.duplicated === 0 && subject.recoveredAllMs !== null && subject.recoveredAllMs <= s.recoveryLimitMs;
    const baseline = base ? `; baseline ${base.recovered}/${base.cutClients}, ${base.missed} missed, ${base.duplicated} duplicated, ${base.recoveredAllMs === null ? 'not all recovered' : `all by ${num(base.recoveredAllMs)} ms`}` : '';
    bars.push({
      requirement,
      measured: `${subject.recovered}/${subject.cutClients} recovered, ${subject.missed} missed, ${subject.duplicated} duplicated, ${subject.recoveredAllMs === null ? 'not all recovered' : `all by ${num(subject.recoveredAllMs)} ms`}${baseline}`,
      verdict: pass ? 'PASS' : 'FAIL',
    });
  }
  const notes = env.systems.flatMap((n) => (ok(n)?.notes ?? []).map((note) => `${n}: ${note}`));
  if (env.systems.includes('baseline-pubsub')) notes.push('baseline-pubsub has no recovery: it is expected to lose every event published while its clients were away (that is what the comparison shows).');
  return {
    name: 'reconnect-storm',
    title: 'Reconnect storm',
    description:
      `2 nodes per system, ${s.clients} clients in ${s.rooms} rooms, all behind cuttable proxies in the load workers. ${s.eventsPerSecond} events/s spread over the rooms; after ${s.warmMs / 1000} s every client loses its TCP connection ` +
      `and every reconnect is refused for ${s.cutMs / 1000} s; then all reconnect (backoff ${bench.reconnect.minDelayMs}–${bench.reconnect.maxDelayMs} ms, ±${bench.reconnect.jitter * 100} %) while publishing goes on for ${s.afterMs / 1000} s, ` +
      `and the phase settles for up to ${s.settleTimeoutMs / 1000} s. *Recovered* = session restored without resync and every event published before the reconnect received; CPU is measured from the restore until publishing ends.`,
    durationS: (Date.now() - started) / 1000,
    tables: [{ caption: 'Reconnect storm', header: ['Metric', ...env.systems], rows }],
    charts: [
      {
        file: 'suite-reconnect-storm',
        alt: 'Reconnect storm: recovery time and losses',
        chart: {
          kind: 'bar',
          title: `Reconnect storm: time from restore until recovered (ms; missing bar = never)`,
          yLabel: 'ms after the restore',
          categories: ['50 % recovered', '99 % recovered', '100 % recovered'],
          series: env.systems.map((n) => ({ name: n, values: ((d) => (d ? [d.recovered50Ms, d.recovered99Ms, d.recoveredAllMs] : [null, null, null]))(ok(n)) })),
        },
      },
      {
        file: 'suite-reconnect-storm-losses',
        alt: 'Reconnect storm: events missed and replayed',
        chart: {
          kind: 'bar',
          title: 'Reconnect storm: events replayed and missed by the cut clients',
          yLabel: 'events',
          categories: ['replayed', 'missed', 'duplicated'],
          series: env.systems.map((n) => ({ name: n, values: ((d) => (d ? [d.replayed, d.missed, d.duplicated] : [null, null, null]))(ok(n)) })),
        },
      },
    ],
    bars,
    notes,
    data: perSystem,
  };
}
