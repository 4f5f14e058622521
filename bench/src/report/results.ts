import type { BenchConfig } from '../config';
import type { MetricDef, ScenarioName, ScenarioOutcome } from '../scenarios/scenario';
import type { SystemName } from '../systems/system-names';
import type { BarResult } from './bars';
import type { MachineInfo } from './machine';

/** A scenario that could not run for a system. */
export interface ScenarioFailure {
  error: string;
}

/** One scenario's results across the systems of the run. */
export interface ScenarioResults {
  name: ScenarioName;
  title: string;
  description: string;
  metrics: MetricDef[];
  outcomes: Partial<Record<SystemName, ScenarioOutcome | ScenarioFailure>>;
}

/** One system of the run. */
export interface SystemRun {
  name: SystemName;
  description: string;
  /** ms to start Redis, the nodes and the publisher. */
  startMs: number | null;
  /** ms to connect and subscribe every client. */
  connectMs: number | null;
  error: string | null;
}

/** Everything a delivery run measured: written as JSON and rendered as Markdown. */
export interface DeliveryResults {
  benchmark: 'delivery';
  command: string;
  mode: BenchConfig['mode'];
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineInfo;
  config: BenchConfig;
  /** Extra environment the Roomwire nodes ran with (`--node-env`), beyond the system's own. */
  roomwireNodeEnv: Record<string, string>;
  systems: SystemRun[];
  scenarios: ScenarioResults[];
  bars: BarResult[];
}

export function isFailure(outcome: ScenarioOutcome | ScenarioFailure | undefined): outcome is ScenarioFailure {
  return outcome !== undefined && 'error' in outcome;
}

/** A metric of a system in a scenario; `null` when missing or failed. */
export function metricOf(results: Pick<DeliveryResults, 'scenarios'>, scenario: ScenarioName, system: SystemName, key: string): number | null {
  const outcome = results.scenarios.find((s) => s.name === scenario)?.outcomes[system];
  if (outcome === undefined || isFailure(outcome)) return null;
  return outcome.metrics[key] ?? null;
}
