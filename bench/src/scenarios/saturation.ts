import { cpuPer100k, deliveriesPerSecond, loadEventLoopP99, LOAD_ELD_WARN_MS, OTHER_LOAD_WARN_SHARE } from './phase-metrics';
import { runPhase, type PhaseResult } from './run-phase';
import type { BenchConfig } from '../config';
import type { Schedule } from '../publish/schedule';
import type { Scenario, ScenarioContext, SessionShape } from './scenario';
import { spreadSchedule } from './spread';

/**
 * The session of the saturation sweeps and the overload: the spread layout, lean protocol-level
 * clients (so the load generator is not the limit), pinned when the machine has ≥ 2 cores.
 */
export function leanShape(config: BenchConfig): SessionShape {
  return { clients: config.spread.clients, rooms: config.spread.rooms, clientKind: 'lean', pinned: config.leanLoad.cpuPinning };
}

/** Steps tried below the start rate when the first step fails. */
const STEP_DOWN_TRIES = 3;
/** No step below this rate (events/s). */
const MIN_STEP_EVENTS_PER_S = 50;

/** One rate tried. */
interface Step {
  eventsPerSecond: number;
  deliveredPerS: number | null;
  p99Ms: number | null;
  deliveredRatio: number;
  publisherMaxLagMs: number;
  loadEldP99Ms: number;
  nodeCpuS: number;
  /** CPU seconds per 100 000 deliveries of the step, by role (null when nothing was delivered). */
  cpuPer100k: { nodes: number | null; loadGenerator: number | null; publisher: number | null; redis: number | null };
  /** Redis CPU seconds and the length of the step's resource window, in s. */
  redisCpuS: number;
  windowS: number;
  /** CPU used outside the benchmark, % of the machine. */
  otherCpuPct: number;
  pass: boolean;
  /** Why it failed. */
  reason: string | null;
}

/**
 * Saturation: steady load over `roomsOf(config)` rooms, raised step by step (×factor) until a step's p99
 * passes the limit or delivery falls behind, then narrowed between the last passing and the first
 * failing rate. The result is the delivered rate of the highest passing step.
 */
