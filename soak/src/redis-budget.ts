import { RETENTION_FACTOR } from '../../server/src/stream/retention';

/** What Redis may hold for the replay window, and how it was computed. */
export interface RedisBudget {
  /** Published payload bytes per second over the run. */
  payloadBytesPerSecond: number;
  /** How long the stream keeps entries: the replay window × 1.25, in s. */
  retentionS: number;
  /** Redis bytes allowed per retained payload byte. */
  overheadFactor: number;
  /** `used_memory` before any traffic, in bytes. */
  baselineBytes: number;
  floorBytes: number;
  /** `baseline + floor + payloadBytesPerSecond × retentionS × overheadFactor`, in bytes. */
  limitBytes: number;
}

/**
 * What the replay window needs in Redis: the payload bytes the stream retains (rate × window × 1.25)
 * times a per-byte overhead (envelope, stream entry fields, listpack), on top of the idle baseline plus a
 * fixed floor (sessions, rate-limit keys, client buffers).
 */
export function redisBudget(options: { payloadBytesPerSecond: number; replayWindowMs: number; overheadFactor: number; baselineBytes: number; floorBytes: number }): RedisBudget {
  const retentionS = (options.replayWindowMs * RETENTION_FACTOR) / 1000;
  return {
    payloadBytesPerSecond: options.payloadBytesPerSecond,
    retentionS,
    overheadFactor: options.overheadFactor,
    baselineBytes: options.baselineBytes,
    floorBytes: options.floorBytes,
    limitBytes: Math.round(options.baselineBytes + options.floorBytes + options.payloadBytesPerSecond * retentionS * options.overheadFactor),
  };
}

/** The overhead factor a run showed: retained bytes (above the baseline) per payload byte in the window. */
export function measuredOverheadFactor(usedBytes: number, budget: Pick<RedisBudget, 'baselineBytes' | 'payloadBytesPerSecond' | 'retentionS'>): number {
  const windowPayload = budget.payloadBytesPerSecond * budget.retentionS;
  return windowPayload > 0 ? (usedBytes - budget.baselineBytes) / windowPayload : Number.NaN;
}
