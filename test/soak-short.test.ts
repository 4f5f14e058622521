/**
 * The 60-second version of the soak (`npm run soak`): the same cluster, churn, publishing and rules as
 * `npm run soak`, shortened: delivery exactness, the Redis budget and the nodes' health are judged; the
 * memory growth rule is computed and reported but judged only by the 10-minute run (see below).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runSoak } from '../soak/src/soak';

const dir = mkdtempSync(path.join(os.tmpdir(), 'roomwire-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('60 s of churn and publishing: every owed event delivered once, Redis within what the window needs', async () => {
  const lines: string[] = [];
  const { results, files } = await runSoak({
    durationMs: 60_000,
    warmupMs: 30_000,
    outFile: path.join(dir, 'soak.json'),
    log: (line) => lines.push(line),
  });
  // The growth rule needs the 10-minute run (its windows start after two minutes): in 60 s the nodes'
  // heap is still warming up (+3 % to +8 % between 30 s and 60 s in CI runs, flat over the 10-minute run
  // in soak/results/latest.md). Here every other check must pass, the growth is reported.
  const growth = (name: string): boolean => name.endsWith('growth after warm-up');
  const failed = results.checks.filter((c) => !c.pass && !growth(c.name));
  if (failed.length > 0) throw new Error(`soak failed:\n${readFileSync(files.summary, 'utf8')}\n${lines.slice(-20).join('\n')}`);

  const check = (name: string) => results.checks.find((c) => c.name.startsWith(name));
  expect(check('long-lived clients: no loss')?.pass).toBe(true);
  expect(check('long-lived clients: no duplicates')?.pass).toBe(true);
  // Both nodes' heap and RSS and Redis were measured, over at least two windows after the warm-up.
  expect(results.checks.filter((c) => c.name.endsWith('growth after warm-up'))).toHaveLength(5);
  expect(results.longLived.received).toBe(results.longLived.expected);
  expect(results.longLived.expected).toBeGreaterThan(1000);
}, 150_000);
