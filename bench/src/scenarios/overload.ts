import { BASELINE } from '../systems/system-names';
import { cpuPer100k, deliveriesPerSecond, loadEventLoopP99, otherCpuPct, OTHER_CPU_METRIC, phaseDetails, phaseNotes } from './phase-metrics';
import { runPhase } from './run-phase';
import { leanShape } from './saturation';
import type { Scenario, ScenarioContext } from './scenario';
import { spreadSchedule } from './spread';

/** The rate to overload with, and where it came from. */
interface OverloadRate {
  eventsPerSecond: number;
  from: string;
}

/**
 * `factor` × the baseline's highest sustained spread rate from this run's saturation; without one
 * (the baseline did not run, or its saturation failed), `factor` × the system's own.
 */
function overloadRate(ctx: ScenarioContext): OverloadRate {
  const { factor } = ctx.config.overload;
  const limitOf = (system: typeof BASELINE): number | null => ctx.outcomeOf?.('saturation', system)?.metrics.maxSustainedEventsPerS ?? null;
  const base = limitOf(BASELINE);
  if (base !== null && base > 0) return { eventsPerSecond: Math.round(factor * base), from: `${factor}× the baseline's highest sustained rate (${base} events/s)` };
  const own = limitOf(ctx.system);
  if (own !== null && own > 0) return { eventsPerSecond: Math.round(factor * own), from: `${factor}× this system's own highest sustained rate (${own} events/s; no baseline saturation in this run)` };
  if (base !== null || own !== null) {
    // A saturation ran but no step passed: its lowest step is the best known bound of the limit.
    const start = ctx.config.saturation.startEventsPerSecond;
    return { eventsPerSecond: Math.round(factor * start), from: `${factor}× the first saturation step (${start} events/s): no step of the ${base !== null ? 'baseline' : "system's own"} saturation passed` };
  }
  throw new Error('overload needs a saturation result of the baseline or of this system earlier in the run (run it with --scenarios saturation,overload)');
}

/**
 * Overload: spread traffic at 2× the baseline's limit, past the limit of at least the baseline. A
 * system that holds up keeps delivering at about its limit and its latency grows with the backlog; one
 * that collapses delivers less than at its limit (the p99 of what it does deliver says how late).
 */
export const overload: Scenario = {
  name: 'overload',
  title: 'Overload',
  describe: (c) =>
    `Spread traffic as in the saturation scenario (same session: lean clients, pinned) for ${c.overload.durationMs / 1000} s at ${c.overload.factor}× the baseline's ` +
    `highest sustained rate from this run's saturation (the baseline runs it first). Compared with each system's own limit: delivered rate and p99 growth.`,
  shape: leanShape,
  metrics: [
    { key: 'offeredEventsPerS', label: 'published events/s (offered)', unit: '/s', better: 'none', digits: 0 },
    { key: 'deliveredPerS', label: 'delivered events/s (deliveries)', unit: '/s', better: 'higher', digits: 0 },
    { key: 'limitDeliveriesPerS', label: "the system's own limit (saturation, deliveries/s)", unit: '/s', better: 'none', digits: 0 },
    { key: 'deliveredVsLimit', label: 'delivered / own limit', unit: '×', better: 'higher', digits: 2 },
    { key: 'deliveredRatio', label: 'share of offered deliveries delivered in time', unit: '', better: 'higher', digits: 3 },
    { key: 'p50Ms', label: 'latency p50 (of what was delivered)', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'p99Ms', label: 'latency p99 (of what was delivered)', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'p99AtLimitMs', label: 'latency p99 at its own limit (saturation)', unit: 'ms', better: 'none', digits: 1 },
    { key: 'p99Growth', label: 'p99 growth: overload p99 / p99 at its limit', unit: '×', better: 'lower', digits: 2 },
    { key: 'nodeCpuSPer100k', label: 'node CPU per 100 000 deliveries', unit: 's', better: 'lower', digits: 3 },
    { key: 'loadEldP99Ms', label: 'load generator event-loop delay p99', unit: 'ms', better: 'none', digits: 1 },
    OTHER_CPU_METRIC,
  ],
  async run(ctx) {
    const rate = overloadRate(ctx);
    const rooms = ctx.shape?.rooms ?? ctx.config.spread.rooms;
    ctx.log(`overload at ${rate.eventsPerSecond} events/s: ${rate.from}`);
    const result = await runPhase(ctx, {
      label: `overload ${rate.eventsPerSecond}/s`,
      schedule: spreadSchedule(ctx.config, rate.eventsPerSecond, ctx.config.overload.durationMs, rooms, 500),
      settle: { idleMs: Math.min(300, ctx.config.saturation.graceMs), timeoutMs: ctx.config.saturation.graceMs },
    });
    const own = ctx.outcomeOf?.('saturation', ctx.system) ?? null;
    const limit = own?.metrics.maxSustainedDeliveriesPerS ?? null;
    const p99AtLimit = own?.metrics.p99AtMaxMs ?? null;
    const delivered = deliveriesPerSecond(result);
    const p99 = result.load.latency.percentileMs(99);
    const notes = [...phaseNotes(result, 'overload'), `rate: ${rate.from}`];
    if (ctx.pinning) notes.push(ctx.pinning.description);
    return {
      metrics: {
        offeredEventsPerS: rate.eventsPerSecond,
        deliveredPerS: delivered,
        limitDeliveriesPerS: limit,
        deliveredVsLimit: delivered !== null && limit !== null && limit > 0 ? delivered / limit : null,
        deliveredRatio: result.expectedDeliveries > 0 ? result.load.deliveries / result.expectedDeliveries : null,
        p50Ms: result.load.latency.percentileMs(50),
        p99Ms: p99,
        p99AtLimitMs: p99AtLimit,
        p99Growth: p99 !== null && p99AtLimit !== null && p99AtLimit > 0 ? p99 / p99AtLimit : null,
        nodeCpuSPer100k: cpuPer100k(result.resources.cpuS.nodes, result),
        loadEldP99Ms: loadEventLoopP99(result),
        otherCpuPct: otherCpuPct(result),
      },
      notes,
      details: { ...phaseDetails(result), rateFrom: rate.from, offeredDeliveriesPerS: rate.eventsPerSecond * (result.expectedDeliveries / Math.max(1, result.publish.published)), pinning: ctx.pinning ?? null },
    };
  },
};
