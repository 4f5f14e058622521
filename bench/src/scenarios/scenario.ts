import type { BenchConfig } from '../config';
import type { RpcChild } from '../ipc/rpc';
import type { LoadPool } from '../load/load-pool';
import type { ResourceSampler } from '../measure/resource-sampler';
import type { PublisherApi } from '../publish/publisher-api';
import type { SystemName } from '../systems/system-names';

/** Names of the scenarios, in the order a run executes them (cold step needs fresh nodes; the saturations end overloaded). */
export const SCENARIO_NAMES = ['cold-step', 'lone-events', 'bursts', 'recovery-storm', 'saturation', 'saturation-hot-rooms'] as const;
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

/** What a scenario can use while it runs against one system. */
export interface ScenarioContext {
  system: SystemName;
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
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}
