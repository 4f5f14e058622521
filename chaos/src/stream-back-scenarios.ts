import { createClient as createRedisClient } from 'redis';
import { partitionKeys } from '../../server/src/stream/partitions';
import { awaitResyncs, byDisconnects, checkAllReady, checkNodesUntouched, pids } from './scenario-checks';
import type { ScenarioContext, ScenarioDefinition } from './scenarios';

/**
 * Redis comes back *behind* what the nodes read, without its epoch telling (the
 * stream must never move backwards silently). Every client must either get every event published
 * after the fault or be told to resync.
 */

/** The stream of the one partition the single-Redis scenarios run with (`STREAM_PARTITIONS=1`, default key prefix). */
const STREAM_KEY = partitionKeys('roomwire', 0, 1).stream;

/** Runs `fn` with a short-lived plain Redis client of the scenario's redis-server (not through the nodes' proxy). */
async function withRedis<T>(ctx: ScenarioContext, fn: (redis: ReturnType<typeof createRedisClient>) => Promise<T>): Promise<T> {
  const redis = createRedisClient({ url: ctx.cluster.redis.url });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return await fn(redis);
  } finally {
    redis.destroy();
  }
}

function streamBack(kind: 'clock-step-back' | 'older-snapshot'): ScenarioDefinition {
  let before: number[] = [];
  let startedAt = 0;
  /** What proves the fault was the intended one: how far the clock was behind, or how many entries the restore lost. */
  let precondition = { ok: false, detail: 'not measured' };
  return {
    name: kind,
    title:
      kind === 'clock-step-back'
        ? 'Redis restarted without persistence on a clock 30 s behind'
        : 'Redis restored from an older RDB snapshot (same epoch, head behind)',
    // One of the new scenarios runs in npm test's quick set: ~21 s with the cluster start-up.
    inQuickTest: kind === 'clock-step-back',
    async inject(ctx) {
      before = pids(ctx.cluster);
      const redis = ctx.cluster.redis;
      if (kind === 'clock-step-back') {
        startedAt = Date.now();
        ctx.log(`SIGKILL Redis, restart it empty on a clock ${ctx.config.clockStepBack.behindMs} ms behind`);
        await redis.kill('SIGKILL');
        await redis.restart({ clockOffsetMs: -ctx.config.clockStepBack.behindMs });
        const behindMs = await withRedis(ctx, async (client) => Date.now() - Number((await client.time())[0]) * 1000);
        precondition = { ok: behindMs > ctx.config.clockStepBack.behindMs * 0.8, detail: `Redis's TIME ${behindMs} ms behind the host's` };
      } else {
        const snapshot = await redis.snapshot();
        const atSnapshot = await withRedis(ctx, (client) => client.xLen(STREAM_KEY));
        ctx.log(`snapshot taken (${atSnapshot} entries); publishing on for ${ctx.config.olderSnapshot.ageMs} ms`);
        await ctx.hold(ctx.config.olderSnapshot.ageMs);
        const atCrash = await withRedis(ctx, (client) => client.xLen(STREAM_KEY));
        startedAt = Date.now();
        ctx.log(`SIGKILL Redis (${atCrash} entries), restart it from the snapshot`);
        await redis.kill('SIGKILL');
        await redis.restart({ fromSnapshot: snapshot });
        const restored = await withRedis(ctx, (client) => client.xLen(STREAM_KEY));
        precondition = { ok: restored < atCrash, detail: `${atCrash} entries at the crash, ${restored} after the restore` };
      }
      ctx.faults.push({ label: kind === 'clock-step-back' ? 'Redis restarted on a clock behind' : 'Redis restored from an older snapshot', at: startedAt, endAt: Date.now() });
      ctx.log(`Redis answers PING again after ${Date.now() - startedAt} ms; ${precondition.detail}`);
      await awaitResyncs(ctx, startedAt);
    },
    classify: byDisconnects,
    async expect(ctx) {
      ctx.check(kind === 'clock-step-back' ? "Redis's clock really was behind (precondition)" : 'the restored stream really was behind (precondition)', precondition.ok, precondition.detail);
      const receivers = ctx.fleet.receivers;
      const resynced = receivers.filter((r) => r.resyncs.some((t) => t >= startedAt));
      const back = ctx.faults[0]?.endAt ?? startedAt;
      const last = Math.max(0, ...resynced.map((r) => r.resyncs.find((t) => t >= startedAt) ?? 0));
      ctx.check(
        'every client told to resync (the stream went back)',
        resynced.length === receivers.length,
        `${resynced.length} of ${receivers.length} clients, the last ${last - back} ms after Redis was back`,
      );
      const after = ctx.load.records.filter((r) => r.startedAt >= back && r.ok).length;
      ctx.check('publishing works again after the restart', after > 0, `${after} events stored after Redis was back`);
      checkNodesUntouched(ctx, before);
      await checkAllReady(ctx, 10_000);
    },
  };
}

export const clockStepBack = (): ScenarioDefinition => streamBack('clock-step-back');
export const olderSnapshot = (): ScenarioDefinition => streamBack('older-snapshot');
