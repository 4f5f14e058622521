import { compareOffsets } from '@roomwire/shared';
import type { EncodedFrame } from '../stream/adapter-message';
import { OffsetWindow } from '../stream/offset-window';
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
  readonly #window = new OffsetWindow<Cached>();
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
    return this.#window.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds the next durable entry the reader delivered (kept encoded: parsed only if replayed). */
  append(offset: string, frame: EncodedFrame, bytes: number): void {
    if (this.#coveredAfter === null) return;
    const now = Date.now();
    this.#window.push({ offset, frame, bytes, at: now });
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
    const entries: LogEntry[] = this.#window.after(offset, count).map(({ offset: o, frame }) => ({ offset: o, rooms: frame.rooms, frame: frame.frame() }));
    return { entries, cursor: entries.length > 0 ? (entries[entries.length - 1] as LogEntry).offset : null };
  }

  #evict(now: number): void {
    const minAt = now - this.#opts.maxAgeMs;
    this.#window.evictWhile(
      (oldest) => oldest.at < minAt || this.#bytes > this.#opts.maxBytes,
      (evicted) => {
        this.#coveredAfter = evicted.offset;
        this.#bytes -= evicted.bytes;
      },
    );
  }
}
