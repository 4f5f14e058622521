import { QUICK } from '../chaos/src/config';
import { runScenario } from '../chaos/src/run';
import { quickTestScenarios } from '../chaos/src/scenarios';

/**
 * The short version of `npm run chaos`: every scenario in quick mode (60 clients, three nodes behind
 * HAProxy, a steady publisher; one SIGKILL, a SIGSTOP of at least 3 s and until the frozen node's
 * clients are on other nodes (within 10 s), Redis restarts, Redis unreachable for 3 s
 * (refused) or ~6 s (black hole), client cuts of 1–3 s) with the same checks as the full run: no silent
 * loss, no duplicate reaching the app, order, and each scenario's own expectations. Of the newer
 * scenarios only `clock-step-back` (~21 s) is in this set; `older-snapshot` and the Redis Cluster ones
 * are left out (`inQuickTest: false`) to keep CI short: they run with `npm run chaos -- --scenario <name>`.
 */
/**
 * Per scenario, a guard against a hang: cluster start-up (~5–15 s on a busy 2-core machine, up to the
 * launcher's 30 s per node when it is starved), 10–20 s of run, publishing until the cluster stores
 * events again (at most the 20 s catch-up bound), the catch-up bound, and the cluster's drain.
 */
const TIMEOUT_MS = 180_000;

test.each(quickTestScenarios().map((name) => [name]))(
  'chaos (quick): %s — no silent loss, no duplicate to the app, expectations met',
  async (name) => {
    const lines: string[] = [];
    const result = await runScenario(name, QUICK, (line) => lines.push(line));
    const failed = result.checks.filter((c) => !c.ok);
    if (failed.length > 0) throw new Error(`${failed.map((c) => `${c.what}: ${c.detail}`).join('\n')}\n--- run ---\n${lines.join('\n')}`);
    expect(result.ok).toBe(true);
    expect(Object.values(result.classes).reduce((n, c) => n + c.clients, 0)).toBe(QUICK.clients);
  },
  TIMEOUT_MS,
);
