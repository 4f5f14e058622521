import type { LoadPool, PoolPhaseReport } from '../load/load-pool';
import type { ResourceReport } from '../measure/resource-sampler';
import type { PublishProgress, PublishRun } from '../publish/publisher-api';
import { describeSchedule, type Schedule } from '../publish/schedule';
import type { ScenarioContext } from './scenario';

/** Gap between telling everyone about a phase and its first tick. */
const START_LEAD_MS = 200;
const PROGRESS_INTERVAL_MS = 1000;
/** Stragglers have stopped once none arrived for this long. */
const DRAIN_IDLE_MS = 500;

/** Options of {@link runPhase}. */
export interface PhaseOptions {
  /** Shown in progress lines. */
  label: string;
  schedule: Schedule;
  /** Keep a delivery timeline in buckets of this many ms. */
  timelineBucketMs?: number;
  settle: { idleMs: number; timeoutMs: number };
  /** Runs alongside the schedule (e.g. the cut of the recovery storm); given the schedule's start time. */
  during?: (startAt: number) => Promise<void>;
  /** Emits that may await the system's answer before the publisher pauses (default: the publisher's). */
  maxInFlight?: number;
  /** Runs once every emit of the schedule has settled (and `during` is done), before the phase settles. */
  afterPublish?: (publish: PublishRun) => Promise<void>;
}

/** One phase: a schedule published, delivered and accounted for. */
export interface PhaseResult {
  phase: number;
  schedule: Schedule;
  publish: PublishRun;
  load: PoolPhaseReport;
  resources: ResourceReport;
  /** Wall-clock ms the resource window opened (resources' sample times count from it). */
  resourcesFrom: number;
  expectedDeliveries: number;
  /** Every expected delivery arrived before the settle ended. */
  complete: boolean;
  /** Time from the end of publishing until settled, in ms. */
  settleMs: number;
  /** Deliveries of this phase that arrived only after it ended (counted as missed in `load`). */
  lateDeliveries: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one phase: opens the books in every load worker, publishes the schedule, prints a progress
 * line a second, waits for the deliveries to settle, then collects and merges every measurement.
 */
export async function runPhase(ctx: ScenarioContext, options: PhaseOptions): Promise<PhaseResult> {
  const { pool, publisher, sampler } = ctx;
  const phase = ctx.nextPhase();
  const startAt = Date.now() + START_LEAD_MS;
  await pool.begin({ phase, startAt, ...(options.timelineBucketMs === undefined ? {} : { timelineBucketMs: options.timelineBucketMs }) });
  const resourcesFrom = Date.now();
  const closeResources = sampler.start();
  ctx.log(`${options.label}: ${describeSchedule(options.schedule)}`);

  let published: PublishProgress = { phase, published: 0, lagMs: 0 };
  const offNotice = publisher.onNotice((notice) => {
    if (notice.kind === 'published') published = notice.body as PublishProgress;
  });
  const ticker = setInterval(() => {
    void pool.progress().then(
      (p) => ctx.log(`${options.label} ${Math.round((Date.now() - startAt) / 1000)}s: ${progressLine(published, p)}`),
      () => undefined,
    );
  }, PROGRESS_INTERVAL_MS);

  let publish: PublishRun;
  try {
    [publish] = await Promise.all([publisher.call('run', { phase, schedule: options.schedule, startAt, ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }) }), options.during?.(startAt)]);
  } finally {
    clearInterval(ticker);
    offNotice();
  }

  await options.afterPublish?.(publish);
  const expectedDeliveries = pool.expectedDeliveries(publish.perRoom);
  const settleStart = Date.now();
  const complete = await settle(pool, expectedDeliveries, options.settle);
  const settleMs = Date.now() - settleStart;
  const resources = await closeResources();
  const load = await pool.end({ phase, expectedPerRoom: publish.perRoom });
  // Stragglers of an overloaded phase must not load the next one.
  const lateDeliveries = complete ? 0 : await drainStragglers(ctx, ctx.config.drainTimeoutMs);
  ctx.log(
    `${options.label} done: ${load.deliveries}/${expectedDeliveries} delivered, p50 ${fmt(load.latency.percentileMs(50))} ms, ` +
      `p99 ${fmt(load.latency.percentileMs(99))} ms, missed ${load.missed}, duplicated ${load.duplicated}, settled in ${settleMs} ms`,
  );
  return { phase, schedule: options.schedule, publish, load, resources, resourcesFrom, expectedDeliveries, complete, settleMs, lateDeliveries };
}

/** Waits until every expected delivery arrived with every client connected, or progress stops, or time is up. */
async function settle(pool: LoadPool, expected: number, options: { idleMs: number; timeoutMs: number }): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const p = await pool.progress();
    if (p.deliveries >= expected && p.down === 0) return true;
    if (p.deliveries !== last) {
      last = p.deliveries;
      lastChange = Date.now();
    } else if (p.down === 0 && Date.now() - lastChange >= options.idleMs) {
      return false;
    }
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

/**
 * Lets a backlog drain: late deliveries count as stale in an empty phase, until they stop arriving.
 * @returns how many arrived
 */
async function drainStragglers(ctx: ScenarioContext, timeoutMs: number): Promise<number> {
  const phase = ctx.nextPhase();
  await ctx.pool.begin({ phase, startAt: Date.now() });
  const started = Date.now();
  let last = -1;
  let lastChange = started;
  while (Date.now() - started < timeoutMs) {
    const p = await ctx.pool.progress();
    if (p.stale !== last) {
      last = p.stale;
      lastChange = Date.now();
    } else if (p.down === 0 && Date.now() - lastChange >= DRAIN_IDLE_MS) {
      break;
    }
    await sleep(100);
  }
  await ctx.pool.end({ phase, expectedPerRoom: [] });
  const late = Math.max(0, last);
  ctx.log(`drained ${late} late deliveries in ${Date.now() - started} ms`);
  return late;
}

function progressLine(published: PublishProgress, p: Awaited<ReturnType<LoadPool['progress']>>): string {
  const parts = [
    `published ${published.published} (lag ${published.lagMs} ms)`,
    `delivered ${p.deliveries}`,
    `p99 ${fmt(p.windowP99Ms)} ms`,
    `load eld p99 ${fmt(p.eldP99Ms)} ms`,
  ];
  if (p.down > 0) parts.push(`${p.down} clients down`);
  if (p.stale > 0) parts.push(`${p.stale} stale`);
  return parts.join(', ');
}

/** A number for progress lines. */
export function fmt(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}