function saturationScenario(spec: {
  name: Scenario['name'];
  title: string;
  /** Rooms that get the load, of the session's `sessionRooms`. */
  roomsOf: (config: BenchConfig, sessionRooms: number) => number;
  intro: (config: BenchConfig) => string;
  /** The schedule of the step at `eventsPerSecond` (the `index`-th step run). */
  schedule: (config: BenchConfig, eventsPerSecond: number, durationMs: number, rooms: number, index: number) => Schedule;
  /** Run `config.saturation.warmupMs` of unmeasured load at half the start rate first. @default false */
  warmUp?: boolean;
}): Scenario {
  return {
    name: spec.name,
    title: spec.title,
    shape: leanShape,
    describe: (c) => {
      const s = c.saturation;
      return (
        `${spec.intro(c)}${spec.warmUp === true ? ` After ${s.warmupMs / 1000} s of unmeasured warm-up at half the start rate, in` : ' In'} ${s.stepMs / 1000} s steps from ${s.startEventsPerSecond} events/s, ×${s.factor} per step ` +
        `(at most ${s.maxSteps} steps, then ${s.refineSteps} narrowing steps; if the first step fails, down ÷${s.factor} up to ${STEP_DOWN_TRIES} times). A step passes when p99 latency ≤ ${s.p99LimitMs} ms, ` +
        `≥ ${s.minDeliveredRatio * 100} % of its deliveries arrive within ${s.graceMs} ms of its end, and the publisher keeps to its schedule.`
      );
    },
    metrics: [
      { key: 'maxSustainedDeliveriesPerS', label: 'highest sustained delivered events/s (deliveries)', unit: '/s', better: 'higher', digits: 0 },
      { key: 'maxSustainedEventsPerS', label: 'published events/s at that step', unit: '/s', better: 'higher', digits: 0 },
      { key: 'p99AtMaxMs', label: 'latency p99 at that step', unit: 'ms', better: 'lower', digits: 1 },
      { key: 'firstFailingEventsPerS', label: 'first failing rate (published events/s)', unit: '/s', better: 'higher', digits: 0 },
      { key: 'steps', label: 'steps run', unit: '', better: 'none', digits: 0 },
      { key: 'loadEldP99Ms', label: 'load generator event-loop delay p99 at that step', unit: 'ms', better: 'none', digits: 1 },
      // Where the machine's CPU went per delivery at that step: why a limit is where it is.
      { key: 'nodeCpuSPer100k', label: 'node CPU per 100 000 deliveries at that step', unit: 's', better: 'lower', digits: 2 },
      { key: 'loadCpuSPer100k', label: 'load generator CPU per 100 000 deliveries at that step', unit: 's', better: 'none', digits: 2 },
      { key: 'publisherCpuSPer100k', label: 'publisher CPU per 100 000 deliveries at that step', unit: 's', better: 'lower', digits: 2 },
      { key: 'redisCpuSPer100k', label: 'Redis CPU per 100 000 deliveries at that step', unit: 's', better: 'lower', digits: 3 },
    ],
    async run(ctx) {
      const s = ctx.config.saturation;
      const steps: Step[] = [];
      const notes: string[] = [];
      let best: Step | null = null;
      let failing: Step | null = null;
      const hasTime = (): boolean => Date.now() + s.stepMs + s.graceMs + ctx.config.drainTimeoutMs < ctx.deadline;

      const tryRate = async (eventsPerSecond: number): Promise<Step> => {
        const rooms = spec.roomsOf(ctx.config, ctx.shape?.rooms ?? ctx.config.rooms);
        const schedule = spec.schedule(ctx.config, eventsPerSecond, s.stepMs, rooms, steps.length);
        const step = evaluate(await runStep(ctx, schedule, rooms), s);
        steps.push(step);
        ctx.log(`${spec.name} ${eventsPerSecond}/s: ${step.pass ? 'PASS' : `FAIL (${step.reason})`}`);
        return step;
      };

      if (spec.warmUp === true && s.warmupMs > 0) {
        const rooms = spec.roomsOf(ctx.config, ctx.shape?.rooms ?? ctx.config.rooms);
        const warmRate = Math.max(MIN_STEP_EVENTS_PER_S, Math.round(s.startEventsPerSecond / 2));
        await runPhase(ctx, {
          label: `${spec.name} warm-up ${warmRate}/s`,
          schedule: spec.schedule(ctx.config, warmRate, s.warmupMs, rooms, 99),
          settle: { idleMs: Math.min(300, s.graceMs), timeoutMs: s.graceMs },
        });
      }
      let rate = s.startEventsPerSecond;
      for (let i = 0; i < s.maxSteps; i++) {
        // The first step always runs: a saturation result needs at least one measurement.
        if (i > 0 && !hasTime()) {
          notes.push('stopped early: the run budget is spent');
          break;
        }
        const step = await tryRate(rate);
        if (!step.pass) {
          failing = step;
          break;
        }
        best = step;
        rate = Math.round(rate * s.factor);
      }
      // The first step failed: step down until one passes, so a limit below the start rate is still found.
      for (let i = 0; i < STEP_DOWN_TRIES && !best && failing && hasTime(); i++) {
        const lower = Math.round(failing.eventsPerSecond / s.factor);
        if (lower < MIN_STEP_EVENTS_PER_S) break;
        const step = await tryRate(lower);
        if (step.pass) best = step;
        else failing = step;
      }
      for (let i = 0; i < s.refineSteps && best && failing && hasTime(); i++) {
        const mid = Math.round(Math.sqrt(best.eventsPerSecond * failing.eventsPerSecond));
        if (mid <= best.eventsPerSecond || mid >= failing.eventsPerSecond) break;
        const step = await tryRate(mid);
        if (step.pass) best = step;
        else failing = step;
      }
      if (!failing && best) notes.push(`no step failed: the system sustained the highest rate tried (${best.eventsPerSecond} events/s); the true limit is higher`);
      if (best && best.loadEldP99Ms > LOAD_ELD_WARN_MS) notes.push(`at the highest passing step the load generator's event-loop delay p99 was ${best.loadEldP99Ms.toFixed(0)} ms: the limit may be the load generator's`);
      if (failing) notes.push(`limited by: ${failing.reason} at ${failing.eventsPerSecond} events/s`);
      if (ctx.pinning) notes.push(ctx.pinning.description);
      const noisy = steps.filter((step) => step.otherCpuPct > OTHER_LOAD_WARN_SHARE * 100);
      if (noisy.length > 0) notes.push(`processes outside the benchmark used > ${OTHER_LOAD_WARN_SHARE * 100} % of the machine during the ${noisy.map((step) => `${step.eventsPerSecond}/s`).join(', ')} step(s): noisy`);

      return {
        metrics: {
          // 0 when every step failed; null when none ran.
          maxSustainedDeliveriesPerS: best?.deliveredPerS ?? (steps.length > 0 ? 0 : null),
          maxSustainedEventsPerS: best?.eventsPerSecond ?? (steps.length > 0 ? 0 : null),
          p99AtMaxMs: best?.p99Ms ?? null,
          firstFailingEventsPerS: failing?.eventsPerSecond ?? null,
          steps: steps.length,
          loadEldP99Ms: best?.loadEldP99Ms ?? null,
          nodeCpuSPer100k: best?.cpuPer100k.nodes ?? null,
          loadCpuSPer100k: best?.cpuPer100k.loadGenerator ?? null,
          publisherCpuSPer100k: best?.cpuPer100k.publisher ?? null,
          redisCpuSPer100k: best?.cpuPer100k.redis ?? null,
        },
        notes,
        details: { steps, limitStep: failing, loadBoundAtLimit: isLoadBound(failing), clientKind: ctx.shape?.clientKind ?? 'library', pinning: ctx.pinning ?? null },
      };
    },
  };
}

