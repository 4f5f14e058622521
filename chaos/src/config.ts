/** Sizes and durations of the chaos scenarios: the full run (`npm run chaos`) and the quick one (`--quick`, `npm test`). */
export interface ChaosConfig {
  mode: 'full' | 'quick';
  /** Socket.IO clients, all subscribed to the one room the publisher writes to. */
  clients: number;
  /** Steady publish rate, events per second. */
  ratePerSecond: number;
  /** Publishing before the fault starts, in ms. */
  warmupMs: number;
  /** Publishing after the fault ended and the cluster stored events again, in ms. */
  settleMs: number;
  /** Longest wait, after publishing stopped, for every client to have every event (or a resync), in ms. */
  catchUpTimeoutMs: number;
  /** `kill`: SIGKILL a random node every `everyMs` for `forMs`, starting it again at once. */
  kill: { everyMs: number; forMs: number };
  /** `stop`: SIGSTOP one node for `forMs`, and at least until its clients are on other nodes (bounded), then SIGCONT. */
  stop: { forMs: number };
  /** `redis-unreachable`: nodes and publisher cut off from Redis for `forMs`. */
  unreachable: { forMs: number };
  /** `client-cuts`: for `forMs`, `fraction` of the clients lose their network at random, each cut `minMs`–`maxMs`. */
  cuts: { forMs: number; fraction: number; minMs: number; maxMs: number; maxPauseMs: number };
  /** `clock-step-back`: Redis restarted without persistence on a wall clock `behindMs` behind the host's. */
  clockStepBack: { behindMs: number };
  /** `older-snapshot`: Redis restored from a snapshot taken `ageMs` of publishing before the crash. */
  olderSnapshot: { ageMs: number };
  /** `partition-master-down`: one master of the Redis Cluster SIGKILLed; started again after `forMs` (its replica takes over meanwhile). */
  masterDown: { forMs: number };
}

export const FULL: ChaosConfig = {
  mode: 'full',
  clients: 300,
  ratePerSecond: 50,
  warmupMs: 5000,
  settleMs: 5000,
  catchUpTimeoutMs: 60_000,
  kill: { everyMs: 10_000, forMs: 60_000 },
  stop: { forMs: 30_000 },
  unreachable: { forMs: 10_000 },
  cuts: { forMs: 60_000, fraction: 1 / 3, minMs: 1000, maxMs: 20_000, maxPauseMs: 10_000 },
  clockStepBack: { behindMs: 30_000 },
  olderSnapshot: { ageMs: 5000 },
  masterDown: { forMs: 10_000 },
};

export const QUICK: ChaosConfig = {
  mode: 'quick',
  clients: 60,
  ratePerSecond: 40,
  warmupMs: 1500,
  settleMs: 1500,
  catchUpTimeoutMs: 20_000,
  kill: { everyMs: 4000, forMs: 4000 },
  stop: { forMs: 3000 },
  unreachable: { forMs: 3000 },
  cuts: { forMs: 6000, fraction: 1 / 3, minMs: 1000, maxMs: 3000, maxPauseMs: 1500 },
  clockStepBack: { behindMs: 30_000 },
  olderSnapshot: { ageMs: 1500 },
  masterDown: { forMs: 4000 },
};
