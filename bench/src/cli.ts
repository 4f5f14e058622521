/**
 * `npm run bench -- <benchmark> [options]`: the benchmark command line.
 *
 *   npm run bench -- delivery [--quick] [--systems roomwire,roomwire-nobatch,baseline]
 *                             [--scenarios cold-step,lone-events,bursts,recovery-storm,saturation]
 *                             [--out bench/results] [--docs | --no-docs] [--node-env KEY=VALUE ...]
 *   npm run bench -- delivery --from bench/results/delivery-latest.json   (re-judge and re-render a saved run)
 *   npm run bench -- slow-consumer [--quick]   (a client that stops reading; writes docs/benchmarks-slow-consumer.md)
 *   npm run bench -- http-publish [--quick]   (events/s over HTTP, single vs batch; writes its section of docs/benchmarks.md)
 *   npm run bench -- append-cost [--quick]   (Redis and publisher CPU per durable event; writes its section of docs/benchmarks.md)
 *   npm run bench -- suite [--quick] [--systems roomwire,baseline,baseline-pubsub] [--out dir] [--docs | --no-docs]
 *   npm run bench -- memory|replay-window|reconnect-storm|scaling|latency [same options]   (one scenario of the suite)
 *   npm run bench -- scale-out [--quick] [--out bench/results]   (read ratio per node, window memory per master, publish rates)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FULL_CONFIG, QUICK_CONFIG } from './config';
import { runDelivery } from './delivery';
import { runSlowConsumer } from './slow-consumer';
import { runVolatileCost } from './volatile-cost';
import { runHttpPublish } from './http-publish';
import { runHistoryCost } from './history-cost';
import { runAppendCost } from './append-cost';
import { runScaleOut } from './scale-out/run';
import { judgeBars } from './report/bars';
import { renderProfileSummary, summarizeProfile, type CpuProfile } from './report/profile-summary';
import type { DeliveryResults } from './report/results';
import { renderBarsSummary } from './report/summary';
import { writeResults } from './report/write';
import { parseScenarios } from './scenarios';
import { SCENARIO_NAMES } from './scenarios/scenario';
import { runSuiteCommand, SUITE_COMMANDS, SUITE_USAGE } from './suite/cli';
import { parseSystems, SYSTEM_NAMES } from './systems/system-names';

const REPO_ROOT = path.resolve(__dirname, '../..');
const DOCS_PATH = path.join(REPO_ROOT, 'docs/benchmarks.md');

const USAGE = `usage: npm run bench -- delivery [options]
       npm run bench -- slow-consumer [--quick]
       npm run bench -- volatile-cost [--quick]
       npm run bench -- http-publish [--quick]
       npm run bench -- append-cost [--quick]
       npm run bench -- history-cost [--quick]
       npm run bench -- scale-out [--quick] [--out dir]
       npm run bench -- profile-summary <file.cpuprofile> [--top 25] [--skip-ms 0]
${SUITE_USAGE}

  --quick                 short smoke version (≤ 3 min; does not touch docs/ unless --docs)
  --systems <list>        comma-separated, default ${SYSTEM_NAMES.join(',')} (suite: roomwire,baseline,baseline-pubsub)
  --scenarios <list>      comma-separated, default ${SCENARIO_NAMES.join(',')}
  --out <dir>             results directory, default bench/results
  --docs / --no-docs      regenerate docs/benchmarks.md (default: on for full runs, off for --quick)
  --node-env KEY=VALUE    extra environment of the Roomwire nodes, repeatable (e.g. COMPRESSION_THRESHOLD_BYTES=1024)
  --from <results.json>   run nothing: re-judge the bars of a saved run and rewrite its JSON and Markdown
  --top <n>               profile-summary: functions listed, default 25
  --skip-ms <ms>          profile-summary: leave out the profile's first ms (the process's start-up), default 0
  --help

  BENCH_CPU_PROFILE_DIR=<dir> npm run bench -- ...   the servers and load workers write .cpuprofile files there when they exit`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      systems: { type: 'string' },
      scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
      out: { type: 'string', default: 'bench/results' },
      docs: { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      'node-env': { type: 'string', multiple: true, default: [] },
      from: { type: 'string' },
      top: { type: 'string', default: '25' },
      'skip-ms': { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [benchmark, ...rest] = positionals;
  if (benchmark === 'profile-summary') {
    const top = Number(values.top);
    const skipMs = Number(values['skip-ms']);
    if (rest.length === 0 || !Number.isInteger(top) || top < 1 || !Number.isFinite(skipMs) || skipMs < 0) {
      console.error(`profile-summary expects one or more .cpuprofile files, --top a positive integer and --skip-ms a number ≥ 0\n\n${USAGE}`);
      return 2;
    }
    for (const file of rest) {
      const profile = JSON.parse(await readFile(path.resolve(file), 'utf8')) as CpuProfile;
      const title = skipMs > 0 ? `${path.basename(file)}, after its first ${skipMs} ms` : path.basename(file);
      console.log(renderProfileSummary(summarizeProfile(profile, { skipMs }), { title, top }));
      console.log('');
    }
    return 0;
  }
  if (benchmark === 'append-cost' && rest.length === 0) {
    return runAppendCost({ quick: values.quick, docs: values['no-docs'] ? false : (values.docs ?? !values.quick) });
  }
  if (benchmark === 'history-cost' && rest.length === 0) {
    return runHistoryCost({ quick: values.quick, docs: values['no-docs'] ? false : (values.docs ?? !values.quick) });
  }
  if (benchmark === 'volatile-cost' && rest.length === 0) {
    return runVolatileCost({ quick: values.quick, docs: values['no-docs'] ? false : (values.docs ?? !values.quick) });
  }
  if (benchmark === 'http-publish' && rest.length === 0) {
    return runHttpPublish({ quick: values.quick, docs: values['no-docs'] ? false : (values.docs ?? !values.quick) });
  }
  if (benchmark === 'scale-out' && rest.length === 0) {
    return runScaleOut({ quick: values.quick, outDir: path.resolve(REPO_ROOT, values.out), command: ['npm run bench --', ...process.argv.slice(2)].join(' '), repoRoot: REPO_ROOT });
  }
  if (benchmark === 'slow-consumer' && rest.length === 0) {
    return runSlowConsumer({ quick: values.quick, outDir: path.resolve(values.out), docs: values['no-docs'] ? false : (values.docs ?? !values.quick) });
  }
  if (benchmark !== undefined && SUITE_COMMANDS.includes(benchmark) && rest.length === 0) {
    return runSuiteCommand(benchmark, {
      quick: values.quick,
      systems: values.systems,
      out: values.out,
      docs: values['no-docs'] ? false : values.docs,
      from: values.from,
      repoRoot: REPO_ROOT,
      argv: process.argv.slice(2),
    });
  }
  if (benchmark !== 'delivery' || rest.length > 0) {
    console.error(`${benchmark === undefined ? 'name a benchmark' : `unknown benchmark ${JSON.stringify(positionals.join(' '))}`}\n\n${USAGE}`);
    return 2;
  }
  if (values.from !== undefined) {
    const results = JSON.parse(await readFile(path.resolve(values.from), 'utf8')) as DeliveryResults;
    results.roomwireNodeEnv ??= {};
    results.bars = judgeBars(results);
    const writeSavedDocs = values['no-docs'] ? false : (values.docs ?? results.mode === 'full');
    const files = await writeResults(results, { outDir: path.dirname(path.resolve(values.from)), docsPath: writeSavedDocs ? DOCS_PATH : null });
    console.log(renderBarsSummary(results));
    console.log(`[bench] re-rendered ${path.relative(REPO_ROOT, files.json)}, ${path.relative(REPO_ROOT, files.latestJson)}, ${path.relative(REPO_ROOT, files.markdown)}`);
    return 0;
  }
  const systems = parseSystems(values.systems ?? SYSTEM_NAMES.join(','));
  const scenarios = parseScenarios(values.scenarios);
  if (systems.length === 0 || scenarios.length === 0) {
    console.error(`nothing to run\n\n${USAGE}`);
    return 2;
  }
  const roomwireNodeEnv: Record<string, string> = {};
  for (const pair of values['node-env']) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) {
      console.error(`--node-env expects KEY=VALUE, got ${JSON.stringify(pair)}\n\n${USAGE}`);
      return 2;
    }
    roomwireNodeEnv[match[1] as string] = match[2] as string;
  }
  const config = values.quick ? QUICK_CONFIG : FULL_CONFIG;
  const writeDocs = values['no-docs'] ? false : (values.docs ?? !values.quick);
  const command = ['npm run bench --', ...process.argv.slice(2)].join(' ');

  const results = await runDelivery({ config, systems, scenarios, command, roomwireNodeEnv });
  const files = await writeResults(results, { outDir: path.resolve(REPO_ROOT, values.out), docsPath: writeDocs ? DOCS_PATH : null });
  console.log(renderBarsSummary(results));
  console.log(`[bench] done in ${results.durationS.toFixed(0)} s; results: ${path.relative(REPO_ROOT, files.json)}, ${path.relative(REPO_ROOT, files.latestJson)}, report: ${path.relative(REPO_ROOT, files.markdown)}`);
  const failed = results.systems.some((s) => s.error !== null) || results.scenarios.some((s) => Object.values(s.outcomes).some((o) => o !== undefined && 'error' in o));
  return failed ? 1 : 0;
}

process.on('SIGINT', () => {
  console.error('\n[bench] interrupted: stopping every process it started');
  process.exit(130);
});
// Killed (e.g. by `timeout`): 'exit' still runs, so every child process is stopped too.
process.on('SIGTERM', () => {
  console.error('\n[bench] terminated: stopping every process it started');
  process.exit(143);
});

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
