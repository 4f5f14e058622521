import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MachineInfo } from '../../bench/src/report/machine';
import type { ChurnStats } from './churn';
import type { LongLivedReport } from './long-lived';
import type { GrowthCheck, MemorySample, MemoryWindow } from './memory';
import type { PublishingStats } from './publishing';
import type { RedisBudget } from './redis-budget';

/** One pass/fail line of the run. */
export interface SoakCheck {
  name: string;
  measured: string;
  limit: string;
  pass: boolean;
}

/** Everything a run wrote to its JSON file. */
export interface SoakResults {
  soak: 'roomwire';
  at: string;
  machine: MachineInfo;
  settings: {
    durationS: number;
    warmupS: number;
    replayWindowS: number;
    recoveryCacheS: number;
    windowS: number;
    sampleIntervalS: number;
    connectsPerSecond: number;
    maxChurnClients: number;
    lifetimeS: [number, number];
    longLivedClients: number;
    toggleIntervalS: number;
    eventsPerSecond: number;
    orgs: number;
    maxGrowth: number;
  };
  /** Seconds from start to traffic, of traffic, and from traffic end to everything stopped. */
  timingS: { startup: number; traffic: number; shutdown: number };
  publishing: PublishingStats & { payloadBytesPerSecond: number };
  churn: ChurnStats;
  longLived: LongLivedReport;
  nodes: { name: string; exitedEarly: boolean }[];
  redis: RedisBudget & { maxPostWarmupBytes: number; measuredOverheadFactor: number };
  windows: MemoryWindow[];
  growth: GrowthCheck[];
  samples: MemorySample[];
  checks: SoakCheck[];
  pass: boolean;
}

const MiB = 1024 * 1024;

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

/** A window as one line: each node's heap and RSS, and Redis. */
export function windowLine(w: MemoryWindow, nodeNames: readonly string[]): string {
  const nodes = nodeNames.map((n) => `${n} heap ${mib(w.values[`${n}.heap`] ?? Number.NaN)} MiB rss ${mib(w.values[`${n}.rss`] ?? Number.NaN)} MiB`).join(' | ');
  return `[soak] memory ${w.startMs / 1000}-${w.endMs / 1000} s (median of ${w.samples}): ${nodes} | redis ${mib(w.values.redis ?? Number.NaN)} MiB`;
}

/** The short summary printed at the end and written beside the JSON. */
export function renderSummary(r: SoakResults): string {
  const ll = r.longLived;
  const lines = [
    `# Soak ${r.pass ? 'PASS' : 'FAIL'} — ${r.at}`,
    '',
    `${r.settings.durationS} s of traffic (warm-up ${r.settings.warmupS} s, windows of ${r.settings.windowS} s, replay window ${r.settings.replayWindowS} s, node recovery cache ${r.settings.recoveryCacheS} s) on 2 nodes and one redis-server.`,
    `Published ${r.publishing.published} events (${r.publishing.failed} failed, ${r.publishing.failedRetryable} of them with a retryable code, ${Math.round(r.publishing.payloadBytesPerSecond)} payload B/s, ${r.publishing.lateTicks} late ticks).`,
    `Churn: ${r.churn.created} clients created, ${r.churn.connected} connected, ${r.churn.closed} closed, peak ${r.churn.peakAlive} alive, ${r.churn.skippedAtCap} skipped at the cap, ${r.churn.errors} errors.`,
    `Long-lived: ${ll.clients} clients owed ${ll.expected} events, received ${ll.received}, missing ${ll.missing}, duplicates to the app ${ll.duplicates}, out of order ${ll.outOfOrder}; ` +
      `${ll.subscribes} subscribes / ${ll.unsubscribes} unsubscribes, ${ll.requestFailures} failed, ${ll.drainTimeouts} drain timeouts; ${ll.resyncs} resyncs, ${ll.disconnects} disconnects; ` +
      `${ll.duplicatesDroppedByClient} duplicates dropped by client dedup, ${ll.receivedOutsideSubscriptions} received while a subscription changed.`,
    `Redis: max ${mib(r.redis.maxPostWarmupBytes)} MiB after warm-up, limit ${mib(r.redis.limitBytes)} MiB; measured overhead ${r.redis.measuredOverheadFactor.toFixed(1)}× (allowed ${r.redis.overheadFactor}×).`,
    '',
    '| check | measured | limit | |',
    '| --- | --- | --- | --- |',
    ...r.checks.map((c) => `| ${c.name} | ${c.measured} | ${c.limit} | ${c.pass ? 'pass' : '**FAIL**'} |`),
    '',
  ];
  return lines.join('\n');
}

/** Writes the JSON results and the summary (same name, `.md`); returns both paths. */
export async function writeResults(results: SoakResults, outFile: string): Promise<{ json: string; summary: string }> {
  await mkdir(path.dirname(outFile), { recursive: true });
  const summary = outFile.replace(/\.json$/, '') + '.md';
  await writeFile(outFile, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(summary, renderSummary(results));
  return { json: outFile, summary };
}
