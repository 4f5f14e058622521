import { compareOffsets } from '@roomwire/shared';
import type { EncodedFrame } from '../stream/adapter-message';
import type { LogEntry, LogPage } from '../stream/event-log';

/** Bounds of the tail cache. */
export interface TailCacheOptions {
  /** Oldest entry kept, as an age in ms. */
  maxAgeMs: number;
  /** Most bytes kept (size of the entries' JSON). */
  maxBytes: number;
}

interface Cached {
  offset: string;
  frame: EncodedFrame;
  bytes: number;
  at: number;
}

/**
 * The recent durable entries this node's stream reader has delivered, in order. Reconnecting clients
 * whose position falls inside it are replayed from memory: a recovery storm costs Redis nothing, and
 * every socket shares the one read the node already made. Older positions are read from Redis in pages.
 */
export class TailCache {
  readonly #opts: TailCacheOptions;
  #entries: (Cached | undefined)[] = [];
  #first = 0;
  #bytes = 0;
  /** Every durable entry after this offset is in the cache; `null` until the reader is known to be live. */
  #coveredAfter: string | null = null;

  constructor(options: TailCacheOptions) {
    this.#opts = options;
  }

  /** Starts coverage at `offset`, the reader's position once it is known to be live. */
  start(offset: string): void {
    this.#coveredAfter ??= offset;
  }

  /** Number of entries held. */
  get size(): number {
    return this.#entries.length - this.#first;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds the next durable entry the reader delivered (kept encoded: parsed only if replayed). */
  append(offset: string, frame: EncodedFrame, bytes: number): void {
    if (this.#coveredAfter === null) return;
    const now = Date.now();
    this.#entries.push({ offset, frame, bytes, at: now });
    this.#bytes += bytes;
    this.#evict(now);
  }

  /** Why: a replay may come from memory only if nothing after `offset` has left the cache. */
  covers(offset: string): boolean {
    this.#evict(Date.now());
    return this.#coveredAfter !== null && compareOffsets(offset, this.#coveredAfter) >= 0;
  }

  /** Up to `count` entries after `offset` (exclusive), oldest first. */
  readAfter(offset: string, count: number): LogPage {
    const entries: LogEntry[] = [];
    for (let i = this.#indexAfter(offset); i < this.#entries.length && entries.length < count; i++) {
      const { offset: o, frame } = this.#entries[i] as Cached;
      entries.push({ offset: o, rooms: frame.rooms, frame: frame.frame() });
    }
    return { entries, cursor: entries.length > 0 ? (entries[entries.length - 1] as LogEntry).offset : null };
  }

  #indexAfter(offset: string): number {
    let lo = this.#first;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareOffsets((this.#entries[mid] as Cached).offset, offset) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #evict(now: number): void {
    const minAt = now - this.#opts.maxAgeMs;
    while (this.#first < this.#entries.length) {
      const oldest = this.#entries[this.#first] as Cached;
      if (oldest.at >= minAt && this.#bytes <= this.#opts.maxBytes) break;
      this.#coveredAfter = oldest.offset;
      this.#bytes -= oldest.bytes;
      this.#entries[this.#first] = undefined;
      this.#first += 1;
    }
    if (this.#first > 1024 && this.#first * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#first);
      this.#first = 0;
    }
  }
}
