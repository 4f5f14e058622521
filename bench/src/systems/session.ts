import type { BenchConfig } from '../config';
import type { ClientKind } from '../load/load-api';
import { LoadPool } from '../load/load-pool';
import { ResourceSampler } from '../measure/resource-sampler';
import type { ScenarioContext, ScenarioName, ScenarioOutcome } from '../scenarios/scenario';
import { pinProcesses, type PinningReport } from './cpu-pinning';
import { startSystem, type RunningSystem } from './running-system';
import type { SystemName } from './system-names';

/** A system under test with its clients connected and its resources sampled. */
export interface Session {
  system: RunningSystem;
  pool: LoadPool;
  sampler: ResourceSampler;
  /** For the delivery benchmark's phase runner and scenarios. */
  ctx: ScenarioContext;
  /** How long the system (Redis, nodes, publisher) took to start. */
  startMs: number;
  /** How long the clients took to connect and subscribe. */
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
  /** When the scenarios must end (epoch ms); default: `bench.budgetMs` from when the clients are connected. */
  deadline?: number;
  /** @default 'library' */
  clientKind?: ClientKind;
  /** Clients each load worker opens per second. @default bench.connectPerSecondPerWorker */
  connectPerSecond?: number;
  /** Longest wait for every client to connect. @default bench.connectTimeoutMs */
  connectTimeoutMs?: number;
  /** Pin the processes to cores once the clients are connected (see `cpu-pinning.ts`). @default false */
  pin?: boolean;
  /** Earlier results of the run, for scenarios that depend on them. */
  outcomeOf?: (scenario: ScenarioName, system: SystemName) => ScenarioOutcome | null;
}

/** Where a session reports to. */
export interface SessionEnv {
  /** Prints a progress line (the session prefixes it with the system's name). */
  log(line: string): void;
  /** A new phase number (tags the phase's events), unique over the run. */
  nextPhase(): number;
}

export const errorText = (err: unknown): string => (err instanceof Error ? (err.stack ?? err.message) : String(err));

/**
 * Starts `name` fresh (its own redis-server, `nodeCount` nodes, a publisher), connects the clients,
 * runs `fn`, and stops everything again, also when `fn` or a start step fails (the nodes' output is
 * logged then, and the error rethrown).
 */
export async function withSession<T>(env: SessionEnv, name: SystemName, options: SessionOptions, fn: (session: Session) => Promise<T>): Promise<T> {
  const log = (line: string): void => env.log(`[${name}] ${line}`);
  let system: RunningSystem | undefined;
  let pool: LoadPool | undefined;
  let sampler: ResourceSampler | undefined;
  try {
    const t0 = Date.now();
    system = await startSystem(name, { nodeCount: options.nodeCount, memoryProbe: options.memoryProbe ?? false, roomwireNodeEnv: options.roomwireNodeEnv ?? {} });
    const startMs = Date.now() - t0;
    log(`started ${options.nodeCount} node(s) in ${startMs} ms: redis ${system.redisUrl}, nodes ${system.nodes.map((n) => n.url).join(' ')}`);
    const t1 = Date.now();
    pool = await LoadPool.start({
      system: name,
      nodeUrls: system.nodes.map((n) => n.url),
      jwtSecret: system.jwtSecret,
      clientKind: options.clientKind ?? 'library',
      clients: options.clients,
      rooms: options.rooms,
      workers: options.bench.loadWorkers,
      cutFraction: options.cutFraction,
      reconnect: options.bench.reconnect,
      connectPerSecond: options.connectPerSecond ?? options.bench.connectPerSecondPerWorker,
      connectTimeoutMs: options.connectTimeoutMs ?? options.bench.connectTimeoutMs,
    });
    const connectMs = Date.now() - t1;
    log(`${options.clients} ${options.clientKind === 'lean' ? 'lean ' : ''}clients in ${options.rooms} rooms connected and subscribed in ${connectMs} ms`);
    let pinning: PinningReport | null = null;
    if (options.pin === true) {
      pinning = await pinProcesses({ servers: [...system.nodes.map((n) => n.pid), system.redisPid], load: [...pool.pids, system.publisher.pid] });
      log(pinning.description);
    }
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
      deadline: options.deadline ?? Date.now() + options.bench.budgetMs,
      shape: { clients: options.clients, rooms: options.rooms, clientKind: options.clientKind ?? 'library', pinned: pinning?.pinned ?? false },
      pinning,
      ...(options.outcomeOf === undefined ? {} : { outcomeOf: options.outcomeOf }),
    };
    return await fn({ system, pool, sampler, ctx, startMs, connectMs });
  } catch (err) {
    for (const node of system?.nodes ?? []) log(`output of ${node.url}:\n${node.output()}`);
    throw err;
  } finally {
    await pool?.close().catch(() => undefined);
    await sampler?.close();
    await system?.stop().catch((err: unknown) => log(`stop failed: ${errorText(err)}`));
    log('stopped');
  }
}
