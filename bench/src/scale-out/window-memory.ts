import { createPublisher } from '@roomwire/server';
import { totalCpuSeconds } from '../measure/proc-stats';
import { closedLoop } from './closed-loop';
import { startFleet } from './fleet';
import { EVENT_TYPE, openStreamProbe, orgName, payloadOf, SERVICE } from './workload';

/** Options of {@link measureWindowMemory}. */
export interface WindowMemoryOptions {
  masters: number;
  streamPartitions: number;
  orgs: number;
  /** The cluster-wide event rate whose 5-minute window is filled. */
  eventsPerSecond: number;
  /** The window's length, in s. */
  windowS: number;
  /** At most this many entries are written; a larger window is extrapolated from the bytes per entry. */
  maxEntries: number;
  payloadBytes: number;
  /** Publishes in flight while filling. */
  concurrency: number;
  log(line: string): void;
}

/** One master's share of the window. */
export interface MasterMemory {
  port: number;
  partitions: number[];
  /** Entries in its partition streams. */
  entries: number;
  /** Σ `MEMORY USAGE <stream>` of its partitions. */
  streamBytes: number;
  /** Δ `used_memory` from before filling to after. */
  usedMemoryDeltaBytes: number;
  /** streamBytes ÷ (total streamBytes ÷ masters): 1 is an exact third on 3 masters. */
  shareOfEven: number;
}

/** The window-memory measurement. */
export interface WindowMemoryResult {
  masters: number;
  streamPartitions: number;
  orgs: number;
  eventsPerSecond: number;
  windowS: number;
  /** rate × window. */
  windowEntries: number;
  /** What was written (≤ windowEntries; less means the whole-window figures are extrapolated). */
  entriesWritten: number;
  extrapolated: boolean;
  payloadBytes: number;
  /** Publishes in flight while filling. */
  concurrency: number;
  fillS: number;
  /** Σ stream MEMORY USAGE ÷ entries. */
  streamBytesPerEntry: number;
  /** Σ Δ used_memory ÷ entries. */
  usedMemoryBytesPerEntry: number;
  /** Whole-window Redis memory, all masters (bytes per entry × window entries). */
  windowBytes: number;
  /** Redis CPU (every master) while filling, per entry, in µs. */
  redisCpuUsPerEntry: number;
  perMaster: MasterMemory[];
  /** The largest |shareOfEven − 1|. */
  worstDeviation: number;
}

/**
 * Fills a replay window's worth of one-event entries (batching off, `payloadBytes` of JSON each, orgs in
 * turn) into a Redis Cluster of `masters` masters through `createPublisher`, then reads each partition
 * stream's `MEMORY USAGE` and each master's `used_memory`.
 */
export async function measureWindowMemory(options: WindowMemoryOptions): Promise<WindowMemoryResult> {
  const windowEntries = Math.round(options.eventsPerSecond * options.windowS);
  const entries = Math.min(windowEntries, options.maxEntries);
  options.log(
    `[scale-out] window memory: ${options.masters} masters, ${options.streamPartitions} partitions, ${options.orgs} orgs, ${entries} of ${windowEntries} entries (${options.eventsPerSecond}/s × ${options.windowS} s)`,
  );
  const fleet = await startFleet({ redis: { kind: 'cluster', masters: options.masters }, nodeCount: 0, streamPartitions: options.streamPartitions });
  const probe = await openStreamProbe(fleet);
  try {
    const publisher = await createPublisher({ ...fleet.publisherTarget, streamPartitions: options.streamPartitions, batching: false });
    // The publisher's scripts and connections exist before the baseline is read.
    await publisher.to(orgName(0), SERVICE).emit(EVENT_TYPE, payloadOf(0, options.payloadBytes));
    const usedBefore = await probe.usedMemory();
    const lengthsBefore = new Map((await probe.streams()).map((s) => [s.partition, s.length]));
    const pids = fleet.redis.map((r) => r.pid);
    const cpuBefore = totalCpuSeconds(pids);
    const run = await closedLoop({
      concurrency: options.concurrency,
      durationMs: 600_000,
      maxCalls: entries,
      send: (seq) => publisher.to(orgName(seq % options.orgs), SERVICE).emit(EVENT_TYPE, payloadOf(seq, options.payloadBytes)),
    });
    const cpuS = totalCpuSeconds(pids) - cpuBefore;
    await publisher.close();
    if (run.failed > 0) throw new Error(`${run.failed} of ${entries} publishes failed while filling the window: ${run.firstFailure}`);
    const usedAfter = await probe.usedMemory();
    const streams = await probe.streams();
    const written = streams.reduce((sum, s) => sum + s.length - (lengthsBefore.get(s.partition) ?? 0), 0);
    const totalStreamBytes = streams.reduce((sum, s) => sum + s.memoryBytes, 0);
    const totalLength = streams.reduce((sum, s) => sum + s.length, 0);
    const perMaster: MasterMemory[] = fleet.redis.map((r) => {
      const mine = streams.filter((s) => s.port === r.port);
      const streamBytes = mine.reduce((sum, s) => sum + s.memoryBytes, 0);
      return {
        port: r.port,
        partitions: mine.map((s) => s.partition),
        entries: mine.reduce((sum, s) => sum + s.length, 0),
        streamBytes,
        usedMemoryDeltaBytes: (usedAfter.get(r.port) ?? 0) - (usedBefore.get(r.port) ?? 0),
        shareOfEven: totalStreamBytes > 0 ? streamBytes / (totalStreamBytes / fleet.redis.length) : 0,
      };
    });
    const usedDelta = perMaster.reduce((sum, m) => sum + m.usedMemoryDeltaBytes, 0);
    const streamBytesPerEntry = totalStreamBytes / totalLength;
    const result: WindowMemoryResult = {
      masters: options.masters,
      streamPartitions: options.streamPartitions,
      orgs: options.orgs,
      eventsPerSecond: options.eventsPerSecond,
      windowS: options.windowS,
      windowEntries,
      entriesWritten: written,
      extrapolated: written < windowEntries,
      payloadBytes: options.payloadBytes,
      concurrency: options.concurrency,
      fillS: run.elapsedMs / 1000,
      streamBytesPerEntry,
      usedMemoryBytesPerEntry: usedDelta / written,
      windowBytes: streamBytesPerEntry * windowEntries,
      redisCpuUsPerEntry: (cpuS * 1e6) / written,
      perMaster,
      worstDeviation: Math.max(...perMaster.map((m) => Math.abs(m.shareOfEven - 1))),
    };
    options.log(
      `  ${written} entries in ${result.fillS.toFixed(1)} s; ${streamBytesPerEntry.toFixed(0)} B per entry (streams), ${result.usedMemoryBytesPerEntry.toFixed(0)} B (used_memory); ` +
        `per master ${perMaster.map((m) => `${(m.streamBytes / 2 ** 20).toFixed(1)} MiB (${m.partitions.length} partitions, ×${m.shareOfEven.toFixed(2)})`).join(' / ')}`,
    );
    return result;
  } finally {
    await probe.close();
    await fleet.stop();
  }
}
