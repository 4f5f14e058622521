import { OTHER_CPU_METRIC, otherCpuPct, loadEventLoopP99, phaseDetails, phaseNotes } from './phase-metrics';
import { runPhase } from './run-phase';
import type { Scenario } from './scenario';

const MB = 1024 * 1024;
const sleepUntil = (at: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

/**
 * Recovery storm: under steady load, a share of the clients loses its TCP connections at once and
 * cannot reconnect for a while; then they all come back together and must recover what they missed.
 */
export const recoveryStorm: Scenario = {
  name: 'recovery-storm',
  title: 'Recovery storm',
  describe: (c) => {
    const r = c.recovery;
    return (
      `${r.eventsPerSecond} events/s spread over ${c.rooms} rooms. After ${r.warmMs / 1000} s, ${r.cutFraction * 100} % of the clients ` +
      `(${Math.round(c.clients * r.cutFraction)}, one in each room's ten, on both nodes) lose their TCP connections (a proxy in the load worker destroys them) ` +
      `and every reconnect is refused for ${r.cutMs / 1000} s; then reconnects are let through while publishing goes on for ${r.afterMs / 1000} s. ` +
      `Clients reconnect with ${c.reconnect.minDelayMs}–${c.reconnect.maxDelayMs} ms backoff (±${c.reconnect.jitter * 100} %).`
    );
  },
  metrics: [
    { key: 'cutClients', label: 'clients cut', unit: '', better: 'none', digits: 0 },
    { key: 'recoveredClients', label: 'cut clients recovered (session restored, no resync)', unit: '', better: 'higher', digits: 0 },
    { key: 'timeToAllRecoveredMs', label: 'time from restore until all recovered', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'recoveryP50Ms', label: 'time from restore until recovered, median client', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'missedCut', label: 'events missed by cut clients', unit: '', better: 'lower', digits: 0 },
    { key: 'duplicatedCut', label: 'events duplicated to cut clients', unit: '', better: 'lower', digits: 0 },
    { key: 'missed', label: 'events missed, all clients', unit: '', better: 'lower', digits: 0 },
    { key: 'duplicated', label: 'events duplicated, all clients', unit: '', better: 'lower', digits: 0 },
    { key: 'resyncs', label: 'resyncs', unit: '', better: 'lower', digits: 0 },
    { key: 'redisMemorySteadyMB', label: 'Redis used_memory before the cut', unit: 'MB', better: 'none', digits: 1 },
    { key: 'redisMemoryPeakMB', label: 'Redis used_memory peak', unit: 'MB', better: 'lower', digits: 1 },
    { key: 'redisMemoryAboveSteadyMB', label: 'Redis memory peak above steady', unit: 'MB', better: 'lower', digits: 1 },
    { key: 'nodeRssPeakMB', label: 'node RSS peak (largest node)', unit: 'MB', better: 'lower', digits: 0 },
    { key: 'neverCutP99Ms', label: 'latency p99 of never-cut clients', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'nodeCpuS', label: 'node CPU during the phase', unit: 's', better: 'lower', digits: 2 },
    { key: 'loadEldP99Ms', label: 'load generator event-loop delay p99', unit: 'ms', better: 'none', digits: 1 },
    OTHER_CPU_METRIC,
  ],
  async run(ctx) {
    const { recovery: r, rooms } = ctx.config;
    let cutStartedAt = 0;
    const result = await runPhase(ctx, {
      label: 'recovery-storm',
      schedule: { kind: 'steady', eventsPerSecond: r.eventsPerSecond, durationMs: r.warmMs + r.cutMs + r.afterMs, rooms },
      settle: { idleMs: 1000, timeoutMs: r.settleTimeoutMs },
      during: async (startAt) => {
        await sleepUntil(startAt + r.warmMs);
        cutStartedAt = Date.now();
        ctx.log(`recovery-storm: cutting ${Math.round(ctx.config.clients * r.cutFraction)} clients for ${r.cutMs} ms`);
        await ctx.pool.cut(r.cutMs);
        ctx.log('recovery-storm: reconnects allowed');
      },
    });
    const { load, resources } = result;
    const rec = load.recovery;
    const allRecovered = rec.cutClients > 0 && rec.recovered === rec.cutClients;
    const sorted = [...rec.recoveryMs].sort((a, b) => a - b);

    // Steady Redis memory: the median sample of the warm period's second half, before the cut.
    const warmFrom = result.publish.startedAt + r.warmMs / 2 - result.resourcesFrom;
    const cutAt = cutStartedAt - result.resourcesFrom;
    const steadySamples = resources.redisMemory.filter(([t]) => t >= warmFrom && t <= cutAt).map(([, v]) => v).sort((a, b) => a - b);
    const steady = steadySamples.length > 0 ? (steadySamples[Math.floor(steadySamples.length / 2)] as number) : null;
    const peak = resources.redisMemoryPeak;

    const notes = phaseNotes(result, 'recovery-storm');
    if (!allRecovered) {
      const restoredAt = Math.min(...load.cuts.map((c) => c.restoredAt));
      const window = Number.isFinite(restoredAt) ? ` within ${((result.publish.endedAt + result.settleMs - restoredAt) / 1000).toFixed(1)} s of restore (when the phase ended)` : '';
      notes.push(`${rec.cutClients - rec.recovered} of ${rec.cutClients} cut clients had not recovered their session${window}`);
    }
    return {
      metrics: {
        cutClients: rec.cutClients,
        recoveredClients: rec.recovered,
        timeToAllRecoveredMs: allRecovered ? (sorted[sorted.length - 1] ?? null) : null,
        recoveryP50Ms: sorted.length > 0 ? (sorted[Math.floor(sorted.length / 2)] as number) : null,
        missedCut: load.missedCut,
        duplicatedCut: load.duplicatedCut,
        missed: load.missed,
        duplicated: load.duplicated,
        resyncs: rec.resyncs,
        redisMemorySteadyMB: steady === null ? null : steady / MB,
        redisMemoryPeakMB: peak === null ? null : peak / MB,
        redisMemoryAboveSteadyMB: steady === null || peak === null ? null : (peak - steady) / MB,
        nodeRssPeakMB: resources.nodeRssPeak === null ? null : resources.nodeRssPeak / MB,
        neverCutP99Ms: load.latencyNeverCut.percentileMs(99),
        nodeCpuS: resources.cpuS.nodes,
        loadEldP99Ms: loadEventLoopP99(result),
        otherCpuPct: otherCpuPct(result),
      },
      notes,
      details: { ...phaseDetails(result), cuts: load.cuts, recoveryMsSorted: sorted, redisMemory: resources.redisMemory, nodeRss: resources.nodeRss },
    };
  },
};
