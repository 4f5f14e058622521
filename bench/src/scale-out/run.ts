import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeMachine } from '../report/machine';
import { writeRunJson } from '../report/write';
import { FULL_SCALE_OUT, QUICK_SCALE_OUT } from './config';
import { measurePublishRates } from './publish-rate';
import { measureReadRatio } from './read-ratio';
import { judgeScaleOut, renderScaleOut } from './report';
import type { ScaleOutResults } from './results';
import { measureWindowMemory } from './window-memory';

/** Options of {@link runScaleOut}. */
export interface RunScaleOutOptions {
  quick: boolean;
  /** Results directory (JSON and Markdown). */
  outDir: string;
  /** The command line, for the report. */
  command: string;
  repoRoot: string;
}

/**
 * `npm run bench -- scale-out [--quick]`: entries read per node ÷ entries published with and without org
 * affinity, a 5-minute window's Redis memory per master of a 3-master cluster, and the highest publish rate
 * over HTTP and the library on one Redis and on the cluster. Writes `scale-out-latest.{json,md}` (quick:
 * `scale-out-quick-latest.*`) in `outDir`; exits 1 when a bar fails.
 */
export async function runScaleOut(options: RunScaleOutOptions): Promise<number> {
  const config = options.quick ? QUICK_SCALE_OUT : FULL_SCALE_OUT;
  const log = (line: string): void => console.log(line);
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const machine = describeMachine();
  const readRatio = await measureReadRatio({ ...config.readRatio, log });
  const windowMemory = await measureWindowMemory({ ...config.windowMemory, log });
  const publishRate = await measurePublishRates({ ...config.publishRate, log });
  const results: ScaleOutResults = {
    mode: config.mode,
    startedAt,
    durationS: (Date.now() - started) / 1000,
    command: options.command,
    machine,
    loadAverageAtEnd: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    readRatio,
    windowMemory,
    publishRate,
    bars: judgeScaleOut(readRatio.modes, windowMemory),
  };
  const { prefix, json } = await writeRunJson('scale-out', results, options.outDir);
  const markdown = path.join(options.outDir, `${prefix}-latest.md`);
  await writeFile(markdown, renderScaleOut(results));
  for (const bar of results.bars) console.log(`[scale-out] ${bar.pass ? 'PASS' : 'FAIL'} ${bar.bar}: ${bar.measured}`);
  console.log(`[scale-out] done in ${results.durationS.toFixed(0)} s; results: ${path.relative(options.repoRoot, json)}, report: ${path.relative(options.repoRoot, markdown)}`);
  return results.bars.every((b) => b.pass) ? 0 : 1;
}
