import { OTHER_CPU_METRIC, otherCpuPct, loadEventLoopP99, phaseDetails, phaseNotes } from './phase-metrics';
import { runPhase } from './run-phase';
import type { Scenario } from './scenario';

/** Lone events: a low steady rate spread over all rooms, so every event travels alone; delivery latency. */
export const loneEvents: Scenario = {
  name: 'lone-events',
  title: 'Lone events',
  describe: (c) =>
    `${c.lone.eventsPerSecond} events/s spread round-robin over ${c.rooms} rooms for ${c.lone.durationMs / 1000} s ` +
    `(${c.clients} clients, ${c.clients / c.rooms} per room): each event is alone in its room, so batching cannot help and must not hurt.`,
  metrics: [
    { key: 'p50Ms', label: 'latency p50', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'p95Ms', label: 'latency p95', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'p99Ms', label: 'latency p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'maxMs', label: 'latency max', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'deliveries', label: 'deliveries', unit: '', better: 'none', digits: 0 },
    { key: 'missed', label: 'missed', unit: '', better: 'lower', digits: 0 },
    { key: 'loadEldP99Ms', label: 'load generator event-loop delay p99', unit: 'ms', better: 'none', digits: 1 },
    OTHER_CPU_METRIC,
  ],
  async run(ctx) {
    const { lone, rooms, settle } = ctx.config;
    const result = await runPhase(ctx, {
      label: 'lone-events',
      schedule: { kind: 'steady', eventsPerSecond: lone.eventsPerSecond, durationMs: lone.durationMs, rooms },
      settle,
    });
    const latency = result.load.latency;
    return {
      metrics: {
        p50Ms: latency.percentileMs(50),
        p95Ms: latency.percentileMs(95),
        p99Ms: latency.percentileMs(99),
        maxMs: latency.count > 0 ? latency.maxMs : null,
        deliveries: result.load.deliveries,
        missed: result.load.missed,
        loadEldP99Ms: loadEventLoopP99(result),
        otherCpuPct: otherCpuPct(result),
      },
      notes: phaseNotes(result, 'lone-events'),
      details: phaseDetails(result),
    };
  },
};
