import { deliveriesPerSecond, loadEventLoopP99, LOAD_ELD_WARN_MS, OTHER_LOAD_WARN_SHARE } from './phase-metrics';
import { runPhase, type PhaseResult } from './run-phase';
import type { Scenario, ScenarioContext } from './scenario';

/** One rate tried. */
interface Step {
  eventsPerSecond: number;
  deliveredPerS: number | null;
  p99Ms: number | null;
  deliveredRatio: number;
  publisherMaxLagMs: number;
  loadEldP99Ms: number;
  nodeCpuS: number;
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
 * Saturation: steady load spread over all rooms, raised step by step (×factor) until a step's p99
 * passes the limit or delivery falls behind, then narrowed between the last passing and the first
 * failing rate. The result is the delivered rate of the highest passing step.
 */
export const saturation: Scenario = {
  name: 'saturation',
  title: 'Saturation',
  describe: (c) => {
    const s = c.saturation;
    return (
      `Steady load spread over ${c.rooms} rooms in ${s.stepMs / 1000} s steps from ${s.startEventsPerSecond} events/s, ×${s.factor} per step ` +
      `(at most ${s.maxSteps} steps, then ${s.refineSteps} narrowing steps). A step passes when p99 latency ≤ ${s.p99LimitMs} ms, ` +
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
  ],
  async run(ctx) {
    const s = ctx.config.saturation;
    const steps: Step[] = [];
    const notes: string[] = [];
    let best: Step | null = null;
    let failing: Step | null = null;
    const hasTime = (): boolean => Date.now() + s.stepMs + s.graceMs + ctx.config.drainTimeoutMs < ctx.deadline;

    const tryRate = async (eventsPerSecond: number): Promise<Step> => {
      const step = evaluate(await runStep(ctx, eventsPerSecond), s);
      steps.push(step);
      ctx.log(`saturation ${eventsPerSecond}/s: ${step.pass ? 'PASS' : `FAIL (${step.reason})`}`);
      return step;
    };

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
      },
      notes,
      details: { steps, limitStep: failing, loadBoundAtLimit: isLoadBound(failing) },
    };
  },
};

function runStep(ctx: ScenarioContext, eventsPerSecond: number): Promise<PhaseResult> {
  const s = ctx.config.saturation;
  return runPhase(ctx, {
    label: `saturation ${eventsPerSecond}/s`,
    schedule: { kind: 'steady', eventsPerSecond, durationMs: s.stepMs, rooms: ctx.config.rooms },
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
    eventsPerSecond: (result.schedule.kind === 'steady' ? result.schedule.eventsPerSecond : 0),
    deliveredPerS: deliveriesPerSecond(result),
    p99Ms,
    deliveredRatio,
    publisherMaxLagMs: result.publish.maxLagMs,
    loadEldP99Ms: loadEventLoopP99(result),
    nodeCpuS: result.resources.cpuS.nodes,
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
