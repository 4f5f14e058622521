import { errorText } from '../systems/session';
import type { SystemName } from '../systems/system-names';
import type { SuiteEnv } from './types';

export { errorText, withSession, type Session, type SessionOptions } from '../systems/session';

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
