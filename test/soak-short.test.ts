/**
 * The 60-second version of the soak (issue #7, part 4): the same cluster, churn, publishing and rules as
 * `npm run soak`, shortened. The warm-up is half the run: the replay window (15 s, retention 18.75 s)
 * and each node's recovery cache (15 s) are full before the first measured window, so what is left to
 * grow after it is a leak.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runSoak } from '../soak/src/soak';

const dir = mkdtempSync(path.join(os.tmpdir(), 'roomwire-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('60 s of churn and publishing: memory flat after the warm-up, every owed event delivered once', async () => {
  const lines: string[] = [];
  const { pass, results, files } = await runSoak({
    durationMs: 60_000,
    warmupMs: 30_000,
    outFile: path.join(dir, 'soak.json'),
    log: (line) => lines.push(line),
  });
  // On failure the summary (every check with its numbers) is the message.
  if (!pass) throw new Error(`soak failed:\n${readFileSync(files.summary, 'utf8')}\n${lines.slice(-20).join('\n')}`);

  const check = (name: string) => results.checks.find((c) => c.name.startsWith(name));
  expect(check('long-lived clients: no loss')?.pass).toBe(true);
  expect(check('long-lived clients: no duplicates')?.pass).toBe(true);
  // Both nodes' heap and RSS and Redis were judged, over at least two windows after the warm-up.
  expect(results.checks.filter((c) => c.name.endsWith('growth after warm-up'))).toHaveLength(5);
  expect(results.longLived.received).toBe(results.longLived.expected);
  expect(results.longLived.expected).toBeGreaterThan(1000);
}, 150_000);
