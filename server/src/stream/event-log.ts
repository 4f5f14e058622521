import type { DeliveryFrame, PlainFrame, StreamPosition } from '@roomwire/shared';
import type { HistoryQuery, HistoryResult } from './history-page';

/** One durable frame read back from the log, with the rooms it was sent to, in its wire form. */
export interface LogEntry {
  offset: string;
  rooms: string[];
  frame: DeliveryFrame;
}

/** What an append did: the new offset, or the earlier result of the same idempotency key. */
export interface AppendResult {
  /** Offset of the entry; `null` for volatile frames, which are not kept for replay. */
  offset: string | null;
  /** Set when the idempotency key was seen within the window: nothing was appended. */
  duplicateOf?: { id: string; offset: string | null };
}

/** Options of one append. */
export interface AppendOptions {
  volatile: boolean;
  /** Idempotency key and the id of the (single) event it guards. */
  idempotency?: { key: string; eventId: string };
}

/** A page of the log, oldest first. `cursor` is the last entry id read, to continue from. */
export interface LogPage {
  entries: LogEntry[];
  cursor: string | null;
}

/**
 * Whether every durable entry after a position is still in the log. `unknown-position`: the log has no
 * entry at that offset although it should (beyond its head, or lost): it moved backwards, or the
 * position was never one the server gave.
 */
export type Recoverability = { ok: true } | { ok: false; reason: 'stream-reset' | 'trimmed' | 'unknown-position' };

/** Where published frames go: appended to the log of the room's partition. */
export interface EventSink {
  /** Appends one frame for one room; resolves once the entry is stored. */
  append(room: string, frame: PlainFrame, options: AppendOptions): Promise<AppendResult>;
}

/**
 * One partition's ordered event log: a Redis stream (one per partition), or, for a lone node, an
 * in-memory log. Publishing appends to it; recovery reads it.
 */
export interface EventLog extends EventSink {
  /** The current epoch of the log (see {@link StreamPosition}). */
  epoch(): Promise<string>;
  /** The newest entry id of the log, with the epoch. */
  head(): Promise<StreamPosition>;
  /** Why: a replay may only start where no entry after it has been trimmed, in the same epoch. */
  canRecoverFrom(position: StreamPosition): Promise<Recoverability>;
  /** Reads up to `count` entries after `offset` (exclusive); durable Roomwire frames only. */
  readAfter(offset: string, count: number): Promise<LogPage>;
  /**
   * A page of one service room's durable events within the window, newest first, read without
   * scanning the other rooms' entries (an index per room; the cost grows with the page).
   */
  history(room: string, query: HistoryQuery): Promise<HistoryResult>;
}
