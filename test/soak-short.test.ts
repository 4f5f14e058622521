/**
 * The 60-second version of the soak (`npm run soak`): the same cluster, churn, publishing and rules as
 * `npm run soak`, shortened and at lower rates: delivery exactness, the Redis budget and the nodes' health
 * are judged; the memory growth rule is computed and reported but judged only by the 10-minute run (see below).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runSoak } from '../soak/src/soak';

/**
 * Rates a busy 2-core CI machine sustains (a CPU hog or the other jest worker beside it): the 10-minute
 * soak's 50 connects/s (≤ 300 alive) and 200 events/s starve it there, so that handshakes and the
 * 5 s append deadline are missed and the run fails for want of CPU, not for a fault of the product.
 * The full rates are the 10-minute run's (`npm run soak`, soak/results/latest.md).
 */
const CI_RATES = { connectsPerSecond: 20, maxChurnClients: 120, eventsPerSecond: 100 } as const;

const dir = mkdtempSync(path.join(os.tmpdir(), 'roomwire-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('60 s of churn and publishing: every owed event delivered once, Redis within what the window needs', async () => {
  const lines: string[] = [];
  const { results, files } = await runSoak({
    durationMs: 60_000,
    warmupMs: 30_000,
    ...CI_RATES,
    outFile: path.join(dir, 'soak.json'),
    log: (line) => lines.push(line),
  });
  // The growth rule needs the 10-minute run (its windows start after two minutes): in 60 s the nodes'
  // heap is still warming up (+3 % to +8 % between 30 s and 60 s in CI runs, flat over the 10-minute run
  // in soak/results/latest.md). Here every other check must pass, the growth is reported.
  const growth = (name: string): boolean => name.endsWith('growth after warm-up');
  // 'publishes' asks that none failed: the 10-minute run's measure of a machine that keeps up. On a
  // starved CI machine the publisher's process can sit on Redis's reply past the 5 s append deadline;
  // such a publish must fail loudly and retryably (checked below) and is owed to no one.
  const publishes = (name: string): boolean => name === 'publishes';
  const failed = results.checks.filter((c) => !c.pass && !growth(c.name) && !publishes(c.name));
  if (failed.length > 0) throw new Error(`soak failed:\n${readFileSync(files.summary, 'utf8')}\n${lines.slice(-20).join('\n')}`);

  const check = (name: string) => results.checks.find((c) => c.name.startsWith(name));
  expect(check('long-lived clients: no loss')?.pass).toBe(true);
  expect(check('long-lived clients: no duplicates')?.pass).toBe(true);
  // Both nodes' heap and RSS and Redis were measured, over at least two windows after the warm-up.
  expect(results.checks.filter((c) => c.name.endsWith('growth after warm-up'))).toHaveLength(5);
  expect(results.longLived.received).toBe(results.longLived.expected);
  expect(results.longLived.expected).toBeGreaterThan(1000);
  expect(results.publishing.failedRetryable).toBe(results.publishing.failed);
  expect(results.publishing.published).toBeGreaterThan(results.publishing.failed);
  // Start-up, 60 s of traffic, up to 15 s of catch-up and the shutdown: ~100 s on a busy machine.
}, 240_000);
