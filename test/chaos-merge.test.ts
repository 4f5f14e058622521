import { QUICK } from '../chaos/src/config';
import { mergeRuns, renderReliabilityDoc, type ChaosRun } from '../chaos/src/report';
import type { ScenarioResult } from '../chaos/src/run';
import { quickTestScenarios, SCENARIO_NAMES, type ScenarioName } from '../chaos/src/scenarios';

/** `npm run chaos -- --scenario X --merge results.json`: one scenario's result put into a saved run. */

function result(name: ScenarioName, ok: boolean): ScenarioResult {
  return {
    name,
    title: `title of ${name}`,
    mode: 'quick',
    clients: 2,
    ratePerSecond: 1,
    startedAt: '2026-12-02T00:00:00.000Z',
    durationMs: 1000,
    publishes: { started: 1, stored: 1, failed: 0, failedByCode: {}, slowestSettleMs: 1, failedButDelivered: 0 },
    loadGenerator: { eventLoopDelayP99Ms: 1, eventLoopDelayMaxMs: 1 },
    faults: [],
    classes: {},
    checks: [{ what: 'a check', ok, detail: '' }],
    ok,
  };
}

function run(command: string, scenarios: ScenarioResult[]): ChaosRun {
  const machine = { cpu: 'cpu', cores: 2, memoryGiB: 1, node: 'v20', redis: 'redis', haproxy: 'haproxy', os: 'linux', loadAverage: [1, 1, 1], loadAverageAfter: [2, 2, 2] };
  return { command, mode: 'quick', config: QUICK, machine, finishedAt: '2026-12-02T01:00:00.000Z', scenarios };
}

test('a merged scenario replaces its namesake, keeps the order of SCENARIO_NAMES and records its own command', () => {
  const saved = run('npm run chaos -- --quick', [result('node-kill', true), result('client-cuts', true), result('cluster-failover', true)]);
  const merged = mergeRuns(saved, run('npm run chaos -- --quick --scenario cluster-failover', [result('cluster-failover', false), result('older-snapshot', true)]));
  expect(merged.scenarios.map((r) => r.name)).toEqual(['node-kill', 'client-cuts', 'older-snapshot', 'cluster-failover']);
  expect(merged.scenarios.map((r) => r.separateRun?.command)).toEqual([undefined, undefined, 'npm run chaos -- --quick --scenario cluster-failover', 'npm run chaos -- --quick --scenario cluster-failover']);
  expect(merged.scenarios.find((r) => r.name === 'cluster-failover')?.ok).toBe(false);
  expect(merged.command).toBe('npm run chaos -- --quick');
  const doc = renderReliabilityDoc(merged);
  expect(doc).toContain('Run on its own: `npm run chaos -- --quick --scenario cluster-failover`');
  expect(doc).toContain('merged in with `--merge`: `older-snapshot`, `cluster-failover`');
});

test('of the newer scenarios only clock-step-back is in the quick set npm test runs', () => {
  const quick = quickTestScenarios();
  expect(quick).toContain('clock-step-back');
  expect(SCENARIO_NAMES.filter((name) => !quick.includes(name))).toEqual(['older-snapshot', 'cluster-failover', 'partition-master-down']);
});
