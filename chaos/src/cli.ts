/**
 * `npm run chaos -- [options]`: runs the chaos scenarios on local clusters (Redis, three nodes,
 * HAProxy, real clients); exits 1 when any check fails.
 *
 *   npm run chaos                               every scenario, full size; writes chaos/results/latest.json and docs/reliability.md
 *   npm run chaos -- --scenario node-stop       one scenario (repeat --scenario for more)
 *   npm run chaos -- --quick                    every scenario, small and short (what npm test runs)
 *   npm run chaos -- --render chaos/results/latest.json   docs/reliability.md again from a saved run
 *   npm run chaos -- --scenario older-snapshot --merge chaos/results/latest.json
 *                                               run one, put its result into a saved run, and render docs/reliability.md from that
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, QUICK } from './config';
import { describeMachine, mergeRuns, renderReliabilityDoc, type ChaosRun } from './report';
import { runScenario, type ScenarioResult } from './run';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios';

const ROOT = path.resolve(__dirname, '../..');

const USAGE = `usage: npm run chaos -- [options]

  --scenario <name>   run only this scenario (repeatable): ${SCENARIO_NAMES.join(', ')}
  --quick             small and short: ${QUICK.clients} clients, one kill, ${QUICK.stop.forMs / 1000} s stop, …
  --out <file>        results JSON, default chaos/results/latest.json (quick runs: chaos/results/quick.json)
  --doc               write docs/reliability.md from this run (default: only for a full run of every scenario)
  --render <file>     run nothing: write docs/reliability.md from a results JSON written earlier
  --merge <file>      put this run's results into a results JSON written earlier (replacing the same
                      scenarios; each keeps its own command), write it back and docs/reliability.md from it
  --help`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      doc: { type: 'boolean', default: false },
      render: { type: 'string' },
      merge: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.render !== undefined) {
    const saved = JSON.parse(await readFile(path.resolve(values.render), 'utf8')) as ChaosRun;
    await writeFile(path.join(ROOT, 'docs/reliability.md'), renderReliabilityDoc(saved));
    console.log(`fault matrix: docs/reliability.md, from ${values.render}`);
    return 0;
  }
  const names = (values.scenario ?? [...SCENARIO_NAMES]) as ScenarioName[];
  const unknown = names.filter((n) => !(SCENARIO_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new TypeError(`unknown scenario ${unknown.join(', ')}; one of ${SCENARIO_NAMES.join(', ')}`);
  const config = values.quick ? QUICK : FULL;
  const command = ['npm run chaos', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const machineBefore = await describeMachine();
  console.log(`chaos (${config.mode}): ${names.join(', ')} — ${machineBefore.cpu}, load ${machineBefore.loadAverage.join(' ')}`);

  const results: ScenarioResult[] = [];
  for (const name of names) {
    try {
      results.push(await runScenario(name, config, (line) => console.log(line)));
    } catch (err) {
      console.error(`[${name}] did not run: ${(err as Error).stack ?? String(err)}`);
      return 1;
    }
  }
  const machineAfter = await describeMachine();
  const run: ChaosRun = { command, mode: config.mode, config, machine: { ...machineBefore, loadAverageAfter: machineAfter.loadAverage }, finishedAt: new Date().toISOString(), scenarios: results };

  if (values.merge !== undefined) {
    const target = path.resolve(values.merge);
    const saved = JSON.parse(await readFile(target, 'utf8')) as ChaosRun;
    if (saved.mode !== run.mode) throw new TypeError(`--merge: ${values.merge} holds a ${saved.mode} run, this one is ${run.mode}`);
    const merged = mergeRuns(saved, run);
    await writeFile(target, `${JSON.stringify(merged, null, 2)}\n`);
    const doc = path.join(ROOT, 'docs/reliability.md');
    await writeFile(doc, renderReliabilityDoc(merged));
    console.log(`results merged into ${path.relative(process.cwd(), target)}; fault matrix: ${path.relative(process.cwd(), doc)}`);
  } else {
    const out = path.resolve(values.out ?? path.join(ROOT, 'chaos/results', config.mode === 'full' ? 'latest.json' : 'quick.json'));
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(run, null, 2)}\n`);
    console.log(`results: ${path.relative(process.cwd(), out)}`);
    if (values.doc || (config.mode === 'full' && names.length === SCENARIO_NAMES.length)) {
      const doc = path.join(ROOT, 'docs/reliability.md');
      await writeFile(doc, renderReliabilityDoc(run));
      console.log(`fault matrix: ${path.relative(process.cwd(), doc)}`);
    }
  }
  const failed = results.filter((r) => !r.ok);
  for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'} ${r.name} (${(r.durationMs / 1000).toFixed(0)} s)`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    console.error(USAGE);
    process.exit(2);
  },
);
