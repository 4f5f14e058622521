import type { LocalCluster } from '../../infra/cluster/launch-cluster';
import { answers200, waitUntil } from '../../test/harness';
import type { Receiver } from './fleet';
import type { ScenarioContext } from './scenarios';

/** Checks and helpers several scenarios share. */

/** Node pids before the fault, to prove afterwards that no node was restarted. */
export function pids(cluster: LocalCluster): number[] {
  return cluster.nodes.map((n) => n.pid);
}

export function checkNodesUntouched(ctx: ScenarioContext, before: number[]): void {
  const after = pids(ctx.cluster);
  const same = after.every((pid, i) => pid === before[i]) && ctx.cluster.nodes.every((n) => n.running());
  ctx.check('nodes stayed up, none restarted', same, `pids before ${before.join(',')}, after ${after.join(',')}`);
}

export async function checkAllReady(ctx: ScenarioContext, timeoutMs: number): Promise<number> {
  const started = Date.now();
  try {
    await waitUntil(async () => (await Promise.all(ctx.cluster.nodes.map((n) => answers200(`${n.url}/readyz`)))).every(Boolean), {
      what: 'every node to answer 200 on /readyz',
      timeoutMs,
      intervalMs: 100,
    });
    ctx.check('every node ready again (/readyz 200)', true, `after ${Date.now() - started} ms`);
  } catch (err) {
    ctx.check('every node ready again (/readyz 200)', false, (err as Error).message);
  }
  return Date.now() - started;
}

/** Whether a client's connection ever dropped: the class of a scenario where that is what differs. */
export function byDisconnects(receiver: Receiver): string {
  return receiver.client.metrics().totalDisconnects > 0 ? 'reconnected' : 'stayed connected';
}

/**
 * After a fault that took the stream back in time (`since`: when it started), waits until every client
 * was told to resync; logs how long that took. Never throws: the scenario's checks judge.
 */
export async function awaitResyncs(ctx: ScenarioContext, since: number): Promise<void> {
  const started = Date.now();
  await waitUntil(() => ctx.fleet.receivers.every((r) => r.resyncs.some((t) => t >= since)), {
    what: 'a resync signal on every client',
    timeoutMs: ctx.config.catchUpTimeoutMs,
  }).then(
    () => ctx.log(`every client got a resync signal ${Date.now() - started} ms after Redis was back`),
    () => undefined,
  );
}
