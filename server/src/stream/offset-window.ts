import { compareOffsets, Fifo } from '@roomwire/shared';

/**
 * Entries in offset order that leave from the front (a {@link Fifo}), with lookups by offset by
 * binary search. Remembers the offset of the last entry evicted, so callers can tell whether a range
 * is still whole.
 */
export class OffsetWindow<T extends { offset: string }> {
  readonly #entries = new Fifo<T>();
  #evictedThrough: string | null = null;

  /** Number of entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Array slots in use, evicted ones included (what the window costs in memory). */
  get slots(): number {
    return this.#entries.slots;
  }

  /** Offset of the newest entry evicted so far; `null` before any. */
  get evictedThrough(): string | null {
    return this.#evictedThrough;
  }

  /** Appends the next (newest) entry. */
  push(entry: T): void {
    this.#entries.push(entry);
  }

  /** Evicts oldest entries while `shouldEvict(oldest)` holds; calls `onEvict` for each. */
  evictWhile(shouldEvict: (oldest: T) => boolean, onEvict?: (evicted: T) => void): void {
    this.#entries.evictWhile(shouldEvict, (evicted) => {
      this.#evictedThrough = evicted.offset;
      onEvict?.(evicted);
    });
  }

  /** Up to `count` entries after `offset` (exclusive), oldest first. */
  after(offset: string, count: number): T[] {
    const out: T[] = [];
    for (let i = this.#firstAfter(offset); i < this.#entries.size && out.length < count; i++) out.push(this.#entries.at(i) as T);
    return out;
  }

  /** Up to `count` entries after `offset` (exclusive) and up to `through` (inclusive), oldest first. */
  range(offset: string, through: string, count: number): T[] {
    const out: T[] = [];
    for (let i = this.#firstAfter(offset); i < this.#entries.size && out.length < count; i++) {
      const entry = this.#entries.at(i) as T;
      if (compareOffsets(entry.offset, through) > 0) break;
      out.push(entry);
    }
    return out;
  }

  /**
   * Visits entries newest first, from the newest at or before `from` (before it, unless `inclusive`;
   * from the newest when `from` is undefined), while `visit` returns true.
   */
  newestFirst(from: string | undefined, inclusive: boolean, visit: (entry: T) => boolean): void {
    let i = from === undefined ? this.#entries.size - 1 : this.#firstAfter(from) - 1;
    if (from !== undefined && !inclusive && i >= 0 && (this.#entries.at(i) as T).offset === from) i -= 1;
    for (; i >= 0; i--) if (!visit(this.#entries.at(i) as T)) return;
  }

  /** Position (from the oldest) of the first entry after `offset` (binary search). */
  #firstAfter(offset: string): number {
    let lo = 0;
    let hi = this.#entries.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareOffsets((this.#entries.at(mid) as T).offset, offset) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
