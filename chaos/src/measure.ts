import type { Receiver } from './fleet';
import type { PublishRecord } from './load';

/** One fault injected during a scenario: from `at` to `endAt` (equal for an instant fault such as SIGKILL). */
export interface FaultRecord {
  label: string;
  at: number;
  endAt: number;
  /**
   * When the next fault hitting the same client began (its next network cut): a client that had not
   * recovered by then is counted as interrupted, not as a slow recovery.
   */
  nextAt?: number;
}

/** What the clients of one class saw. */
export interface ClassCounts {
  clients: number;
  /** Events stored by the publisher (publish resolved); each is owed to every client of the class. */
  published: number;
  /** Events handed to the apps (first time), summed over the clients. */
  delivered: number;
  /** Owed events never handed to the app and not covered by a later resync signal: silent loss. */
  lost: number;
  /** Owed events not handed to the app but published before a resync signal the client got (allowed). */
  gapCoveredByResync: number;
  /** Events handed to an app more than once. */
  duplicatedToApp: number;
  /** Events handed to an app after a later one. */
  outOfOrder: number;
  /** Times a client's connection dropped, summed over the clients. */
  disconnects: number;
  /** Resync signals (`onResync` calls), summed over the clients. */
  resyncSignals: number;
  /** Clients that got at least one resync signal. */
  clientsResynced: number;
  /** Clients that got an event whose publish was reported as failed (stored although the caller saw an error). */
  clientsWithFailedPublish: number;
  /** Longest time any client of the class went without a new event while events were being published, ms. */
  longestStallMs: number;
  /**
   * Time from the end of a fault until a client of the class gets its first event published after it,
   * ms: the worst over faults and clients, and the median over clients of each one's worst.
   */
  recoveryMs: { max: number; median: number } | null;
}

/** Sequence numbers owed to clients: publishes that resolved. */
export function storedSeqs(records: readonly PublishRecord[]): number[] {
  const seqs: number[] = [];
  records.forEach((r, seq) => {
    if (r.ok) seqs.push(seq);
  });
  return seqs;
}

/** Why: the publisher may still be reconnecting when a fault ends; a stored publish that started after `at` shows it is back. */
export function storedSince(records: readonly PublishRecord[], at: number): boolean {
  for (let seq = records.length - 1; seq >= 0; seq--) {
    const record = records[seq] as PublishRecord;
    if (record.startedAt < at) return false;
    if (record.ok) return true;
  }
  return false;
}

/**
 * Events whose publish was reported as failed but that some clients got while others, with no resync
 * signal to excuse it, did not: a publish that was half delivered.
 */
export function halfDelivered(receivers: readonly Receiver[], records: readonly PublishRecord[]): number {
  let count = 0;
  records.forEach((record, seq) => {
    if (record.ok) return;
    let got = 0;
    let missing = 0;
    for (const r of receivers) {
      if ((r.arrivals[seq] ?? 0) !== 0) got += 1;
      else if (record.startedAt >= (r.resyncs.at(-1) ?? 0)) missing += 1;
    }
    if (got > 0 && missing > 0) count += 1;
  });
  return count;
}

/** Whether `receiver` has every stored event, or a resync signal after it was published. */
export function caughtUp(receiver: Receiver, records: readonly PublishRecord[], stored: readonly number[]): boolean {
  const lastResync = receiver.resyncs.at(-1) ?? 0;
  for (const seq of stored) {
    if ((receiver.arrivals[seq] ?? 0) === 0 && (records[seq] as PublishRecord).startedAt >= lastResync) return false;
  }
  return true;
}

/** How one client left a frozen node: ms from the freeze until it dropped the connection, and until it was connected again. */
export interface Move {
  receiver: Receiver;
  noticedMs: number;
  /** Null when it was not connected again before `until`. */
  movedMs: number | null;
}

/**
 * The clients whose connection dropped between `at` (a node was frozen) and `until`: when each
 * noticed (its state left `connected`) and when it was `connected` again, i.e. on another node and
 * resumed, both in ms from `at`.
 */
