import type { BenchConfig } from '../config';
import type { RpcChild } from '../ipc/rpc';
import type { ClientKind } from '../load/load-api';
import type { LoadPool } from '../load/load-pool';
import type { ResourceSampler } from '../measure/resource-sampler';
import type { PublisherApi } from '../publish/publisher-api';
import type { PinningReport } from '../systems/cpu-pinning';
import type { SystemName } from '../systems/system-names';

/**
 * Names of the scenarios, in the order a run executes them (cold step needs fresh nodes; the saturations
 * and the overload end overloaded; the overload needs the baseline's saturation).
 */
export const SCENARIO_NAMES = ['cold-step', 'lone-events', 'bursts', 'recovery-storm', 'spread', 'saturation', 'saturation-hot-rooms', 'overload'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** How a metric is shown and compared. */
export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  /** Which direction is better; `none` for counts that are only context. */
  better: 'lower' | 'higher' | 'none';
  /** Decimal places in the report. @default 1 */
  digits?: number;
}

/** What a scenario measured for one system. */
export interface ScenarioOutcome {
  metrics: Record<string, number | null>;
  /** Caveats worth reading next to the numbers (e.g. the load generator was saturated). */
  notes: string[];
  /** Raw measurements, kept in the JSON results. */
  details: Record<string, unknown>;
}

/**
 * The session a scenario runs in: consecutive scenarios with the same shape share one (a fresh system
 * with these clients connected); a different shape starts the system afresh.
 */
export interface SessionShape {
  clients: number;
  rooms: number;
  clientKind: ClientKind;
  /** Pin servers + Redis and load workers + publisher to separate cores (`systems/cpu-pinning.ts`). */
  pinned: boolean;
}

/** The shape of the delivery benchmark's default session: the run's layout, library clients, not pinned. */
export function defaultShape(config: BenchConfig): SessionShape {
  return { clients: config.clients, rooms: config.rooms, clientKind: 'library', pinned: false };
}

/** What a scenario can use while it runs against one system. */
export interface ScenarioContext {
  system: SystemName;
  /** The session's clients and pinning (the default shape outside the delivery benchmark). */
  shape?: SessionShape;
  /** How the session's processes were placed on cores, when pinning was asked for. */
  pinning?: PinningReport | null;
  /** What an earlier scenario of this run measured for a system (e.g. the baseline's saturation). */
  outcomeOf?: (scenario: ScenarioName, system: SystemName) => ScenarioOutcome | null;
  config: BenchConfig;
  pool: LoadPool;
  publisher: RpcChild<PublisherApi>;
  sampler: ResourceSampler;
  /** Prints a progress line, prefixed with the system. */
  log(line: string): void;
  /** A new phase number (tags the phase's events). */
  nextPhase(): number;
  /** Wall-clock ms by which the whole run should be done. */
  deadline: number;
}

/** One benchmark scenario. */
export interface Scenario {
  name: ScenarioName;
  title: string;
  /** What it does, with the run's actual sizes. */
  describe(config: BenchConfig): string;
  metrics: MetricDef[];
  /** The session it needs. @default {@link defaultShape} */
  shape?: (config: BenchConfig) => SessionShape;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}
