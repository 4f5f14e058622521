import { isLoadBound } from '../scenarios/saturation';
import type { ScenarioName, ScenarioOutcome } from '../scenarios/scenario';
import { BASELINE, type SystemName } from '../systems/system-names';
import { isFailure, metricOf, type DeliveryResults } from './results';

/** The system the bars judge: Roomwire with its default (batching) configuration. */
export const SUBJECT: SystemName = 'roomwire';

/** `INCONCLUSIVE`: the measurement that decides could have been limited by the load generator. */
export type Verdict = 'PASS' | 'FAIL' | 'N/A' | 'INCONCLUSIVE';

/** One bar (target) of the delivery benchmark, judged on this run's numbers. */
export interface BarResult {
  id: string;
  scenario: ScenarioName;
  requirement: string;
  /** The numbers the verdict rests on. */
  measured: string;
  verdict: Verdict;
}

interface Bar {
  id: string;
  scenario: ScenarioName;
  requirement: string;
  judge(
    metric: (key: string, system?: SystemName) => number | null,
    outcome: (system: SystemName) => ScenarioOutcome | null,
  ): { measured: string; verdict: Verdict };
}

const fmt = (v: number | null, digits = 2): string => (v === null ? '–' : v.toFixed(digits));
const na = (measured = 'not measured in this run'): { measured: string; verdict: Verdict } => ({ measured, verdict: 'N/A' });
const verdict = (ok: boolean): Verdict => (ok ? 'PASS' : 'FAIL');

/** subject ≤ factor × baseline */
function ratioAtMost(id: string, scenario: ScenarioName, key: string, factor: number, requirement: string): Bar {
  return {
    id,
    scenario,
    requirement,
    judge(metric) {
      const subject = metric(key);
      const base = metric(key, BASELINE);
      if (subject === null || base === null || base <= 0) return na();
      return { measured: `${fmt(subject)} vs ${fmt(base)}: ${fmt(subject / base)}×`, verdict: verdict(subject <= factor * base) };
    },
  };
}

/** subject ≤ baseline + margin */
function marginAtMost(id: string, scenario: ScenarioName, key: string, marginMs: number, requirement: string): Bar {
  return {
    id,
    scenario,
    requirement,
    judge(metric) {
      const subject = metric(key);
      const base = metric(key, BASELINE);
      if (subject === null || base === null) return na();
      const diff = subject - base;
      return { measured: `${fmt(subject)} ms vs ${fmt(base)} ms: ${diff >= 0 ? '+' : ''}${fmt(diff)} ms`, verdict: verdict(diff <= marginMs) };
    },
  };
}

/** subject's highest sustained delivered rate ≥ factor × baseline's, INCONCLUSIVE where a limit is only a lower bound. */
function saturationBar(id: string, scenario: ScenarioName, requirement: string, factor = 2): Bar {
  return {
    id,
    scenario,
    requirement,
    judge(metric, outcome) {
      const subject = metric('maxSustainedDeliveriesPerS');
      const base = metric('maxSustainedDeliveriesPerS', BASELINE);
      if (subject === null || base === null) return na();
      if (base <= 0) return { measured: `${fmt(subject, 0)}/s vs ${fmt(base, 0)}/s (the baseline passed no step)`, verdict: verdict(subject > 0) };
      const measured = `${fmt(subject, 0)}/s vs ${fmt(base, 0)}/s: ${fmt(subject / base)}×`;
      const pass = subject >= factor * base;
      // A limit that is only a lower bound blocks just the verdict it could flip.
      const who = pass ? BASELINE : SUBJECT;
      const why = lowerBoundReason(outcome(who));
      if (why !== null) return { measured: `${measured}; ${who}'s true limit may be higher: ${why}`, verdict: 'INCONCLUSIVE' };
      return { measured, verdict: verdict(pass) };
    },
  };
}

/**
 * Past its limit (at 2× the baseline's), the subject's delivered rate stays at or above its own limit
 * (no collapse). Where 2× the baseline's limit is not past the subject's own, it must deliver ≥ 95 %
 * of what was offered instead.
 */
const overloadNoCollapse: Bar = {
  id: 'overload-no-collapse',
  scenario: 'overload',
  requirement: "overload (2× the baseline's limit): Roomwire's delivered rate does not fall below its own limit",
  judge(metric) {
    const delivered = metric('deliveredPerS');
    const limit = metric('limitDeliveriesPerS');
    const ratio = metric('deliveredRatio');
    if (delivered === null || limit === null) return na();
    if (limit <= 0) return { measured: `${fmt(delivered, 0)}/s delivered; no saturation step passed, so no limit to compare with`, verdict: 'N/A' };
    const measured = `${fmt(delivered, 0)}/s delivered vs its limit ${fmt(limit, 0)}/s: ${fmt(delivered / limit)}×`;
    if (ratio !== null && ratio >= 0.95) return { measured: `${measured}; ${fmt(ratio * 100, 1)} % of the offered load delivered (not past its limit)`, verdict: 'PASS' };
    return { measured, verdict: verdict(delivered >= limit) };
  },
};

/** From its limit to 2× the baseline's, the subject's p99 grows by no larger a factor than the baseline's. */
const overloadP99Growth: Bar = {
  id: 'overload-p99-growth',
  scenario: 'overload',
  requirement: "overload (2× the baseline's limit): Roomwire's p99 grows (from its p99 at its limit) no faster than the baseline's",
  judge(metric) {
    const subject = metric('p99Growth');
    const base = metric('p99Growth', BASELINE);
    if (subject === null || base === null) return na();
    return {
      measured: `×${fmt(subject)} (${fmt(metric('p99AtLimitMs'), 0)} → ${fmt(metric('p99Ms'), 0)} ms) vs ×${fmt(base)} (${fmt(metric('p99AtLimitMs', BASELINE), 0)} → ${fmt(metric('p99Ms', BASELINE), 0)} ms)`,
      verdict: verdict(subject <= base),
    };
  },
};

