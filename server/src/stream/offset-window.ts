import { compareOffsets } from '@roomwire/shared';

/**
 * Entries in offset order that leave from the front: appends and evictions are O(1) amortised (the
 * array is compacted once half of it is gone), lookups by offset are a binary search. Remembers the
 * offset of the last entry evicted, so callers can tell whether a range is still whole.
 */
export class OffsetWindow<T extends { offset: string }> {
  #entries: (T | undefined)[] = [];
  #first = 0;
  #evictedThrough: string | null = null;

  /** Number of entries held. */
  get size(): number {
    return this.#entries.length - this.#first;
  }

  /** Array slots in use, evicted ones included (what the window costs in memory). */
  get slots(): number {
    return this.#entries.length;
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
    while (this.#first < this.#entries.length) {
      const oldest = this.#entries[this.#first] as T;
      if (!shouldEvict(oldest)) break;
      this.#evictedThrough = oldest.offset;
      onEvict?.(oldest);
      this.#entries[this.#first] = undefined;
      this.#first += 1;
    }
    // Compact once the evicted half outweighs what is left: amortised O(1), and never more than twice
    // the live entries in slots (a room's window in the tail cache holds few; thousands of them exist).
    if (this.#first >= 16 && this.#first * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#first);
      this.#first = 0;
    }
  }

  /** Up to `count` entries after `offset` (exclusive), oldest first. */
  after(offset: string, count: number): T[] {
    const lo = this.#firstAfter(offset);
    return this.#entries.slice(lo, lo + count) as T[];
  }

  /** Up to `count` entries after `offset` (exclusive) and up to `through` (inclusive), oldest first. */
  range(offset: string, through: string, count: number): T[] {
    const out: T[] = [];
    for (let i = this.#firstAfter(offset); i < this.#entries.length && out.length < count; i++) {
      const entry = this.#entries[i] as T;
      if (compareOffsets(entry.offset, through) > 0) break;
      out.push(entry);
    }
    return out;
  }

  /** Index of the first entry after `offset` (binary search). */
  #firstAfter(offset: string): number {
    let lo = this.#first;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareOffsets((this.#entries[mid] as T).offset, offset) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
