import { nominalRate, type BurstSchedule } from '../publish/schedule';
import { OTHER_CPU_METRIC, otherCpuPct, cpuPer100k, deliveriesPerSecond, loadEventLoopP99, perDelivery, phaseDetails, phaseNotes } from './phase-metrics';
import { runPhase } from './run-phase';
import type { Scenario } from './scenario';

/** Bursts: many events into some rooms at once, the shape batching is for; throughput and cost per delivery. */
export const bursts: Scenario = {
  name: 'bursts',
  title: 'Bursts',
  describe: (c) =>
    `Every ${c.bursts.periodMs} ms, ${c.bursts.eventsPerRoom} events into each of ${c.bursts.roomsPerBurst} rooms ` +
    `(the next ${c.bursts.roomsPerBurst} of ${c.rooms} in turn) for ${c.bursts.durationMs / 1000} s: ` +
    `${nominalRate(burstSchedule(c.bursts, c.rooms))} events/s, ${(nominalRate(burstSchedule(c.bursts, c.rooms)) * c.clients) / c.rooms} deliveries/s offered.`,
  metrics: [
    { key: 'deliveredPerS', label: 'delivered events/s (deliveries)', unit: '/s', better: 'higher', digits: 0 },
    { key: 'p50Ms', label: 'latency p50', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'p99Ms', label: 'latency p99', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'packetsPerDelivery', label: 'Socket.IO event packets per delivered event', unit: '', better: 'lower', digits: 3 },
    { key: 'wireBytesPerDelivery', label: 'WebSocket bytes per delivered event', unit: 'B', better: 'lower', digits: 1 },
    { key: 'nodeCpuSPer100k', label: 'node CPU per 100 000 delivered events', unit: 's', better: 'lower', digits: 2 },
    { key: 'redisCpuSPer100k', label: 'Redis CPU per 100 000 delivered events', unit: 's', better: 'lower', digits: 3 },
    { key: 'publisherCpuSPer100k', label: 'publisher CPU per 100 000 delivered events', unit: 's', better: 'lower', digits: 3 },
    { key: 'loadCpuSPer100k', label: 'load generator CPU per 100 000 delivered events', unit: 's', better: 'none', digits: 2 },
    { key: 'missed', label: 'missed', unit: '', better: 'lower', digits: 0 },
    { key: 'loadEldP99Ms', label: 'load generator event-loop delay p99', unit: 'ms', better: 'none', digits: 1 },
    OTHER_CPU_METRIC,
  ],
  async run(ctx) {
    const { config } = ctx;
    const result = await runPhase(ctx, { label: 'bursts', schedule: burstSchedule(config.bursts, config.rooms), settle: config.settle });
    const { load, resources } = result;
    return {
      metrics: {
        deliveredPerS: deliveriesPerSecond(result),
        p50Ms: load.latency.percentileMs(50),
        p99Ms: load.latency.percentileMs(99),
        packetsPerDelivery: perDelivery(load.wire.eventPackets, result),
        wireBytesPerDelivery: perDelivery(load.wire.bytes, result),
        nodeCpuSPer100k: cpuPer100k(resources.cpuS.nodes, result),
        redisCpuSPer100k: cpuPer100k(resources.cpuS.redis, result),
        publisherCpuSPer100k: cpuPer100k(resources.cpuS.publisher, result),
        loadCpuSPer100k: cpuPer100k(resources.cpuS.load, result),
        missed: load.missed,
        loadEldP99Ms: loadEventLoopP99(result),
        otherCpuPct: otherCpuPct(result),
      },
      notes: phaseNotes(result, 'bursts'),
      details: phaseDetails(result),
    };
  },
};

/** The bursts schedule of a config (also what the cold step publishes). */
export function burstSchedule(b: { periodMs: number; eventsPerRoom: number; roomsPerBurst: number; durationMs: number }, rooms: number): BurstSchedule {
  return { kind: 'bursts', periodMs: b.periodMs, eventsPerRoom: b.eventsPerRoom, roomsPerBurst: b.roomsPerBurst, durationMs: b.durationMs, rooms };
}
