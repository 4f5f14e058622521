import type { BenchConfig } from './config';
import { judgeBars } from './report/bars';
import { codeSuffix, describeMachine } from './report/machine';
import { isFailure, type DeliveryResults, type ScenarioResults, type SystemRun } from './report/results';
import { SCENARIOS } from './scenarios';
import { defaultShape, type Scenario, type ScenarioName, type ScenarioOutcome, type SessionShape } from './scenarios/scenario';
import { errorText, withSession } from './systems/session';
import { BASELINE, SYSTEM_DESCRIPTIONS, type SystemName } from './systems/system-names';

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

/** Consecutive scenarios that run in one session, and its shape. */
interface SessionGroup {
  shape: SessionShape;
  scenarios: Scenario[];
}

const sameShape = (a: SessionShape, b: SessionShape): boolean =>
  a.clients === b.clients && a.rooms === b.rooms && a.clientKind === b.clientKind && a.pinned === b.pinned;

/** Splits the scenarios (in run order) into runs of the same session shape. */
export function sessionGroups(scenarios: readonly Scenario[], config: BenchConfig): SessionGroup[] {
  const groups: SessionGroup[] = [];
  for (const scenario of scenarios) {
    const shape = scenario.shape?.(config) ?? defaultShape(config);
    const last = groups[groups.length - 1];
    if (last && sameShape(last.shape, shape)) last.scenarios.push(scenario);
    else groups.push({ shape, scenarios: [scenario] });
  }
  return groups;
}

/** Scenarios that step until the session's deadline (share of the run's budget). */
const BUDGETED: readonly ScenarioName[] = ['saturation', 'saturation-hot-rooms'];

/** Scenarios that need the baseline's results of the same group first. */
const NEEDS_BASELINE_FIRST: readonly ScenarioName[] = ['overload'];

/** The systems in run order for a group: the baseline first when a scenario of it needs the baseline's numbers. */
function systemOrder(systems: readonly SystemName[], scenarios: readonly Scenario[]): SystemName[] {
  const baselineFirst = systems.includes(BASELINE) && scenarios.some((s) => NEEDS_BASELINE_FIRST.includes(s.name));
  return baselineFirst ? [BASELINE, ...systems.filter((s) => s !== BASELINE)] : [...systems];
}

/**
 * The delivery benchmark: the scenarios are grouped by the session they need (layout, client kind,
 * pinning, see {@link SessionShape}); for each group, for each system in turn, starts the system fresh
 * (Redis, 2 nodes, publisher), connects the load generator's clients, runs the group's scenarios in
 * order, and stops everything; then judges the bars. A failing scenario or system is recorded and the
 * run goes on.
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

  const groups = sessionGroups(selected, config);
  console.log(
    `[bench] delivery (${config.mode}): ${config.loadWorkers} load workers; systems ${options.systems.join(', ')}; sessions: ` +
      groups.map((g) => `${g.scenarios.map((s) => s.name).join(', ')} (${g.shape.clients} ${g.shape.clientKind} clients in ${g.shape.rooms} rooms${g.shape.pinned ? ', pinned' : ''})`).join('; '),
  );
  const extraEnv = Object.entries(options.roomwireNodeEnv).map(([k, v]) => `${k}=${v}`);
  if (extraEnv.length > 0) console.log(`[bench] Roomwire nodes also get ${extraEnv.join(' ')}`);
  console.log(`[bench] ${machine.cpuModel} × ${machine.cpus}, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.redis.split(' ').slice(0, 3).join(' ')}, load ${machine.loadAverageAtStart}${codeSuffix(machine)}`);

  const env = { log: (line: string): void => console.log(line), nextPhase: () => ++phase };
  const records = new Map<SystemName, SystemRun>();
  for (const name of options.systems) {
    const record: SystemRun = { name, description: SYSTEM_DESCRIPTIONS[name], startMs: null, connectMs: null, error: null };
    records.set(name, record);
    systems.push(record);
  }
  const outcomeOf = (scenario: ScenarioName, system: SystemName): ScenarioOutcome | null => {
    const found = scenarios.find((s) => s.name === scenario)?.outcomes[system];
    return found === undefined || isFailure(found) ? null : found;
  };
  // Only the saturation sweeps adapt to the budget; the other scenarios run for fixed durations.
  const adaptive = groups.map((g) => g.scenarios.some((s) => BUDGETED.includes(s.name)));
  let adaptiveLeft = adaptive.filter(Boolean).length * options.systems.length;
  for (const [g, group] of groups.entries()) {
    for (const name of systemOrder(options.systems, group.scenarios)) {
      const log = (line: string): void => console.log(`[${name}] ${line}`);
      const record = records.get(name) as SystemRun;
      // Each session that adapts gets an equal share of what is left of the run's budget, so a slow one cannot starve the next.
      const runEnd = runStart + config.budgetMs;
      const deadline = adaptive[g] === true ? Date.now() + (runEnd - Date.now()) / Math.max(1, adaptiveLeft--) : runEnd;
      const lean = group.shape.clientKind === 'lean';
      const sessionOptions = {
        nodeCount: 2,
        clients: group.shape.clients,
        rooms: group.shape.rooms,
        cutFraction: lean ? 0 : config.recovery.cutFraction,
        bench: config,
        roomwireNodeEnv: options.roomwireNodeEnv,
        deadline,
        clientKind: group.shape.clientKind,
        connectPerSecond: lean ? config.leanLoad.connectPerSecondPerWorker : config.connectPerSecondPerWorker,
        pin: group.shape.pinned,
        connectTimeoutMs: sameShape(group.shape, defaultShape(config)) ? config.connectTimeoutMs : config.spreadConnectTimeoutMs,
        outcomeOf,
      };
      try {
        await withSession(env, name, sessionOptions, async ({ ctx, startMs, connectMs }) => {
          record.startMs ??= startMs;
          record.connectMs ??= connectMs;
          for (const scenario of group.scenarios) {
            const result = scenarios[selected.indexOf(scenario)] as ScenarioResults;
            try {
              result.outcomes[name] = await scenario.run(ctx);
            } catch (err) {
              log(`${scenario.name} failed: ${errorText(err)}`);
              result.outcomes[name] = { error: errorText(err) };
            }
          }
        });
      } catch (err) {
        const error = errorText(err);
        record.error ??= error;
        log(`failed: ${error}`);
        for (const scenario of group.scenarios) {
          const result = scenarios[selected.indexOf(scenario)] as ScenarioResults;
          result.outcomes[name] ??= { error: `system failed: ${error.split('\n')[0]}` };
        }
      }
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
