import type { PhaseResult } from './run-phase';
import type { MetricDef } from './scenario';

/**
 * Numbers derived from a phase, defined once so every scenario reports them the same way. A
 * "delivery" is one event received by one client.
 */

/** Deliveries per second, over the time from the first scheduled tick until the last delivery (or the last emit, if later). */
export function deliveriesPerSecond(result: PhaseResult): number | null {
  const end = Math.max(result.publish.endedAt, result.load.lastReceivedAt ?? 0);
  const seconds = (end - result.publish.startedAt) / 1000;
  return seconds > 0 ? result.load.deliveries / seconds : null;
}

/** `value` per delivery; null without deliveries. */
export function perDelivery(value: number, result: PhaseResult): number | null {
  return result.load.deliveries > 0 ? value / result.load.deliveries : null;
}

/** CPU seconds of a role per 100 000 deliveries. */
export function cpuPer100k(cpuS: number, result: PhaseResult): number | null {
  return result.load.deliveries > 0 ? (cpuS / result.load.deliveries) * 100_000 : null;
}

/** The worst p99 event-loop delay of any load worker over the phase, in ms. */
export function loadEventLoopP99(result: PhaseResult): number {
  return Math.max(0, ...result.load.eventLoopDelay.map((d) => d.p99Ms));
}

/** Above this p99 event-loop delay the load generator may be what limits the numbers. */
export const LOAD_ELD_WARN_MS = 50;

/** Context row of every single-phase scenario: how busy the rest of the machine was. */
export const OTHER_CPU_METRIC: MetricDef = { key: 'otherCpuPct', label: 'CPU used outside the benchmark (% of machine)', unit: '%', better: 'none', digits: 0 };

/** The value of {@link OTHER_CPU_METRIC}. */
export function otherCpuPct(result: PhaseResult): number {
  return result.resources.otherShare * 100;
}

/** Above this share of the machine used by other processes during a phase, its numbers are flagged as noisy. */
export const OTHER_LOAD_WARN_SHARE = 0.15;

/** Caveats every scenario attaches when they apply. */
export function phaseNotes(result: PhaseResult, label: string): string[] {
  const notes: string[] = [];
  const other = result.resources.otherShare;
  if (other > OTHER_LOAD_WARN_SHARE) notes.push(`${label}: processes outside the benchmark used ${(other * 100).toFixed(0)} % of the machine's CPU during this phase: numbers are noisy`);
  const eld = loadEventLoopP99(result);
  if (eld > LOAD_ELD_WARN_MS) notes.push(`${label}: load generator event-loop delay p99 ${eld.toFixed(0)} ms (> ${LOAD_ELD_WARN_MS} ms): the load generator may be a bottleneck`);
  if (result.publish.maxLagMs > 100) notes.push(`${label}: the publisher fell up to ${result.publish.maxLagMs} ms behind its schedule`);
  if (result.publish.failed > 0) notes.push(`${label}: ${result.publish.failed} publishes failed (first: ${result.publish.firstFailure ?? 'unknown'})`);
  if (!result.complete) {
    const late = result.lateDeliveries > 0 ? `; ${result.lateDeliveries} of them arrived later, after the phase had ended` : '; none arrived later';
    notes.push(`${label}: ${result.expectedDeliveries - result.load.deliveries} of ${result.expectedDeliveries} deliveries had not arrived when the phase ended (counted as missed)${late}`);
  }
  if (result.load.recovery.unexpectedDisconnects > 0) notes.push(`${label}: ${result.load.recovery.unexpectedDisconnects} unexpected client disconnects`);
  return notes;
}

/** Measurements every scenario keeps in the JSON, for any later analysis. */
export function phaseDetails(result: PhaseResult): Record<string, unknown> {
  const { load, publish, resources } = result;
  return {
    schedule: result.schedule,
    published: publish.published,
    publishFailed: publish.failed,
    publisherMaxLagMs: publish.maxLagMs,
    publisherEventLoopDelay: publish.eventLoopDelay,
    expectedDeliveries: result.expectedDeliveries,
    deliveries: load.deliveries,
    complete: result.complete,
    settleMs: result.settleMs,
    lateDeliveries: result.lateDeliveries,
    stale: load.stale,
    latencyMs: load.latency.summary(),
    latencyNeverCutMs: load.latencyNeverCut.summary(),
    missed: load.missed,
    duplicated: load.duplicated,
    outOfOrder: load.outOfOrder,
    wire: load.wire,
    loadEventLoopDelay: load.eventLoopDelay,
    loadCpuS: load.cpuS,
    cpuS: resources.cpuS,
    otherCpuShare: resources.otherShare,
    redisMemoryPeakBytes: resources.redisMemoryPeak,
    nodeRssPeakBytes: resources.nodeRssPeak,
    recovery: load.recovery,
  };
}
