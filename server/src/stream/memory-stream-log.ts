import { randomUUID } from 'node:crypto';
import { compareOffsets, Fifo, type DeliveryFrame, type PlainFrame, type StreamPosition } from '@roomwire/shared';
import { wireFrameOf } from './frame-codec';
import { OffsetWindow } from './offset-window';
import { retentionMs } from './retention';
import type { AppendOptions, AppendResult, EventLog, LogEntry, LogPage, Recoverability } from './event-log';
import { historyPage, plainFrameOf, type HistoryQuery, type HistoryResult } from './history-page';

/** Most entries of other rooms one history read of the memory log steps over before it answers with a cursor. */
const MEMORY_HISTORY_SCAN_BUDGET = 10_000;

/** Sends a frame to the local sockets of a room (through the in-memory adapter, which calls `record`). */
export type LocalBroadcast = (room: string, frame: DeliveryFrame, volatile: boolean) => void;

/** Options of {@link MemoryStreamLog}. */
export interface MemoryStreamLogOptions {
  replayWindowMs: number;
  maxStreamLength: number;
  /** Most idempotency keys remembered at once. @default 100000 */
  maxIdempotencyKeys?: number;
  /** Frames at least this large (JSON bytes) are sent compressed; 0 = never. */
  compressFramesMinBytes: number;
}

/**
 * The event log of a lone node without Redis: the same contract as the Redis stream, bounded by the
 * replay window and a length cap. A restart starts a new epoch, so old positions resync.
 */
export class MemoryStreamLog implements EventLog {
  readonly #opts: Required<MemoryStreamLogOptions>;
  readonly #epoch = randomUUID();
  readonly #window = new OffsetWindow<LogEntry & { at: number }>();
  #lastOffset = '0-0';
  #lastMs = 0;
  #seq = 0;
  readonly #idempotency = new Map<string, { id: string; offset: string | null; expiresAt: number }>();
  /**
   * The keys in the order they were remembered, with their expiry (one TTL, so also expiry order):
   * the oldest leave from the front of this queue, not by iterating the Map (see {@link Fifo}).
   */
  readonly #idempotencyQueue = new Fifo<{ key: string; expiresAt: number }>();
  #broadcast: LocalBroadcast | undefined;

  constructor(options: MemoryStreamLogOptions) {
    this.#opts = { maxIdempotencyKeys: 100_000, ...options };
  }

  /** Connects the log to the node's Socket.IO server. */
  bind(broadcast: LocalBroadcast): void {
    this.#broadcast = broadcast;
  }

  /**
   * Every entry up to this offset has been delivered locally. Delivery is synchronous, so this moves
   * with the clock even when nothing is published (a quiet client's position stays recent); any entry
   * recorded later gets a larger offset.
   */
  get deliveredOffset(): string {
    const now = `${Math.max(this.#lastMs, Date.now() - 1)}-0`;
    return compareOffsets(now, this.#lastOffset) > 0 ? now : this.#lastOffset;
  }

  /** The log's epoch (it lives as long as the process). */
  get currentEpoch(): string {
    return this.#epoch;
  }

  /** Offset of the newest entry. */
  get lastOffset(): string {
    return this.#lastOffset;
  }

  /** Stores a durable frame as it is broadcast and returns its offset. Called by the memory adapter. */
  record(rooms: string[], frame: DeliveryFrame): string {
    const now = Date.now();
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#seq = 0;
    } else {
      this.#seq += 1;
    }
    const offset = `${this.#lastMs}-${this.#seq}`;
    this.#window.push({ offset, rooms, frame, at: now });
    this.#lastOffset = offset;
    this.#trim(now);
    return offset;
  }

