import type { DeliveryTimeline } from '../load/load-api';
import { burstSchedule } from './bursts';
import { OTHER_CPU_METRIC, otherCpuPct, deliveriesPerSecond, loadEventLoopP99, phaseDetails, phaseNotes } from './phase-metrics';
import { runPhase } from './run-phase';
import type { Scenario } from './scenario';

const BUCKET_MS = 50;

/**
 * Cold step: the burst load at full rate, from the first event, on nodes that have just started (and
 * have only handled the clients' connects): the backlog it builds and how long it takes to drain.
 */
export const coldStep: Scenario = {
  name: 'cold-step',
  title: 'Cold step load',
  describe: (c) =>
    `Right after the nodes start and the clients connect, with no ramp: the bursts schedule (every ${c.bursts.periodMs} ms ${c.bursts.eventsPerRoom} events into each of ` +
    `${c.bursts.roomsPerBurst} rooms) for ${c.coldStep.durationMs / 1000} s. Backlog = deliveries published (by envelope ts) but not yet received, in ${BUCKET_MS} ms buckets; ` +
    `drained = from when on the backlog never again exceeds one burst's deliveries.`,
  metrics: [
    { key: 'backlogPeakDeliveries', label: 'backlog peak (deliveries)', unit: '', better: 'lower', digits: 0 },
    { key: 'backlogPeakEvents', label: 'backlog peak (events, deliveries ÷ clients per room)', unit: '', better: 'lower', digits: 0 },
    { key: 'backlogPeakAtMs', label: 'backlog peak at', unit: 'ms', better: 'none', digits: 0 },
    { key: 'drainMs', label: 'drained after (from the first event)', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'p50Ms', label: 'latency p50', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'p99Ms', label: 'latency p99', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'maxMs', label: 'latency max', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'deliveredPerS', label: 'delivered events/s (deliveries)', unit: '/s', better: 'higher', digits: 0 },
    { key: 'missed', label: 'missed', unit: '', better: 'lower', digits: 0 },
    { key: 'loadEldP99Ms', label: 'load generator event-loop delay p99', unit: 'ms', better: 'none', digits: 1 },
    OTHER_CPU_METRIC,
  ],
  async run(ctx) {
    const { config } = ctx;
    const schedule = burstSchedule({ ...config.bursts, durationMs: config.coldStep.durationMs }, config.rooms);
    const result = await runPhase(ctx, {
      label: 'cold-step',
      schedule,
      timelineBucketMs: BUCKET_MS,
      settle: { idleMs: 1000, timeoutMs: config.coldStep.drainTimeoutMs },
    });
    const perRoom = config.clients / config.rooms;
    const oneBurst = schedule.eventsPerRoom * schedule.roomsPerBurst * perRoom;
    const backlog = backlogOf(result.load.timeline, oneBurst);
    const latency = result.load.latency;
    return {
      metrics: {
        backlogPeakDeliveries: backlog.peak,
        backlogPeakEvents: backlog.peak / perRoom,
        backlogPeakAtMs: backlog.peakAtMs,
        drainMs: backlog.drainMs,
        p50Ms: latency.percentileMs(50),
        p99Ms: latency.percentileMs(99),
        maxMs: latency.count > 0 ? latency.maxMs : null,
        deliveredPerS: deliveriesPerSecond(result),
        missed: result.load.missed,
        loadEldP99Ms: loadEventLoopP99(result),
        otherCpuPct: otherCpuPct(result),
      },
      notes: phaseNotes(result, 'cold-step'),
      details: { ...phaseDetails(result), backlogThreshold: oneBurst, backlogSeries: backlog.series },
    };
  },
};

/** Backlog at the end of each bucket, its peak, and when it last exceeded `threshold` (`null`: it never came back under it). */
function backlogOf(timeline: DeliveryTimeline | null, threshold: number): { peak: number; peakAtMs: number; drainMs: number | null; series: number[] } {
  if (!timeline) return { peak: 0, peakAtMs: 0, drainMs: null, series: [] };
  const series: number[] = [];
  let published = 0;
  let received = 0;
  for (let i = 0; i < timeline.published.length; i++) {
    published += timeline.published[i] ?? 0;
    received += timeline.received[i] ?? 0;
    series.push(published - received);
  }
  let peak = 0;
  let peakAt = 0;
  let lastOver = -1;
  series.forEach((value, i) => {
    if (value > peak) {
      peak = value;
      peakAt = i;
    }
    if (value > threshold) lastOver = i;
  });
  const drainMs = lastOver === series.length - 1 ? null : (lastOver + 1) * timeline.bucketMs;
  return { peak, peakAtMs: (peakAt + 1) * timeline.bucketMs, drainMs, series };
}
