import type { BenchConfig } from '../config';
import { LoadPool } from '../load/load-pool';
import { ResourceSampler } from '../measure/resource-sampler';
import type { ScenarioContext } from '../scenarios/scenario';
import { startSystem, type RunningSystem } from '../systems/running-system';
import type { SystemName } from '../systems/system-names';
import type { SuiteEnv } from './types';

/** A system under test with its clients connected and its resources sampled. */
export interface Session {
  system: RunningSystem;
  pool: LoadPool;
  sampler: ResourceSampler;
  /** For the delivery benchmark's phase runner and scenarios. */
  ctx: ScenarioContext;
  connectMs: number;
}

/** What to start. */
export interface SessionOptions {
  nodeCount: number;
  clients: number;
  rooms: number;
  /** Share of the clients behind the load workers' cuttable proxies. */
  cutFraction: number;
  bench: BenchConfig;
  memoryProbe?: boolean;
  /** Extra environment of Roomwire nodes. */
  roomwireNodeEnv?: Record<string, string>;
}

export const errorText = (err: unknown): string => (err instanceof Error ? (err.stack ?? err.message) : String(err));

/**
 * Starts `name` fresh (its own redis-server, `nodeCount` nodes, a publisher), connects the clients,
 * runs `fn`, and stops everything again, also when `fn` or a start step fails.
 */
export async function withSession<T>(env: SuiteEnv, name: SystemName, options: SessionOptions, fn: (session: Session) => Promise<T>): Promise<T> {
  const log = (line: string): void => env.log(`[${name}] ${line}`);
  let system: RunningSystem | undefined;
  let pool: LoadPool | undefined;
  let sampler: ResourceSampler | undefined;
  try {
    const t0 = Date.now();
    system = await startSystem(name, { nodeCount: options.nodeCount, memoryProbe: options.memoryProbe ?? false, roomwireNodeEnv: options.roomwireNodeEnv ?? {} });
    log(`started ${options.nodeCount} node(s) in ${Date.now() - t0} ms`);
    const t1 = Date.now();
    pool = await LoadPool.start({
      system: name,
      nodeUrls: system.nodes.map((n) => n.url),
      jwtSecret: system.jwtSecret,
      clients: options.clients,
      rooms: options.rooms,
      workers: options.bench.loadWorkers,
      cutFraction: options.cutFraction,
      reconnect: options.bench.reconnect,
      connectPerSecond: options.bench.connectPerSecondPerWorker,
      connectTimeoutMs: options.bench.connectTimeoutMs,
    });
    const connectMs = Date.now() - t1;
    log(`${options.clients} clients in ${options.rooms} rooms connected and subscribed in ${connectMs} ms`);
    sampler = await ResourceSampler.connect(
      { nodes: system.nodes.map((n) => n.pid), redis: [system.redisPid], publisher: [system.publisher.pid], load: pool.pids },
      system.redisUrl,
    );
    const ctx: ScenarioContext = {
      system: name,
      config: options.bench,
      pool,
      publisher: system.publisher,
      sampler,
      log,
      nextPhase: () => env.nextPhase(),
      deadline: Date.now() + options.bench.budgetMs,
    };
    return await fn({ system, pool, sampler, ctx, connectMs });
  } catch (err) {
    for (const node of system?.nodes ?? []) log(`output of ${node.url}:\n${node.output()}`);
    throw err;
  } finally {
    await pool?.close().catch(() => undefined);
    await sampler?.close();
    await system?.stop().catch((err: unknown) => log(`stop failed: ${errorText(err)}`));
  }
}

/** Per-system runner of a scenario: runs `fn` for each system, recording an error instead of stopping the run. */
export async function forEachSystem<T>(env: SuiteEnv, fn: (system: SystemName) => Promise<T>): Promise<Partial<Record<SystemName, T | { error: string }>>> {
  const out: Partial<Record<SystemName, T | { error: string }>> = {};
  for (const system of env.systems) {
    try {
      out[system] = await fn(system);
    } catch (err) {
      env.log(`[${system}] failed: ${errorText(err)}`);
      out[system] = { error: errorText(err).split('\n')[0] ?? 'failed' };
    }
  }
  return out;
}

/** Whether a per-system entry is an error. */
export function isError<T>(value: T | { error: string } | undefined): value is { error: string } {
  return typeof value === 'object' && value !== null && 'error' in value;
}

/** A system's data, or `undefined` when it did not run or failed. */
export function succeeded<T>(value: T | { error: string } | undefined): T | undefined {
  return value === undefined || isError(value) ? undefined : value;
}

/** Bytes as MB with one decimal. */
export const mb = (bytes: number | null | undefined): string => (bytes === null || bytes === undefined || !Number.isFinite(bytes) ? '–' : (bytes / 1024 / 1024).toFixed(1));

/** A number with `digits` decimals, or "–". */
export const num = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : digits === 0 && Math.abs(value) >= 10_000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);

/** The value at percentile `p` (0..100) of ascending `sorted`, or null. */
export function percentileOf(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
