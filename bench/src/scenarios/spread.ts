import { SPREAD_RATES_PER_S, type BenchConfig } from '../config';
import type { SpreadSchedule } from '../publish/schedule';
import { cpuPer100k, deliveriesPerSecond, loadEventLoopP99, OTHER_CPU_METRIC, otherCpuPct, phaseDetails, phaseNotes } from './phase-metrics';
import { runPhase, type PhaseResult } from './run-phase';
import type { MetricDef, Scenario, ScenarioContext, SessionShape } from './scenario';

/** The spread layout with the systems' own client libraries, not pinned (as an app would run them). */
export function spreadShape(config: BenchConfig): SessionShape {
  return { clients: config.spread.clients, rooms: config.spread.rooms, clientKind: 'library', pinned: false };
}

/** The spread schedule of one phase (`seedOffset` varies the room sequence between phases). */
export function spreadSchedule(config: BenchConfig, eventsPerSecond: number, durationMs: number, rooms: number, seedOffset: number): SpreadSchedule {
  return { kind: 'spread', eventsPerSecond, durationMs, rooms, seed: config.spread.seed + seedOffset, payloadBytes: config.spread.payloadBytes };
}

function rateMetrics(rate: number): MetricDef[] {
  return [
    { key: `deliveredPerSAt${rate}`, label: `${rate} events/s: delivered events/s (deliveries)`, unit: '/s', better: 'higher', digits: 0 },
    { key: `p50MsAt${rate}`, label: `${rate} events/s: latency p50`, unit: 'ms', better: 'lower', digits: 2 },
    { key: `p99MsAt${rate}`, label: `${rate} events/s: latency p99`, unit: 'ms', better: 'lower', digits: 2 },
    { key: `nodeCpuSPer100kAt${rate}`, label: `${rate} events/s: node CPU per 100 000 deliveries (both nodes)`, unit: 's', better: 'lower', digits: 3 },
    { key: `clientCpuSPer100kAt${rate}`, label: `${rate} events/s: client CPU per 100 000 deliveries (load workers)`, unit: 's', better: 'lower', digits: 3 },
    { key: `redisCpuSPer100kAt${rate}`, label: `${rate} events/s: Redis CPU per 100 000 deliveries`, unit: 's', better: 'lower', digits: 3 },
    { key: `redisCpuPctAt${rate}`, label: `${rate} events/s: Redis CPU (% of one core)`, unit: '%', better: 'lower', digits: 1 },
  ];
}

/**
 * Spread traffic: 2 000 clients in 200 rooms of 10, 200 B payloads, events to random rooms at
 * fixed, unsaturated rates (each room gets one every 100–200 ms, so every frame carries one event and
 * batching cannot help). Measured with the client libraries, for the client-CPU bar; node CPU is the sum
 * of both nodes' CPU time from /proc.
 */
export const spread: Scenario = {
  name: 'spread',
  title: 'Spread traffic',
  describe: (c) =>
    `${c.spread.clients} clients in ${c.spread.rooms} rooms of ${c.spread.clients / c.spread.rooms} (the systems' client libraries, not pinned), ` +
    `${c.spread.payloadBytes} B payloads, each event to a random room: ${c.spread.eventsPerSecond.join(' and ')} events/s for ${c.spread.durationMs / 1000} s each, ` +
    `after ${c.spread.warmupMs / 1000} s of unmeasured warm-up. Each room gets an event every ${Math.round((1000 * c.spread.rooms) / Math.max(...c.spread.eventsPerSecond))}–` +
    `${Math.round((1000 * c.spread.rooms) / Math.min(...c.spread.eventsPerSecond))} ms on average, so every frame carries one event. ` +
    'Node CPU is both nodes\' CPU time (/proc), client CPU the load workers\' (the client libraries), per 100 000 deliveries.',
  shape: spreadShape,
  metrics: [
    ...SPREAD_RATES_PER_S.flatMap(rateMetrics),
    { key: 'clientCpuSPer100k', label: 'client CPU per 100 000 deliveries, all rates', unit: 's', better: 'lower', digits: 3 },
    { key: 'loadEldP99Ms', label: 'load generator event-loop delay p99 (worst phase)', unit: 'ms', better: 'none', digits: 1 },
    OTHER_CPU_METRIC,
  ],
  async run(ctx) {
    const { spread: s } = ctx.config;
    const rooms = roomsOf(ctx);
    if (s.warmupMs > 0 && s.eventsPerSecond.length > 0) {
      await runPhase(ctx, {
        label: 'spread warm-up',
        schedule: spreadSchedule(ctx.config, s.eventsPerSecond[0] as number, s.warmupMs, rooms, 1000),
        settle: ctx.config.settle,
      });
    }
    const metrics: Record<string, number | null> = {};
    const notes: string[] = [];
    const phases: Record<string, unknown> = {};
    const results: PhaseResult[] = [];
    for (const [i, rate] of s.eventsPerSecond.entries()) {
      const result = await runPhase(ctx, {
        label: `spread ${rate}/s`,
        schedule: spreadSchedule(ctx.config, rate, s.durationMs, rooms, i),
        settle: ctx.config.settle,
      });
      results.push(result);
      const latency = result.load.latency;
      const cpu = result.resources.cpuS;
      metrics[`deliveredPerSAt${rate}`] = deliveriesPerSecond(result);
      metrics[`p50MsAt${rate}`] = latency.percentileMs(50);
      metrics[`p99MsAt${rate}`] = latency.percentileMs(99);
      metrics[`nodeCpuSPer100kAt${rate}`] = cpuPer100k(cpu.nodes, result);
      metrics[`clientCpuSPer100kAt${rate}`] = cpuPer100k(cpu.load, result);
      metrics[`redisCpuSPer100kAt${rate}`] = cpuPer100k(cpu.redis, result);
      metrics[`redisCpuPctAt${rate}`] = result.resources.windowS > 0 ? (cpu.redis / result.resources.windowS) * 100 : null;
      notes.push(...phaseNotes(result, `spread ${rate}/s`));
      phases[String(rate)] = { ...phaseDetails(result), publisherCpuSPer100k: cpuPer100k(cpu.publisher, result) };
    }
    const deliveries = results.reduce((sum, r) => sum + r.load.deliveries, 0);
    const loadCpuS = results.reduce((sum, r) => sum + r.resources.cpuS.load, 0);
    metrics.clientCpuSPer100k = deliveries > 0 ? (loadCpuS / deliveries) * 100_000 : null;
    metrics.loadEldP99Ms = results.length > 0 ? Math.max(...results.map(loadEventLoopP99)) : null;
    metrics.otherCpuPct = results.length > 0 ? Math.max(...results.map(otherCpuPct)) : null;
    notes.push(ctx.pinning ? ctx.pinning.description : 'not pinned: client libraries, servers and Redis share every core, as an app runs them');
    return { metrics, notes, details: { rooms, clients: ctx.shape?.clients ?? ctx.config.spread.clients, clientKind: ctx.shape?.clientKind ?? 'library', pinning: ctx.pinning ?? null, phases } };
  },
};

/** Rooms of the session the scenario runs in. */
function roomsOf(ctx: ScenarioContext): number {
  return ctx.shape?.rooms ?? ctx.config.spread.rooms;
}
