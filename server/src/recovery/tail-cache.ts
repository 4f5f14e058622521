import { compareOffsets, Fifo } from '@roomwire/shared';
import type { EncodedFrame } from '../stream/stream-entry';
import { OffsetWindow } from '../stream/offset-window';
import type { LogEntry } from '../stream/event-log';

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
 * The recent durable entries this node's stream reader has delivered, in order, and indexed by room.
 * Reconnecting clients whose position falls inside it are replayed from memory: a recovery storm costs
 * Redis nothing, every socket shares the one read the node already made, and a replay costs in
 * proportion to its own rooms' entries (not to everything published meanwhile). Older positions are
 * read from Redis in pages.
 */
export class TailCache {
  readonly #opts: TailCacheOptions;
  /** Every entry in arrival (offset) order; eviction goes by it. */
  readonly #window = new Fifo<Cached>();
  /** The same entries per room, searchable by offset (an entry in several rooms is in each of their windows). */
  readonly #rooms = new Map<string, OffsetWindow<Cached>>();
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

  /** Number of rooms with entries held. */
  get roomCount(): number {
    return this.#rooms.size;
  }

  /** Adds the next durable entry the reader delivered (kept encoded: parsed only if replayed). */
  append(offset: string, frame: EncodedFrame): void {
    if (this.#coveredAfter === null) return;
    const now = Date.now();
    const bytes = frame.bytes;
    const entry = { offset, frame, bytes, at: now };
    this.#window.push(entry);
    for (const room of distinct(frame.rooms)) {
      let roomWindow = this.#rooms.get(room);
      if (!roomWindow) this.#rooms.set(room, (roomWindow = new OffsetWindow<Cached>()));
      roomWindow.push(entry);
    }
    this.#bytes += bytes;
    this.#evict(now);
  }

  /** Why: a replay may come from memory only if nothing after `offset` has left the cache. */
  covers(offset: string): boolean {
    this.#evict(Date.now());
    return this.#coveredAfter !== null && compareOffsets(offset, this.#coveredAfter) >= 0;
  }

  /**
   * The entries of any of `rooms` after `offset` (exclusive) up to `through` (inclusive), oldest first,
   * each once; at most `limit` of them (a caller that gets `limit` back may have been cut short).
   */
  readRooms(rooms: readonly string[], offset: string, through: string, limit: number): LogEntry[] {
    const found = new Set<Cached>();
    for (const room of distinct(rooms)) {
      for (const entry of this.#rooms.get(room)?.range(offset, through, limit) ?? []) found.add(entry);
    }
    const ordered = [...found];
    if (rooms.length > 1) ordered.sort((a, b) => compareOffsets(a.offset, b.offset));
    return ordered.slice(0, limit).map(({ offset: o, frame }) => ({ offset: o, rooms: frame.rooms, frame: frame.frame() }));
  }

  #evict(now: number): void {
    const minAt = now - this.#opts.maxAgeMs;
    this.#window.evictWhile(
      (oldest) => oldest.at < minAt || this.#bytes > this.#opts.maxBytes,
      (evicted) => {
        this.#coveredAfter = evicted.offset;
        this.#bytes -= evicted.bytes;
        for (const room of distinct(evicted.frame.rooms)) {
          const roomWindow = this.#rooms.get(room);
          if (!roomWindow) continue;
          // Entries leave every window in the order they came: the evicted one is each room's oldest.
          roomWindow.evictWhile((oldest) => oldest === evicted);
          if (roomWindow.size === 0) this.#rooms.delete(room);
        }
      },
    );
  }
}

/** `rooms` without repeats; the array itself in the usual case of one room (no Set on every entry). */
function distinct(rooms: readonly string[]): Iterable<string> {
  return rooms.length === 1 ? rooms : new Set(rooms);
}