const BARS: Bar[] = [
  // Spread traffic (every frame carries one event), saturation in it, and past the limit.
  ratioAtMost('spread-node-cpu-1000', 'spread', 'nodeCpuSPer100kAt1000', 0.8, 'spread traffic at 1 000 events/s: node CPU per delivery ≤ 0.8× baseline'),
  ratioAtMost('spread-node-cpu-2000', 'spread', 'nodeCpuSPer100kAt2000', 0.8, 'spread traffic at 2 000 events/s: node CPU per delivery ≤ 0.8× baseline'),
  ratioAtMost('spread-client-cpu', 'spread', 'clientCpuSPer100k', 1.0, 'spread traffic: client CPU per event (@roomwire/client) ≤ 1.0× socket.io-client'),
  saturationBar('spread-saturation', 'saturation', 'saturation in spread traffic (lean clients, pinned): highest sustained delivered events/s ≥ 1.5× baseline', 1.5),
  overloadNoCollapse,
  overloadP99Growth,
  ratioAtMost('bursts-bytes', 'bursts', 'wireBytesPerDelivery', 0.5, 'bursts: WebSocket bytes per delivered event ≤ 0.5× baseline'),
  ratioAtMost('bursts-cpu', 'bursts', 'nodeCpuSPer100k', 0.5, 'bursts: node CPU per delivered event ≤ 0.5× baseline'),
  marginAtMost('lone-p50', 'lone-events', 'p50Ms', 1, 'lone events: p50 no more than 1 ms above baseline'),
  marginAtMost('lone-p99', 'lone-events', 'p99Ms', 5, 'lone events: p99 no more than 5 ms above baseline'),
  saturationBar('saturation', 'saturation', 'saturation: highest sustained delivered events/s ≥ 2× baseline'),
  saturationBar(
    'saturation-hot-rooms',
    'saturation-hot-rooms',
    'saturation with the load on a few hot rooms (supplementary, not a bar of the issue): highest sustained delivered events/s ≥ 2× baseline',
  ),
  {
    id: 'recovery-complete',
    scenario: 'recovery-storm',
    requirement: 'recovery storm: every cut client recovered, 0 missed, 0 duplicated, within 5 s of restore',
    judge(metric) {
      const cut = metric('cutClients');
      const recovered = metric('recoveredClients');
      const missed = metric('missedCut');
      const duplicated = metric('duplicatedCut');
      const time = metric('timeToAllRecoveredMs');
      if (cut === null || recovered === null || missed === null || duplicated === null) return na();
      const measured = `${recovered}/${cut} recovered, ${missed} missed, ${duplicated} duplicated, all within ${time === null ? '–' : `${fmt(time, 0)} ms`}`;
      return { measured, verdict: verdict(cut > 0 && recovered === cut && missed === 0 && duplicated === 0 && time !== null && time <= 5000) };
    },
  },
  {
    id: 'recovery-redis',
    scenario: 'recovery-storm',
    requirement: 'recovery storm: Redis memory peak < 50 MB above steady',
    judge(metric) {
      const above = metric('redisMemoryAboveSteadyMB');
      if (above === null) return na();
      return { measured: `${fmt(above, 1)} MB above steady (peak ${fmt(metric('redisMemoryPeakMB'), 1)} MB)`, verdict: verdict(above < 50) };
    },
  },
  {
    id: 'recovery-p99',
    scenario: 'recovery-storm',
    requirement: 'recovery storm: p99 latency of never-cut clients < 100 ms',
    judge(metric) {
      const p99 = metric('neverCutP99Ms');
      if (p99 === null) return na();
      return { measured: `${fmt(p99, 1)} ms`, verdict: verdict(p99 < 100) };
    },
  },
];

/** Judges every bar of the delivery benchmark on the subject ({@link SUBJECT}) against the baseline of the same run. */
export function judgeBars(results: Pick<DeliveryResults, 'scenarios'>): BarResult[] {
  return BARS.map((bar) => {
    const ran = results.scenarios.some((s) => s.name === bar.scenario);
    const outcome = (system: SystemName): ScenarioOutcome | null => {
      const found = results.scenarios.find((s) => s.name === bar.scenario)?.outcomes[system];
      return found === undefined || isFailure(found) ? null : found;
    };
    const judged = ran
      ? bar.judge((key, system = SUBJECT) => metricOf(results, bar.scenario, system, key), outcome)
      : na('scenario not run');
    return { id: bar.id, scenario: bar.scenario, requirement: bar.requirement, ...judged };
  });
}

/**
 * Why a saturation result is only a lower bound of the system's limit, or `null` when it is the limit:
 * no step failed (the run stopped first), or the limiting step (the lowest failing rate) failed with
 * the load generator saturated.
 */
function lowerBoundReason(outcome: ScenarioOutcome | null): string | null {
  const steps = (outcome?.details.steps ?? []) as { eventsPerSecond: number; pass: boolean; loadEldP99Ms: number }[];
  const failing = steps.filter((step) => !step.pass).sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[0];
  if (!failing) return 'no step failed before the run stopped';
  if (isLoadBound(failing)) return `its limiting step (${failing.eventsPerSecond} events/s) failed with the load generator saturated (event-loop delay p99 ${failing.loadEldP99Ms.toFixed(0)} ms > 50 ms)`;
  return null;
}
