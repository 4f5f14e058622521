import type { BenchConfig } from './config';
import { judgeBars } from './report/bars';
import { codeSuffix, describeMachine } from './report/machine';
import type { DeliveryResults, ScenarioResults, SystemRun } from './report/results';
import { SCENARIOS } from './scenarios';
import type { ScenarioName } from './scenarios/scenario';
import { errorText, withSession } from './systems/session';
import { SYSTEM_DESCRIPTIONS, type SystemName } from './systems/system-names';

/** What to run. */
export interface DeliveryRunOptions {
  config: BenchConfig;
  systems: SystemName[];
  scenarios: ScenarioName[];
  /** The command line, as it goes into the report. */
  command: string;
  /** Extra environment of the Roomwire nodes (`--node-env`). */
  roomwireNodeEnv: Record<string, string>;
}

/**
 * The delivery benchmark: for each system in turn, starts it fresh (Redis, 2 nodes, publisher),
 * connects the load generator's clients, runs the scenarios in order, and stops everything; then
 * judges the bars. A failing scenario or system is recorded and the run goes on.
 */
export async function runDelivery(options: DeliveryRunOptions): Promise<DeliveryResults> {
  const { config } = options;
  const runStart = Date.now();
  const startedAt = new Date(runStart).toISOString();
  const machine = describeMachine();
  const selected = SCENARIOS.filter((s) => options.scenarios.includes(s.name));
  const scenarios: ScenarioResults[] = selected.map((s) => ({ name: s.name, title: s.title, description: s.describe(config), metrics: s.metrics, outcomes: {} }));
  const systems: SystemRun[] = [];
  let phase = 0;

  console.log(
    `[bench] delivery (${config.mode}): ${config.clients} clients in ${config.rooms} rooms over ${config.loadWorkers} load workers; ` +
      `systems ${options.systems.join(', ')}; scenarios ${selected.map((s) => s.name).join(', ')}`,
  );
  const extraEnv = Object.entries(options.roomwireNodeEnv).map(([k, v]) => `${k}=${v}`);
  if (extraEnv.length > 0) console.log(`[bench] Roomwire nodes also get ${extraEnv.join(' ')}`);
  console.log(`[bench] ${machine.cpuModel} × ${machine.cpus}, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.redis.split(' ').slice(0, 3).join(' ')}, load ${machine.loadAverageAtStart}${codeSuffix(machine)}`);

  const env = { log: (line: string): void => console.log(line), nextPhase: () => ++phase };
  for (const [i, name] of options.systems.entries()) {
    const log = (line: string): void => console.log(`[${name}] ${line}`);
    const record: SystemRun = { name, description: SYSTEM_DESCRIPTIONS[name], startMs: null, connectMs: null, error: null };
    systems.push(record);
    // Each system gets an equal share of the run's budget, so a slow one cannot starve the next.
    const deadline = runStart + (config.budgetMs * (i + 1)) / options.systems.length;
    const sessionOptions = {
      nodeCount: 2,
      clients: config.clients,
      rooms: config.rooms,
      cutFraction: config.recovery.cutFraction,
      bench: config,
      roomwireNodeEnv: options.roomwireNodeEnv,
      deadline,
    };
    try {
      await withSession(env, name, sessionOptions, async ({ ctx, startMs, connectMs }) => {
        record.startMs = startMs;
        record.connectMs = connectMs;
        for (const [j, scenario] of selected.entries()) {
          try {
            (scenarios[j] as ScenarioResults).outcomes[name] = await scenario.run(ctx);
          } catch (err) {
            log(`${scenario.name} failed: ${errorText(err)}`);
            (scenarios[j] as ScenarioResults).outcomes[name] = { error: errorText(err) };
          }
        }
      });
    } catch (err) {
      record.error = errorText(err);
      log(`failed: ${record.error}`);
      for (const s of scenarios) s.outcomes[name] ??= { error: `system failed: ${record.error.split('\n')[0]}` };
    }
  }

  const finished = Date.now();
  const results: DeliveryResults = {
    benchmark: 'delivery',
    command: options.command,
    mode: config.mode,
    startedAt,
    finishedAt: new Date(finished).toISOString(),
    durationS: (finished - runStart) / 1000,
    machine,
    config,
    roomwireNodeEnv: options.roomwireNodeEnv,
    systems,
    scenarios,
    bars: [],
  };
  results.bars = judgeBars(results);
  return results;
}