export function movesAfter(receivers: readonly Receiver[], at: number, until: number): Move[] {
  const moves: Move[] = [];
  for (const receiver of receivers) {
    const lost = receiver.states.find((s) => s.at >= at && s.at < until && s.to !== 'connected');
    if (!lost) continue;
    const back = receiver.states.find((s) => s.at >= lost.at && s.at < until && s.to === 'connected');
    moves.push({ receiver, noticedMs: lost.at - at, movedMs: back ? back.at - at : null });
  }
  return moves;
}

/** Smallest, median and largest of `values`, for a report line. */
export function spread(values: readonly number[]): { min: number; median: number; max: number } {
  if (values.length === 0) return { min: 0, median: 0, max: 0 };
  return { min: Math.min(...values), median: median([...values]), max: Math.max(...values) };
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

/**
 * Counts what the clients of one class saw. "Lost" is strict: an event stored by the publisher and
 * never handed to the app counts as lost unless the client later got a resync signal, i.e. the event's
 * publish started before the client's last resync signal (the app reloads its state then). An event
 * whose publish started after that signal must arrive. Publishes that failed are not owed.
 */
export function countClass(
  receivers: readonly Receiver[],
  records: readonly PublishRecord[],
  faultsOf: (receiver: Receiver) => readonly FaultRecord[],
): ClassCounts {
  const stored = storedSeqs(records);
  const failed = records.map((r, seq) => (r.ok ? -1 : seq)).filter((seq) => seq >= 0);
  const counts: ClassCounts = {
    clients: receivers.length,
    published: stored.length,
    delivered: 0,
    lost: 0,
    gapCoveredByResync: 0,
    duplicatedToApp: 0,
    outOfOrder: 0,
    disconnects: 0,
    resyncSignals: 0,
    clientsResynced: 0,
    clientsWithFailedPublish: 0,
    longestStallMs: 0,
    recoveryMs: null,
  };
  const firstStart = records[0]?.startedAt ?? 0;
  const lastStart = records.at(-1)?.startedAt ?? 0;
  const worstPerClient: number[] = [];
  for (const r of receivers) {
    const lastResync = r.resyncs.at(-1) ?? 0;
    const times: number[] = [];
    for (const seq of stored) {
      const at = r.arrivals[seq] ?? 0;
      if (at !== 0) {
        counts.delivered += 1;
        times.push(at);
      } else if ((records[seq] as PublishRecord).startedAt < lastResync) counts.gapCoveredByResync += 1;
      else counts.lost += 1;
    }
    if (failed.some((seq) => (r.arrivals[seq] ?? 0) !== 0)) counts.clientsWithFailedPublish += 1;
    counts.duplicatedToApp += r.duplicates;
    counts.outOfOrder += r.outOfOrder;
    counts.resyncSignals += r.resyncs.length;
    counts.disconnects += r.client.metrics().totalDisconnects;
    if (r.resyncs.length > 0) counts.clientsResynced += 1;
    times.sort((a, b) => a - b);
    let previous = firstStart;
    for (const t of times) {
      if (t > lastStart) break;
      counts.longestStallMs = Math.max(counts.longestStallMs, t - previous);
      previous = t;
    }
    let worst = -1;
    for (const fault of faultsOf(r)) {
      let first = Infinity;
      for (const seq of stored) {
        if ((records[seq] as PublishRecord).startedAt < fault.endAt) continue;
        const at = r.arrivals[seq] ?? 0;
        if (at !== 0) first = Math.min(first, at);
      }
      if (Number.isFinite(first) && !(fault.nextAt !== undefined && first > fault.nextAt)) worst = Math.max(worst, first - fault.endAt);
    }
    if (worst >= 0) worstPerClient.push(worst);
  }
  if (worstPerClient.length > 0) counts.recoveryMs = { max: Math.max(...worstPerClient), median: median(worstPerClient) };
  return counts;
}
