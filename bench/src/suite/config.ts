import { FULL_CONFIG, QUICK_CONFIG, type BenchConfig } from '../config';

/**
 * Sizes and durations of the benchmark suite. The full run is bounded to about 30 minutes on a
 * 2-core machine; `--quick` is a seconds-long smoke version of every scenario, for CI.
 */
export interface SuiteConfig {
  mode: 'full' | 'quick';
  loadWorkers: number;
  connectPerSecondPerWorker: number;
  connectTimeoutMs: number;
  memory: {
    /** Idle connections on the one node, cumulative levels. */
    levels: number[];
    clientsPerRoom: number;
    /** Quiet time after the connections of a level are open, before the node's memory is read. */
    settleMs: number;
  };
  replayWindow: {
    /** Orgs, one subscribed client each (one room per org). */
    orgs: number;
    /** Replay window the levels are about, in s (Roomwire's default, `REPLAY_WINDOW_MS`). */
    windowS: number;
    /** Cluster-wide publish rates whose window is filled, events/s. */
    ratesPerSecond: number[];
    /** Rate at which a window's events are published (faster than real time; same events, same sizes). */
    fillEventsPerSecond: number;
    /**
     * Most events actually published for one rate: a larger window is filled this far and its memory
     * extrapolated from the bytes per event measured (the report says which figures are extrapolated).
     */
    maxFillEvents: number;
    /** Share of the clients cut before the fill and let back after it (they must replay the whole window); 1 = every client. */
    sampleFraction: number;
    /** The claim checked: a full window stays under this many bytes of Redis memory. */
    claimBytes: number;
    settleTimeoutMs: number;
  };
  storm: {
    clients: number;
    rooms: number;
    eventsPerSecond: number;
    warmMs: number;
    cutMs: number;
    afterMs: number;
    settleTimeoutMs: number;
    /** The bar: every client recovered within this long after the restore. */
    recoveryLimitMs: number;
  };
  /**
   * Steady load on a fresh cluster before the scaling and latency scenarios measure anything: a cold
   * node (JIT, first allocations of every room and socket) is slower for its first seconds, and the
   * first step of a saturation must not judge that.
   */
  warmup: { eventsPerSecond: number; durationMs: number };
  scaling: {
    nodeCounts: number[];
    clients: number;
    rooms: number;
    saturation: BenchConfig['saturation'];
  };
  latency: {
    nodeCount: number;
    clients: number;
    rooms: number;
    /** Shares of each system's saturation rate (from the scaling scenario at `nodeCount` nodes). */
    fractions: number[];
    stepMs: number;
  };
}

export const FULL_SUITE_CONFIG: SuiteConfig = {
  mode: 'full',
  loadWorkers: 2,
  connectPerSecondPerWorker: 400,
  connectTimeoutMs: 120_000,
  memory: { levels: [1000, 5000, 10_000], clientsPerRoom: 10, settleMs: 3000 },
  replayWindow: {
    orgs: 10_000,
    windowS: 300,
    ratesPerSecond: [500, 5000],
    fillEventsPerSecond: 10_000,
    maxFillEvents: 150_000,
    sampleFraction: 1,
    claimBytes: 500 * 1024 * 1024,
    settleTimeoutMs: 60_000,
  },
  storm: { clients: 2000, rooms: 200, eventsPerSecond: 1000, warmMs: 3000, cutMs: 10_000, afterMs: 10_000, settleTimeoutMs: 15_000, recoveryLimitMs: 10_000 },
  warmup: { eventsPerSecond: 250, durationMs: 5000 },
  scaling: {
    nodeCounts: [1, 2, 3],
    clients: 2000,
    rooms: 200,
    // From 250 events/s (2 500 deliveries/s): on a 2-core machine that runs the load as well, every
    // system's limit is near 1 000–2 000 events/s, and a start at the limit measures nothing.
    saturation: { ...FULL_CONFIG.saturation, startEventsPerSecond: 250, maxSteps: 6, refineSteps: 1, stepMs: 3000, p99LimitMs: 250, minDeliveredRatio: 0.99 },
  },
  latency: { nodeCount: 2, clients: 2000, rooms: 200, fractions: [0.25, 0.5, 0.75], stepMs: 10_000 },
};

export const QUICK_SUITE_CONFIG: SuiteConfig = {
  mode: 'quick',
  loadWorkers: 2,
  connectPerSecondPerWorker: 400,
  connectTimeoutMs: 30_000,
  memory: { levels: [100], clientsPerRoom: 10, settleMs: 300 },
  replayWindow: {
    orgs: 100,
    windowS: 10,
    ratesPerSecond: [50],
    fillEventsPerSecond: 1000,
    maxFillEvents: 300,
    sampleFraction: 1,
    claimBytes: 500 * 1024 * 1024,
    // Settling ends as soon as every client has every event: a long bound costs nothing then, and a
    // starved CI machine (the smoke test asserts every cut client recovered) may need it.
    settleTimeoutMs: 20_000,
  },
  storm: { clients: 100, rooms: 10, eventsPerSecond: 200, warmMs: 500, cutMs: 1000, afterMs: 1500, settleTimeoutMs: 20_000, recoveryLimitMs: 10_000 },
  warmup: { eventsPerSecond: 50, durationMs: 300 },
  scaling: {
    nodeCounts: [1, 2],
    clients: 100,
    rooms: 10,
    // Smoke sizes: a low start and a lax p99 limit, so that a step passes even on a busy CI machine.
    saturation: { ...QUICK_CONFIG.saturation, startEventsPerSecond: 100, factor: 4, maxSteps: 2, refineSteps: 0, stepMs: 700, graceMs: 500, p99LimitMs: 2000, minDeliveredRatio: 0.95 },
  },
  latency: { nodeCount: 2, clients: 100, rooms: 10, fractions: [0.25, 0.5, 0.75], stepMs: 700 },
};

/** The delivery benchmark's config the suite's phases run under (settle and drain times, backoff). */
export function benchConfigFor(suite: SuiteConfig, overrides: Partial<BenchConfig>): BenchConfig {
  const base = suite.mode === 'quick' ? QUICK_CONFIG : FULL_CONFIG;
  return { ...base, loadWorkers: suite.loadWorkers, connectPerSecondPerWorker: suite.connectPerSecondPerWorker, connectTimeoutMs: suite.connectTimeoutMs, ...overrides };
}
