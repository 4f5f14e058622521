import { loadEventLoopP99, phaseNotes } from '../scenarios/phase-metrics';
import { runPhase } from '../scenarios/run-phase';
import { saturationSteady as saturation } from '../scenarios/saturation';
import type { ScenarioContext } from '../scenarios/scenario';
import type { SystemName } from '../systems/system-names';
import { benchConfigFor } from './config';
import { forEachSystem, isError, succeeded, num, withSession } from './session';
import type { SuiteEnv, SuiteScenarioResult } from './types';

/** A step of the delivery benchmark's saturation scenario, as it records it. */
interface SaturationStep {
  eventsPerSecond: number;
  deliveredPerS: number | null;
  p99Ms: number | null;
  pass: boolean;
  reason: string | null;
  loadEldP99Ms: number;
  nodeCpuS: number;
  redisCpuS: number;
  windowS: number;
}

interface ScalingPoint {
  nodes: number;
  /** Highest passing step: delivered deliveries/s and published events/s (0 when none passed). */
  deliveredPerS: number;
  eventsPerS: number;
  p99Ms: number | null;
  firstFailingEventsPerS: number | null;
  limit: string | null;
  /** At the highest passing step: Redis and node CPU as % of one core. */
  redisCpuPct: number | null;
  nodeCpuPct: number | null;
  loadEldP99Ms: number | null;
  /** Whether the load generator may be what limited the result. */
  loadBound: boolean;
  notes: string[];
}

/** Above this share of one core Redis, which runs commands on one thread, is the limit. */
const REDIS_SATURATED_PCT = 90;

const stepKey = (system: SystemName, nodes: number): string => `${system}/${nodes}`;

/** Steady load on a fresh cluster before anything is measured on it (see `SuiteConfig.warmup`). */
async function warmUp(env: SuiteEnv, ctx: ScenarioContext, rooms: number, label: string): Promise<void> {
  const w = env.config.warmup;
  await runPhase(ctx, {
    label: `${label} warm-up (${w.eventsPerSecond}/s for ${w.durationMs / 1000} s, not measured)`,
    schedule: { kind: 'steady', eventsPerSecond: w.eventsPerSecond, durationMs: w.durationMs, rooms },
    settle: ctx.config.settle,
  });
}

/**
 * Published events/s at which Redis, single-threaded, would use its whole core if its CPU grew linearly
 * with the rate (from the highest passing step): where the one stream that every node reads becomes the limit.
 */
function redisBoundRate(p: ScalingPoint): number | null {
  return p.redisCpuPct && p.redisCpuPct > 0 && p.eventsPerS > 0 ? (p.eventsPerS * 100) / p.redisCpuPct : null;
}

/**
 * Scaling: the delivery benchmark's saturation scenario (steady load over all rooms, raised step by
 * step until p99 or delivery fails) on 1, 2 and 3 nodes of each system, each on a fresh cluster.
 */