  async append(room: string, frame: PlainFrame, options: AppendOptions): Promise<AppendResult> {
    if (!this.#broadcast) throw new Error('MemoryStreamLog: bind() was not called');
    const now = Date.now();
    if (options.idempotency) {
      const prior = this.#idempotency.get(options.idempotency.key);
      if (prior && prior.expiresAt > now) return { offset: prior.offset, duplicateOf: { id: prior.id, offset: prior.offset } };
    }
    this.#broadcast(room, options.volatile ? frame : wireFrameOf(frame, { minBytes: this.#opts.compressFramesMinBytes }), options.volatile);
    const offset = options.volatile ? null : this.#lastOffset;
    if (options.idempotency) this.#remember(options.idempotency.key, options.idempotency.eventId, offset, now);
    return { offset };
  }

  async epoch(): Promise<string> {
    return this.#epoch;
  }

  async head(): Promise<StreamPosition> {
    return { epoch: this.#epoch, offset: this.#lastOffset };
  }

  async canRecoverFrom(position: StreamPosition): Promise<Recoverability> {
    if (position.epoch !== this.#epoch) return { ok: false, reason: 'stream-reset' };
    // Nothing this log handed out is past what it has delivered.
    if (compareOffsets(position.offset, this.deliveredOffset) > 0) return { ok: false, reason: 'unknown-position' };
    this.#trim(Date.now());
    const trimmedThrough = this.#window.evictedThrough;
    return trimmedThrough === null || compareOffsets(position.offset, trimmedThrough) >= 0 ? { ok: true } : { ok: false, reason: 'trimmed' };
  }

  async readAfter(offset: string, count: number): Promise<LogPage> {
    const entries: LogEntry[] = this.#window.after(offset, count).map(({ offset: o, rooms, frame }) => ({ offset: o, rooms, frame }));
    return { entries, cursor: entries.length > 0 ? (entries[entries.length - 1] as LogEntry).offset : null };
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryResult> {
    const oldest = Date.now() - query.windowMs;
    const entries: { offset: string; frame: PlainFrame }[] = [];
    let events = 0;
    let scanned = 0;
    let stopped: { lastScanned: string } | false = false;
    const before = query.before;
    this.#window.newestFirst(before?.offset, before !== undefined && before.index > 0, (entry) => {
      if (entry.at < oldest) return false;
      scanned += 1;
      if (entry.rooms.includes(room)) {
        const frame = plainFrameOf(entry.frame);
        entries.push({ offset: entry.offset, frame });
        // The cursor's own entry counts only the events before the cursor.
        events += before !== undefined && before.index > 0 && entry.offset === before.offset ? Math.min(before.index, frame.events.length) : frame.events.length;
      }
      if (events >= query.limit || scanned >= MEMORY_HISTORY_SCAN_BUDGET) {
        stopped = { lastScanned: entry.offset };
        return false;
      }
      return true;
    });
    return historyPage(entries, query, stopped);
  }

  #trim(now: number): void {
    const minAt = now - retentionMs(this.#opts.replayWindowMs);
    this.#window.evictWhile((oldest) => oldest.at < minAt || this.#window.size > this.#opts.maxStreamLength);
  }

  #remember(key: string, id: string, offset: string | null, now: number): void {
    // A slot whose key was remembered again since (after it expired) no longer owns the Map entry.
    const owns = (slot: { key: string; expiresAt: number }): boolean => this.#idempotency.get(slot.key)?.expiresAt === slot.expiresAt;
    this.#idempotencyQueue.evictWhile(
      (oldest) => !owns(oldest) || oldest.expiresAt <= now || this.#idempotency.size >= this.#opts.maxIdempotencyKeys,
      (oldest) => {
        if (owns(oldest)) this.#idempotency.delete(oldest.key);
      },
    );
    const expiresAt = now + this.#opts.replayWindowMs;
    this.#idempotency.set(key, { id, offset, expiresAt });
    this.#idempotencyQueue.push({ key, expiresAt });
  }

  /** Number of idempotency keys remembered. */
  get idempotencyKeys(): number {
    return this.#idempotency.size;
  }
}
