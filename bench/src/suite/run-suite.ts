import { codeSuffix, describeMachine } from '../report/machine';
import type { SystemName } from '../systems/system-names';
import type { SuiteConfig } from './config';
import { runMemory } from './memory';
import { runReconnectStorm } from './reconnect-storm';
import { runReplayWindow } from './replay-window';
import { runLatency, runScaling } from './scaling';
import type { SuiteEnv, SuiteResults, SuiteScenarioName, SuiteScenarioResult } from './types';

const RUNNERS: Record<SuiteScenarioName, (env: SuiteEnv) => Promise<SuiteScenarioResult>> = {
  memory: runMemory,
  'replay-window': runReplayWindow,
  'reconnect-storm': runReconnectStorm,
  scaling: runScaling,
  latency: runLatency,
};

/** What to run. */
export interface SuiteRunOptions {
  config: SuiteConfig;
  systems: SystemName[];
  scenarios: SuiteScenarioName[];
  command: string;
  log?: (line: string) => void;
}

/**
 * The benchmark suite: each scenario in turn, each against every system (a fresh cluster per
 * system and step); a failing system is recorded in its scenario and the run goes on.
 */
export async function runSuite(options: SuiteRunOptions): Promise<SuiteResults> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  let phase = 0;
  const env: SuiteEnv = { config: options.config, systems: options.systems, log, nextPhase: () => ++phase, saturation: new Map() };
  const machine = describeMachine();
  log(`[suite] ${options.config.mode} run: scenarios ${options.scenarios.join(', ')}; systems ${options.systems.join(', ')}`);
  log(`[suite] ${machine.cpuModel} × ${machine.cpus}, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.redis.split(' ').slice(0, 3).join(' ')}, load ${machine.loadAverageAtStart}${codeSuffix(machine)}`);
  const scenarios: SuiteScenarioResult[] = [];
  for (const name of options.scenarios) {
    const t0 = Date.now();
    log(`[suite] ── ${name} ──`);
    const result = await RUNNERS[name](env);
    scenarios.push(result);
    log(`[suite] ${name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    for (const bar of result.bars) log(`[suite]   ${bar.verdict.padEnd(12)} ${bar.requirement}: ${bar.measured}`);
  }
  const finished = Date.now();
  return {
    benchmark: 'suite',
    command: options.command,
    mode: options.config.mode,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationS: (finished - started) / 1000,
    machine,
    config: options.config,
    systems: options.systems,
    scenarios,
  };
}
