import type { BarChart, LineChart } from '../charts/svg';
import type { Verdict } from '../report/bars';
import type { MachineInfo } from '../report/machine';
import type { SystemName } from '../systems/system-names';
import type { SuiteConfig } from './config';

/** The suite's scenarios, in run order (latency uses the saturation rates scaling found). */
export const SUITE_SCENARIO_NAMES = ['memory', 'replay-window', 'reconnect-storm', 'scaling', 'latency'] as const;
export type SuiteScenarioName = (typeof SUITE_SCENARIO_NAMES)[number];

/** A table of the report, already formatted (the raw numbers are in `data`). */
export interface SuiteTable {
  caption: string;
  header: string[];
  rows: string[][];
}

/** A chart of the report: rendered to SVG from this JSON by the writer. */
export type SuiteChart = ({ kind: 'bar' } & BarChart) | ({ kind: 'line' } & LineChart);

/** A chart with the name of its file (`<file>.svg`) and its alt text. */
export interface NamedChart {
  file: string;
  alt: string;
  chart: SuiteChart;
}

/** A bar of the issue, judged from this run. */
export interface SuiteBar {
  requirement: string;
  measured: string;
  verdict: Verdict;
}

/** One scenario's results across the systems. */
export interface SuiteScenarioResult {
  name: SuiteScenarioName;
  title: string;
  description: string;
  /** Seconds the scenario took. */
  durationS: number;
  tables: SuiteTable[];
  charts: NamedChart[];
  bars: SuiteBar[];
  notes: string[];
  /** Raw measurements per system (or the error that stopped it). */
  data: Partial<Record<SystemName, unknown>>;
}

/** Everything a suite run measured: written as JSON, rendered as Markdown sections and SVG charts. */
export interface SuiteResults {
  benchmark: 'suite';
  command: string;
  mode: SuiteConfig['mode'];
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineInfo;
  config: SuiteConfig;
  systems: SystemName[];
  scenarios: SuiteScenarioResult[];
}

/** What a suite scenario can use while it runs. */
export interface SuiteEnv {
  config: SuiteConfig;
  systems: SystemName[];
  /** Prints a progress line. */
  log(line: string): void;
  /** A new phase number (tags the phase's events), unique over the run. */
  nextPhase(): number;
  /** Saturation rates (published events/s) found by the scaling scenario, by system and node count. */
  saturation: Map<string, number>;
}
