import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseSystems, SUITE_SYSTEM_NAMES } from '../systems/system-names';
import { FULL_SUITE_CONFIG, QUICK_SUITE_CONFIG } from './config';
import { renderSuiteFiles, writeSuiteResults } from './report';
import { runSuite } from './run-suite';
import { SUITE_SCENARIO_NAMES, type SuiteResults, type SuiteScenarioName } from './types';

/** The command names that run the suite (all scenarios) or one of its scenarios. */
export const SUITE_COMMANDS: readonly string[] = ['suite', ...SUITE_SCENARIO_NAMES];

export const SUITE_USAGE = `       npm run bench -- suite [--quick] [--systems ${SUITE_SYSTEM_NAMES.join(',')}] [--out bench/results] [--docs | --no-docs]
       npm run bench -- ${SUITE_SCENARIO_NAMES.join('|')} [same options]   (one scenario of the suite)
       npm run bench -- suite --from bench/results/suite-latest.json   (re-render charts and docs of a saved run)`;

/** Options of a suite command, as parsed by the CLI. */
export interface SuiteCommandOptions {
  quick: boolean;
  systems: string | undefined;
  out: string;
  /** Write docs/benchmarks.md and docs/charts; default: on for full runs (and saved full runs), off for quick ones. */
  docs: boolean | undefined;
  from: string | undefined;
  repoRoot: string;
  argv: string[];
}

/** Runs `npm run bench -- suite|memory|…`; returns the exit code. */
export async function runSuiteCommand(name: string, options: SuiteCommandOptions): Promise<number> {
  const docsPath = path.join(options.repoRoot, 'docs/benchmarks.md');
  const rel = (file: string): string => path.relative(options.repoRoot, file);
  if (options.from !== undefined) {
    const saved = JSON.parse(await readFile(path.resolve(options.from), 'utf8')) as SuiteResults;
    const files = await renderSuiteFiles(path.resolve(options.from), { docsPath: (options.docs ?? saved.mode === 'full') ? docsPath : null });
    console.log(`[bench] re-rendered ${rel(files.markdown)} and ${files.charts.length} charts from ${rel(path.resolve(options.from))}`);
    return 0;
  }
  const scenarios: SuiteScenarioName[] = name === 'suite' ? [...SUITE_SCENARIO_NAMES] : [name as SuiteScenarioName];
  const systems = parseSystems(options.systems ?? SUITE_SYSTEM_NAMES.join(','));
  if (systems.length === 0) throw new Error('no systems to run');
  const config = options.quick ? QUICK_SUITE_CONFIG : FULL_SUITE_CONFIG;
  const command = ['npm run bench --', ...options.argv].join(' ');
  const results = await runSuite({ config, systems, scenarios, command });
  const files = await writeSuiteResults(results, { outDir: path.resolve(options.repoRoot, options.out), docsPath: (options.docs ?? !options.quick) ? docsPath : null });
  console.log(`[bench] suite done in ${results.durationS.toFixed(0)} s; results: ${rel(files.json)}, ${rel(files.latestJson)}; report: ${rel(files.markdown)}; ${files.charts.length} charts in ${rel(path.dirname(files.charts[0] ?? files.markdown))}`);
  const failed = results.scenarios.some((s) => Object.values(s.data).some((d) => typeof d === 'object' && d !== null && 'error' in d));
  return failed ? 1 : 0;
}