/** The issue's saturation scenario: spread traffic (each event to a random room) over every room. */
export const saturation = saturationScenario({
  name: 'saturation',
  title: 'Saturation',
  roomsOf: (_c, sessionRooms) => sessionRooms,
  intro: (c) =>
    `Spread traffic (each event to a random room, ${c.spread.payloadBytes} B payloads) over ${c.spread.rooms} rooms of ${c.spread.clients / c.spread.rooms} lean protocol-level clients, ` +
    `${c.leanLoad.cpuPinning ? 'servers + Redis and load + publisher pinned to separate cores (when the machine has ≥ 2)' : 'not pinned'}.`,
  schedule: (c, eventsPerSecond, durationMs, rooms, index) => spreadSchedule(c, eventsPerSecond, durationMs, rooms, 100 + index),
  warmUp: true,
});

/**
 * The saturation stepping as it was before spread traffic: steady round-robin load over every room of the
 * session, with the benchmark's small payload. The suite's scaling and latency scenarios use it, so
 * their numbers stay comparable with earlier runs.
 */
export const saturationSteady = saturationScenario({
  name: 'saturation',
  title: 'Saturation (steady)',
  roomsOf: (_c, sessionRooms) => sessionRooms,
  intro: (c) => `Steady load spread evenly over all ${c.rooms} rooms.`,
  schedule: (_c, eventsPerSecond, durationMs, rooms) => ({ kind: 'steady', eventsPerSecond, durationMs, rooms }),
});

/**
 * The same stepping with the whole load on a few rooms (the others idle, their clients still
 * connected): each room then gets events faster than the batch window, which is where batching engages.
 */
export const saturationHotRooms = saturationScenario({
  name: 'saturation-hot-rooms',
  title: 'Saturation, hot rooms',
  roomsOf: (c) => c.saturation.hotRooms,
  intro: (c) =>
    `Steady load on ${c.saturation.hotRooms} of the ${c.spread.rooms} rooms (the others idle, their lean clients connected), so each hot room gets ` +
    `${c.spread.rooms / c.saturation.hotRooms}× the per-room rate of the evenly spread scenario at the same total.`,
  schedule: (_c, eventsPerSecond, durationMs, rooms) => ({ kind: 'steady', eventsPerSecond, durationMs, rooms }),
});

function runStep(ctx: ScenarioContext, schedule: Schedule, rooms: number): Promise<PhaseResult> {
  const s = ctx.config.saturation;
  const eventsPerSecond = schedule.kind === 'bursts' ? 0 : schedule.eventsPerSecond;
  return runPhase(ctx, {
    label: `${rooms < (ctx.shape?.rooms ?? ctx.config.rooms) ? `saturation on ${rooms} rooms` : 'saturation'} ${eventsPerSecond}/s`,
    schedule,
    settle: { idleMs: Math.min(300, s.graceMs), timeoutMs: s.graceMs },
  });
}

function evaluate(result: PhaseResult, s: ScenarioContext['config']['saturation']): Step {
  const p99Ms = result.load.latency.percentileMs(99);
  const deliveredRatio = result.expectedDeliveries > 0 ? result.load.deliveries / result.expectedDeliveries : 0;
  const reasons: string[] = [];
  if (p99Ms === null || p99Ms > s.p99LimitMs) reasons.push(`p99 ${p99Ms === null ? '–' : p99Ms.toFixed(0)} ms > ${s.p99LimitMs} ms`);
  if (deliveredRatio < s.minDeliveredRatio) reasons.push(`only ${(deliveredRatio * 100).toFixed(1)} % delivered in time`);
  if (result.publish.maxLagMs > s.p99LimitMs) reasons.push(`publisher ${result.publish.maxLagMs} ms behind schedule`);
  return {
    eventsPerSecond: result.schedule.kind === 'bursts' ? 0 : result.schedule.eventsPerSecond,
    deliveredPerS: deliveriesPerSecond(result),
    p99Ms,
    deliveredRatio,
    publisherMaxLagMs: result.publish.maxLagMs,
    loadEldP99Ms: loadEventLoopP99(result),
    nodeCpuS: result.resources.cpuS.nodes,
    cpuPer100k: {
      nodes: cpuPer100k(result.resources.cpuS.nodes, result),
      loadGenerator: cpuPer100k(result.resources.cpuS.load, result),
      publisher: cpuPer100k(result.resources.cpuS.publisher, result),
      redis: cpuPer100k(result.resources.cpuS.redis, result),
    },
    redisCpuS: result.resources.cpuS.redis,
    windowS: result.resources.windowS,
    otherCpuPct: result.resources.otherShare * 100,
    pass: reasons.length === 0,
    reason: reasons.length === 0 ? null : reasons.join('; '),
  };
}

/**
 * Whether a failing step may have failed because of the load generator rather than the system: its
 * event-loop delay was high enough to add the latency that failed the step.
 */
export function isLoadBound(step: Pick<Step, 'loadEldP99Ms'> | null): boolean {
  return step !== null && step.loadEldP99Ms > LOAD_ELD_WARN_MS;
}
