import type { ReconnectPolicy } from './load/load-api';

/**
 * Sizes and durations of one run. The full run follows the delivery benchmark's spec (bench/README.md); `--quick` is a seconds-long
 * smoke version of the same scenarios (fewer clients, shorter phases), for CI.
 */
export interface BenchConfig {
  mode: 'full' | 'quick';
  /** Clients in total, spread evenly over `rooms` and over both nodes. */
  clients: number;
  rooms: number;
  /** Load worker processes the clients are spread over. */
  loadWorkers: number;
  /** Clients each worker opens per second while connecting. */
  connectPerSecondPerWorker: number;
  connectTimeoutMs: number;
  /** The same client backoff for every system. */
  reconnect: ReconnectPolicy;
  /** After a phase's schedule ends: wait until every delivery arrived, or nothing arrived for `idleMs`, or `timeoutMs`. */
  settle: { idleMs: number; timeoutMs: number };
  /** After a phase that ended with deliveries outstanding, longest wait for them to stop arriving. */
  drainTimeoutMs: number;
  lone: { eventsPerSecond: number; durationMs: number };
  bursts: { periodMs: number; eventsPerRoom: number; roomsPerBurst: number; durationMs: number };
  saturation: {
    /** Steady rate of the first step, events/s; each next step multiplies it by `factor`. */
    startEventsPerSecond: number;
    factor: number;
    maxSteps: number;
    /** Steps spent narrowing between the last passing and the first failing rate. */
    refineSteps: number;
    stepMs: number;
    /** A step passes while p99 latency stays at or under this. */
    p99LimitMs: number;
    /** ...and at least this share of its deliveries arrive within `graceMs` after it. */
    minDeliveredRatio: number;
    graceMs: number;
    /** Rooms that carry the whole load in the hot-rooms variant (the first ones; the others stay idle). */
    hotRooms: number;
    /**
     * Unmeasured spread traffic at half the start rate before the spread sweep: a fresh node (JIT, the
     * first allocations of every room and socket) is slower for its first seconds, and the first step
     * must not judge that.
     */
    warmupMs: number;
  };
  /**
   * Spread traffic: its own layout (every frame carries one event), fixed unsaturated rates
   * measured with the library clients (socket.io-client, `@roomwire/client`) for the client-CPU bar.
   */
  spread: {
    clients: number;
    rooms: number;
    /** Each rate is one phase of `durationMs`. */
    eventsPerSecond: number[];
    durationMs: number;
    /** Unmeasured spread traffic at the first rate before the measured phases (JIT, first allocations). */
    warmupMs: number;
    /** JSON bytes of each event's `data`. */
    payloadBytes: number;
    /** Seed of the random room sequence (the same for every system). */
    seed: number;
  };
  /**
   * The saturation sweep and the overload phase run in the spread layout with lean protocol-level
   * load clients (`load/lean-client.ts`) and, when the machine has 2 cores or more, pinned: servers
   * and Redis on one half of the cores, load workers and publisher on the other (`systems/cpu-pinning.ts`).
   */
  leanLoad: { connectPerSecondPerWorker: number; cpuPinning: boolean };
  /** Longest wait for the clients of a session in the spread layout (more clients than the run's own layout in `--quick`). */
  spreadConnectTimeoutMs: number;
  /** Overload: spread traffic at `factor` × the baseline's highest sustained rate, for `durationMs`. */
  overload: { factor: number; durationMs: number };
  recovery: { eventsPerSecond: number; cutFraction: number; warmMs: number; cutMs: number; afterMs: number; settleTimeoutMs: number };
  coldStep: { durationMs: number; drainTimeoutMs: number };
  /** Soft bound on the whole run: saturation stops stepping when it is near. */
  budgetMs: number;
}

/** The fixed, unsaturated spread rates (events/s): the bars compare node CPU at each. */
export const SPREAD_RATES_PER_S: readonly number[] = [1000, 2000];

const reconnect: ReconnectPolicy = { minDelayMs: 250, maxDelayMs: 1000, jitter: 0.5 };

export const FULL_CONFIG: BenchConfig = {
  mode: 'full',
  clients: 2000,
  rooms: 200,
  loadWorkers: 2,
  connectPerSecondPerWorker: 400,
  connectTimeoutMs: 60_000,
  reconnect,
  settle: { idleMs: 1000, timeoutMs: 10_000 },
  drainTimeoutMs: 15_000,
  lone: { eventsPerSecond: 50, durationMs: 20_000 },
  bursts: { periodMs: 100, eventsPerRoom: 20, roomsPerBurst: 50, durationMs: 15_000 },
  saturation: {
    startEventsPerSecond: 1000,
    factor: 2,
    maxSteps: 7,
    refineSteps: 2,
    stepMs: 4000,
    p99LimitMs: 1000,
    minDeliveredRatio: 0.95,
    graceMs: 1000,
    hotRooms: 20,
    warmupMs: 3000,
  },
  spread: { clients: 2000, rooms: 200, eventsPerSecond: [...SPREAD_RATES_PER_S], durationMs: 10_000, warmupMs: 3000, payloadBytes: 200, seed: 13 },
  leanLoad: { connectPerSecondPerWorker: 1000, cpuPinning: true },
  spreadConnectTimeoutMs: 60_000,
  overload: { factor: 2, durationMs: 8000 },
  recovery: { eventsPerSecond: 1000, cutFraction: 0.1, warmMs: 3000, cutMs: 3000, afterMs: 7000, settleTimeoutMs: 10_000 },
  coldStep: { durationMs: 8000, drainTimeoutMs: 20_000 },
  budgetMs: 15 * 60_000,
};

export const QUICK_CONFIG: BenchConfig = {
  mode: 'quick',
  clients: 200,
  rooms: 20,
  loadWorkers: 2,
  connectPerSecondPerWorker: 400,
  connectTimeoutMs: 15_000,
  reconnect,
  settle: { idleMs: 300, timeoutMs: 2000 },
  drainTimeoutMs: 2000,
  lone: { eventsPerSecond: 50, durationMs: 2000 },
  bursts: { periodMs: 100, eventsPerRoom: 20, roomsPerBurst: 5, durationMs: 1500 },
  saturation: {
    startEventsPerSecond: 1000,
    factor: 2,
    maxSteps: 5,
    refineSteps: 0,
    stepMs: 1000,
    p99LimitMs: 1000,
    minDeliveredRatio: 0.95,
    graceMs: 1000,
    hotRooms: 4,
    warmupMs: 1500,
  },
  spread: { clients: 2000, rooms: 200, eventsPerSecond: [...SPREAD_RATES_PER_S], durationMs: 3000, warmupMs: 1000, payloadBytes: 200, seed: 13 },
  leanLoad: { connectPerSecondPerWorker: 1000, cpuPinning: true },
  spreadConnectTimeoutMs: 60_000,
  overload: { factor: 2, durationMs: 2000 },
  recovery: { eventsPerSecond: 300, cutFraction: 0.1, warmMs: 1000, cutMs: 1000, afterMs: 2500, settleTimeoutMs: 3000 },
  coldStep: { durationMs: 1500, drainTimeoutMs: 3000 },
  budgetMs: 150_000,
};