export async function runScaling(env: SuiteEnv): Promise<SuiteScenarioResult> {
  const started = Date.now();
  const c = env.config.scaling;
  const bench = benchConfigFor(env.config, { clients: c.clients, rooms: c.rooms, saturation: c.saturation, budgetMs: 10 * 60_000 });
  const perSystem = await forEachSystem(env, async (name) => {
    const points: ScalingPoint[] = [];
    for (const nodes of c.nodeCounts) {
      const point = await withSession(env, name, { nodeCount: nodes, clients: c.clients, rooms: c.rooms, cutFraction: 0, bench }, async ({ ctx }): Promise<ScalingPoint> => {
        await warmUp(env, ctx, c.rooms, `scaling, ${nodes} node(s):`);
        ctx.log(`scaling: saturation with ${nodes} node(s)`);
        const outcome = await saturation.run(ctx);
        const details = outcome.details as { steps: SaturationStep[]; limitStep: SaturationStep | null; loadBoundAtLimit: boolean };
        const best = [...details.steps].filter((s) => s.pass).sort((a, b) => b.eventsPerSecond - a.eventsPerSecond)[0] ?? null;
        const pct = (cpuS: number | undefined, windowS: number | undefined): number | null => (cpuS === undefined || !windowS ? null : (cpuS / windowS) * 100);
        return {
          nodes,
          deliveredPerS: best?.deliveredPerS ?? 0,
          eventsPerS: best?.eventsPerSecond ?? 0,
          p99Ms: best?.p99Ms ?? null,
          firstFailingEventsPerS: details.limitStep?.eventsPerSecond ?? null,
          limit: details.limitStep?.reason ?? null,
          redisCpuPct: pct(best?.redisCpuS, best?.windowS),
          nodeCpuPct: pct(best?.nodeCpuS, best?.windowS),
          loadEldP99Ms: best?.loadEldP99Ms ?? null,
          loadBound: details.loadBoundAtLimit,
          notes: outcome.notes,
        };
      });
      env.saturation.set(stepKey(name, nodes), point.eventsPerS);
      env.log(`[${name}] scaling: ${nodes} node(s): ${num(point.deliveredPerS)} deliveries/s at ${num(point.eventsPerS)} events/s (Redis ${num(point.redisCpuPct)} % of a core)`);
      points.push(point);
    }
    return points;
  });

  const ok = (name: SystemName): ScalingPoint[] => succeeded(perSystem[name]) ?? [];
  const rows: string[][] = [];
  for (const name of env.systems) {
    const d = perSystem[name];
    if (isError(d)) {
      rows.push([name, '–', `failed: ${d.error}`, '', '', '', '', '', '', '']);
      continue;
    }
    for (const p of ok(name)) {
      rows.push([
        name,
        String(p.nodes),
        num(p.deliveredPerS),
        num(p.eventsPerS),
        p.p99Ms === null ? '–' : `${num(p.p99Ms, 1)} ms`,
        p.firstFailingEventsPerS === null ? 'none failed' : `${num(p.firstFailingEventsPerS)}: ${p.limit ?? ''}`,
        p.redisCpuPct === null ? '–' : `${num(p.redisCpuPct)} %`,
        p.nodeCpuPct === null ? '–' : `${num(p.nodeCpuPct)} %`,
        p.loadEldP99Ms === null ? '–' : `${num(p.loadEldP99Ms, 1)} ms${p.loadBound ? ' (limit may be the load generator)' : ''}`,
        num(redisBoundRate(p)),
      ]);
    }
  }
  const notes: string[] = [];
  for (const name of env.systems) {
    const points = ok(name);
    if (points.length === 0) continue;
    const redisLimited = points.filter((p) => (p.redisCpuPct ?? 0) >= REDIS_SATURATED_PCT);
    const first = points[0] as ScalingPoint;
    const last = points[points.length - 1] as ScalingPoint;
    const gain = first.deliveredPerS > 0 ? last.deliveredPerS / first.deliveredPerS : null;
    notes.push(
      `${name}: ${first.nodes} → ${last.nodes} nodes: ${num(first.deliveredPerS)} → ${num(last.deliveredPerS)} deliveries/s (${gain === null ? '–' : `${gain.toFixed(2)}×`}). ` +
        (redisLimited.length > 0
          ? `The single Redis stream (read by every node) is the limit from ${redisLimited[0]?.nodes} node(s): Redis used ${num(redisLimited[0]?.redisCpuPct)} % of its one core at ${num(redisLimited[0]?.eventsPerS)} events/s.`
          : `Redis never reached ${REDIS_SATURATED_PCT} % of its one core (at most ${num(Math.max(...points.map((p) => p.redisCpuPct ?? 0)))} % at the highest passing step), so the single stream was not the limit on this machine ` +
            `(extrapolated, Redis would be the limit at about ${points.map((p) => `${num(redisBoundRate(p))} events/s with ${p.nodes} node(s)`).join(', ')}); ` +
            `the limit was ${last.limit ?? 'not reached'}${last.loadBound ? ' with the load generator saturated' : ''} (nodes, Redis, publisher and load generator share this machine's cores).`),
    );
    for (const p of points) for (const note of p.notes) notes.push(`${name}, ${p.nodes} node(s): ${note}`);
  }
  const s = c.saturation;
  return {
    name: 'scaling',
    title: 'Scaling with the number of nodes',
    description:
      `The delivery benchmark's saturation scenario on ${c.nodeCounts.join(', ')} nodes of each system (a fresh cluster each, warmed up by ${env.config.warmup.eventsPerSecond} events/s for ${env.config.warmup.durationMs / 1000} s first): ${c.clients} clients in ${c.rooms} rooms spread over the nodes, ` +
      `steady load in ${s.stepMs / 1000} s steps from ${s.startEventsPerSecond} events/s, ×${s.factor} per step (at most ${s.maxSteps} steps, then ${s.refineSteps} narrowing step). ` +
      `A step passes when p99 ≤ ${s.p99LimitMs} ms and ≥ ${s.minDeliveredRatio * 100} % of its deliveries arrive within ${s.graceMs} ms. All nodes share one Redis stream, which every node reads in full: ` +
      `Redis CPU at the highest passing step says whether that stream is the limit. All processes share this machine's cores, so more nodes also means less CPU per node.`,
    durationS: (Date.now() - started) / 1000,
    tables: [
      {
        caption: 'Highest sustained rate per node count',
        header: [
          'System',
          'nodes',
          'delivered events/s (deliveries)',
          'published events/s',
          'p99 at that step',
          'first failing rate: why',
          'Redis CPU (% of a core)',
          'node CPU (% of a core, all nodes)',
          'load generator event-loop delay p99',
          'published events/s at which Redis would use a whole core (linear extrapolation)',
        ],
        rows,
      },
    ],
    charts: [
      {
        file: 'suite-scaling',
        alt: 'Delivered events/s by node count',
        chart: {
          kind: 'line',
          title: 'Highest sustained delivered events/s by node count (higher is better)',
          xLabel: 'nodes',
          yLabel: 'deliveries per second',
          xTicks: c.nodeCounts,
          series: env.systems.map((name) => ({ name, points: ok(name).map((p): [number, number] => [p.nodes, p.deliveredPerS]) })),
        },
      },
    ],
    bars: [],
    notes,
    data: perSystem,
  };
}

