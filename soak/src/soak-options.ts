import path from 'node:path';
import { nodeDefaults } from '@roomwire/server';

const REPO_ROOT = path.resolve(__dirname, '../..');

/** Options of {@link runSoak}. Every option has a default; durations are in ms, sizes in bytes. */
export interface SoakOptions {
  /** How long traffic runs (warm-up included), in ms. @default 600000 */
  durationMs?: number;
  /** Start of the run left out of the growth rule (caches and the stream fill), in ms. @default 120000 */
  warmupMs?: number;
  /** Replay window of the nodes and the publisher; its retention (×1.25) must end inside the warm-up, in ms. @default min(60000, warmupMs / 2) */
  replayWindowMs?: number;
  /** How long each node keeps recent stream entries in memory; must end inside the warm-up, in ms. @default min(60000 (the node's default), replayWindowMs) */
  recoveryCacheMs?: number;
  /** New short-lived clients per second, alternating between the two nodes. @default 50 */
  connectsPerSecond?: number;
  /** Most short-lived clients alive at once; a connect due above it is skipped and counted. @default 300 */
  maxChurnClients?: number;
  /** Shortest life of a short-lived client, in ms. @default 500 */
  minLifetimeMs?: number;
  /** Longest life of a short-lived client, in ms. @default 5000 */
  maxLifetimeMs?: number;
  /** Long-lived clients (half on each node) whose every event is accounted for. @default 20 */
  longLivedClients?: number;
  /** Mean time between a long-lived client's subscribe and unsubscribe of its churned service, in ms. @default 3000 */
  toggleIntervalMs?: number;
  /** Durable events published per second, round-robin over every org's rooms. @default 200 */
  eventsPerSecond?: number;
  /** Orgs published to; each has a `billing` and a `tickets` room. @default 4 */
  orgs?: number;
  /** How often heap, RSS and Redis memory are sampled, in ms. @default 2000 */
  sampleIntervalMs?: number;
  /** Length of the windows samples are aggregated over, in ms. @default min(60000, (durationMs − warmupMs) / 4) */
  windowMs?: number;
  /** Largest allowed growth of a memory series after the warm-up, as a fraction. @default 0.05 */
  maxGrowth?: number;
  /** Redis bytes per published payload byte kept in the stream (entry, envelope, listpack); 4.1–4.8 measured. @default 6 */
  redisOverheadFactor?: number;
  /** Redis memory allowed on top of the window's data: the idle baseline plus this, in bytes. @default 8388608 */
  redisFloorBytes?: number;
  /** How often a progress line is printed, in ms. @default 10000 */
  progressIntervalMs?: number;
  /** The JSON results file; a short summary is written beside it as `.md`. @default soak/results/latest.json */
  outFile?: string;
  /** Where progress lines go. @default console.log */
  log?: (line: string) => void;
}

/** Options after {@link resolveSoakOptions}. */
export type ResolvedSoakOptions = Required<SoakOptions>;

/** The defaults that do not depend on other options. */
export const soakDefaults = {
  durationMs: 600_000,
  warmupMs: 120_000,
  connectsPerSecond: 50,
  maxChurnClients: 300,
  minLifetimeMs: 500,
  maxLifetimeMs: 5000,
  longLivedClients: 20,
  toggleIntervalMs: 3000,
  eventsPerSecond: 200,
  orgs: 4,
  sampleIntervalMs: 2000,
  maxGrowth: 0.05,
  redisOverheadFactor: 6,
  redisFloorBytes: 8 * 1024 * 1024,
  progressIntervalMs: 10_000,
  outFile: path.join(REPO_ROOT, 'soak/results/latest.json'),
} as const;

/** Merges the defaults in once and checks the result; a bad option throws a `TypeError`. */
export function resolveSoakOptions(options: SoakOptions = {}): ResolvedSoakOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SoakOptions;
  const base = { ...soakDefaults, log: (line: string) => console.log(line), ...defined };
  const postWarmupMs = base.durationMs - base.warmupMs;
  const replayWindowMs = defined.replayWindowMs ?? Math.min(60_000, Math.floor(base.warmupMs / 2));
  const resolved: ResolvedSoakOptions = {
    ...base,
    replayWindowMs,
    recoveryCacheMs: defined.recoveryCacheMs ?? Math.min(nodeDefaults.recoveryCacheMs, replayWindowMs),
    windowMs: defined.windowMs ?? Math.max(base.sampleIntervalMs, Math.min(60_000, Math.floor(postWarmupMs / 4))),
  };
  for (const key of ['durationMs', 'replayWindowMs', 'recoveryCacheMs', 'connectsPerSecond', 'maxChurnClients', 'maxLifetimeMs', 'toggleIntervalMs', 'eventsPerSecond', 'orgs', 'sampleIntervalMs', 'windowMs', 'progressIntervalMs'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] <= 0) throw new TypeError(`soak: ${key} must be a positive number, got ${resolved[key]}`);
  }
  if (!(resolved.warmupMs >= 0 && postWarmupMs >= 2 * resolved.windowMs)) {
    throw new TypeError(`soak: the run (${resolved.durationMs} ms) must leave at least two windows of ${resolved.windowMs} ms after the warm-up (${resolved.warmupMs} ms)`);
  }
  if (resolved.minLifetimeMs < 0 || resolved.minLifetimeMs > resolved.maxLifetimeMs) throw new TypeError('soak: need 0 <= minLifetimeMs <= maxLifetimeMs');
  if (resolved.longLivedClients < 2 || !Number.isInteger(resolved.longLivedClients)) throw new TypeError('soak: longLivedClients must be an integer >= 2');
  return resolved;
}
