/**
 * A first-in first-out queue whose items leave from the front, for windows and caches that expire
 * oldest first. Push, eviction and reads by position are O(1) (amortised: the array is compacted
 * once evicted slots outweigh live ones, from 16 on, so it holds at most about twice its items).
 *
 * Why not a Map iterated from the front: V8 keeps a deleted Map entry as a hole until the table is
 * rebuilt, and every iterator walks the holes, so a full Map evicting its oldest entry on each
 * insert costs time in proportion to its size.
 *
 * @example
 * const recent = new Fifo<{ id: string; expiresAt: number }>();
 * recent.push({ id, expiresAt: now + ttl });
 * recent.evictWhile((oldest) => oldest.expiresAt <= now, (gone) => ids.delete(gone.id));
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #first = 0;

  /** Number of items held. */
  get size(): number {
    return this.#items.length - this.#first;
  }

  /** Array slots in use, evicted ones included (what the queue costs in memory). */
  get slots(): number {
    return this.#items.length;
  }

  /** Appends the newest item. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The item `index` places after the oldest (0 = the oldest); `undefined` outside the queue. */
  at(index: number): T | undefined {
    return index >= 0 && index < this.size ? this.#items[this.#first + index] : undefined;
  }

  /** Evicts the oldest items while `shouldEvict(oldest)` holds; calls `onEvict` for each. */
  evictWhile(shouldEvict: (oldest: T) => boolean, onEvict?: (evicted: T) => void): void {
    while (this.#first < this.#items.length) {
      const oldest = this.#items[this.#first] as T;
      if (!shouldEvict(oldest)) break;
      this.#items[this.#first] = undefined;
      this.#first += 1;
      onEvict?.(oldest);
    }
    if (this.#first >= 16 && this.#first * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#first);
      this.#first = 0;
    }
  }
}
