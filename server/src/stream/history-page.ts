import { inflateRawSync } from 'node:zlib';
import { isPlainFrame, type DeliveryFrame, type EventEnvelope, type PlainFrame } from '@roomwire/shared';

/** Where a history page starts: before event `index` of the entry at `offset` (0: before the whole entry). */
export interface HistoryCursor {
  offset: string;
  index: number;
}

/** What a history read asks a log for. */
export interface HistoryQuery {
  /** Events wanted, 1..100. */
  limit: number;
  /** Only events older than this cursor; from the newest when absent. */
  before?: HistoryCursor;
  /** How old an entry may be and still count as history (the replay window), in ms. */
  windowMs: number;
}

/** A page read from a log: envelopes newest first, and the cursor of the next (older) page. */
export interface HistoryResult {
  events: EventEnvelope[];
  next: string | null;
}

/** Most index entries one history read looks at beyond the page itself (entries trimmed meanwhile are skipped). */
export const HISTORY_SCAN_SLACK = 64;

/** A frame as read back from a log, inflated if it was stored compressed. */
export function plainFrameOf(frame: DeliveryFrame): PlainFrame {
  if (isPlainFrame(frame)) return frame;
  const bytes = frame.z instanceof Uint8Array ? frame.z : new Uint8Array(frame.z);
  const parsed: unknown = JSON.parse(inflateRawSync(bytes).toString('utf8'));
  return isPlainFrame(parsed) ? parsed : { events: [] };
}

/**
 * Cuts one page out of the entries a log found, newest entry first. Within an entry events are in
 * publish order, so they are taken from its end; the cursor of an entry cut in the middle names the
 * event to continue before (`offset:index`). `more`: the log stopped before its end (page full, or its
 * scan budget spent) after looking at the entry `lastScanned`, so a next page may exist.
 */
export function historyPage(entries: { offset: string; frame: PlainFrame }[], query: HistoryQuery, more: { lastScanned: string } | false): HistoryResult {
  const events: EventEnvelope[] = [];
  for (const entry of entries) {
    const start = query.before !== undefined && query.before.offset === entry.offset && query.before.index > 0 ? query.before.index : entry.frame.events.length;
    for (let i = Math.min(start, entry.frame.events.length) - 1; i >= 0; i--) {
      if (events.length === query.limit) return { events, next: `${entry.offset}:${i + 1}` };
      events.push(entry.frame.events[i] as EventEnvelope);
    }
  }
  // Stopped early (full, or the scan budget spent): the next page starts after what was looked at.
  return { events, next: more === false || more.lastScanned === '' ? null : more.lastScanned };
}