interface LatencyPoint {
  fraction: number;
  eventsPerS: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  missed: number;
  loadEldP99Ms: number;
  notes: string[];
}

interface LatencyData {
  saturationEventsPerS: number;
  /** Where the saturation rate came from. */
  saturationFrom: string;
  points: LatencyPoint[];
}

/**
 * Fan-out latency under load: steady load at 25 %, 50 % and 75 % of each system's own saturation rate
 * (from the scaling scenario of this run at the same node count, or a saturation run of its own).
 */
export async function runLatency(env: SuiteEnv): Promise<SuiteScenarioResult> {
  const started = Date.now();
  const c = env.config.latency;
  const bench = benchConfigFor(env.config, { clients: c.clients, rooms: c.rooms, saturation: env.config.scaling.saturation, budgetMs: 10 * 60_000 });
  const session = { nodeCount: c.nodeCount, clients: c.clients, rooms: c.rooms, cutFraction: 0, bench };
  const perSystem = await forEachSystem(env, async (name): Promise<LatencyData> => {
    let rate = env.saturation.get(stepKey(name, c.nodeCount)) ?? null;
    let saturationFrom = `scaling scenario of this run, ${c.nodeCount} nodes`;
    if (rate === null) {
      saturationFrom = `a saturation run of its own on ${c.nodeCount} nodes`;
      rate = await withSession(env, name, session, async ({ ctx }) => {
        await warmUp(env, ctx, c.rooms, 'latency (saturation of its own):');
        const outcome = await saturation.run(ctx);
        return outcome.metrics.maxSustainedEventsPerS ?? 0;
      });
      env.saturation.set(stepKey(name, c.nodeCount), rate);
    }
    if (!(rate > 0)) {
      // No step passed: the fractions are taken of the lowest rate tried, and the report says so.
      rate = env.config.scaling.saturation.startEventsPerSecond;
      saturationFrom += `; no saturation step passed, so the lowest rate tried (${rate} events/s) stands in for it`;
    }
    const saturationEventsPerS = rate;
    const points = await withSession(env, name, session, async ({ ctx }) => {
      await warmUp(env, ctx, c.rooms, 'latency:');
      const out: LatencyPoint[] = [];
      for (const fraction of c.fractions) {
        const eventsPerS = Math.max(1, Math.round(saturationEventsPerS * fraction));
        const result = await runPhase(ctx, {
          label: `latency ${fraction * 100} % (${eventsPerS}/s)`,
          schedule: { kind: 'steady', eventsPerSecond: eventsPerS, durationMs: c.stepMs, rooms: c.rooms },
          settle: bench.settle,
        });
        const h = result.load.latency;
        out.push({
          fraction,
          eventsPerS,
          p50Ms: h.percentileMs(50),
          p95Ms: h.percentileMs(95),
          p99Ms: h.percentileMs(99),
          p999Ms: h.percentileMs(99.9),
          maxMs: h.maxMs,
          missed: result.load.missed,
          loadEldP99Ms: loadEventLoopP99(result),
          notes: phaseNotes(result, `latency ${fraction * 100} %`),
        });
      }
      return out;
    });
    return { saturationEventsPerS, saturationFrom, points };
  });

  const ok = (name: SystemName): LatencyData | null => succeeded(perSystem[name]) ?? null;
  const rows: string[][] = [];
  for (const name of env.systems) {
    const d = perSystem[name];
    if (isError(d)) {
      rows.push([name, `failed: ${d.error}`, '', '', '', '', '', '', '']);
      continue;
    }
    for (const p of d?.points ?? []) {
      const ms = (v: number | null): string => (v === null ? '–' : `${num(v, 1)} ms`);
      rows.push([name, `${p.fraction * 100} % (${num(p.eventsPerS)}/s)`, ms(p.p50Ms), ms(p.p95Ms), ms(p.p99Ms), ms(p.p999Ms), ms(p.maxMs), num(p.missed), `${num(p.loadEldP99Ms, 1)} ms`]);
    }
  }
  const notes: string[] = [];
  for (const name of env.systems) {
    const d = ok(name);
    if (!d) continue;
    notes.push(`${name}: saturation rate ${num(d.saturationEventsPerS)} events/s (from ${d.saturationFrom}).`);
    for (const p of d.points) for (const note of p.notes) notes.push(`${name}: ${note}`);
  }
  const lines = (pick: (p: LatencyPoint) => number | null) =>
    env.systems.map((name) => ({ name, points: (ok(name)?.points ?? []).flatMap((p): [number, number][] => { const v = pick(p); return v === null ? [] : [[p.fraction * 100, v]]; }) }));
  return {
    name: 'latency',
    title: 'Fan-out latency under load',
    description:
      `${c.nodeCount} nodes per system (a fresh cluster, warmed up by ${env.config.warmup.eventsPerSecond} events/s for ${env.config.warmup.durationMs / 1000} s first), ${c.clients} clients in ${c.rooms} rooms. Steady load spread over the rooms for ${c.stepMs / 1000} s at ${c.fractions.map((f) => `${f * 100} %`).join(', ')} ` +
      "of the system's own saturation rate (published events/s of its highest passing saturation step); latency = receive time − publish timestamp, per delivery.",
    durationS: (Date.now() - started) / 1000,
    tables: [{ caption: 'Latency at a share of each system’s saturation rate', header: ['System', 'load (% of its saturation)', 'p50', 'p95', 'p99', 'p99.9', 'max', 'missed', 'load generator event-loop delay p99'], rows }],
    charts: [
      {
        file: 'suite-latency-p99',
        alt: 'p99 latency at 25/50/75 % of saturation',
        chart: { kind: 'line', title: 'p99 fan-out latency (ms, log scale, lower is better)', xLabel: '% of the system’s own saturation rate', yLabel: 'p99 latency (ms)', logY: true, xTicks: c.fractions.map((f) => f * 100), series: lines((p) => p.p99Ms) },
      },
      {
        file: 'suite-latency-p999',
        alt: 'p99.9 latency at 25/50/75 % of saturation',
        chart: { kind: 'line', title: 'p99.9 fan-out latency (ms, log scale, lower is better)', xLabel: '% of the system’s own saturation rate', yLabel: 'p99.9 latency (ms)', logY: true, xTicks: c.fractions.map((f) => f * 100), series: lines((p) => p.p999Ms) },
      },
    ],
    bars: [],
    notes,
    data: perSystem,
  };
}
