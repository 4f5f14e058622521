/**
 * Remembers delivered event ids for a time (the replay window) and up to a count, whichever ends
 * first. Ids are kept in arrival order in a queue (with one fixed TTL that is also expiry order) and
 * in a Set for lookups, so insert, lookup and expiry are O(1) amortised: expired or surplus ids are
 * always at the front of the queue.
 *
 * Why not a Map iterated from the front: V8 leaves a deleted Map entry as a hole until the table is
 * rebuilt, and an iterator walks over every hole, so a full cache that evicts its oldest id on each
 * insert paid ~12 µs per event (10 000 entries) — more than Socket.IO's own work per message.
 */
export class DedupCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #seen = new Set<string>();
  /** The ids of `#seen` in arrival order, from `#head` on, with when each expires. */
  #ids: string[] = [];
  #expiries: number[] = [];
  #head = 0;

  constructor(options: { ttlMs: number; maxEntries: number; now?: () => number }) {
    if (!(options.ttlMs > 0) || !(options.maxEntries > 0)) throw new TypeError('DedupCache: ttlMs and maxEntries must be positive');
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    // A monotonic clock: a wall clock set forward would expire every id at once and let duplicates through.
    this.#now = options.now ?? (() => performance.now());
  }

  /** Number of ids remembered. */
  get size(): number {
    return this.#seen.size;
  }

  /** Records `id`; returns false when it was already seen within the window (a duplicate). */
  add(id: string): boolean {
    const now = this.#now();
    this.#expire(now);
    if (this.#seen.has(id)) return false;
    if (this.#seen.size >= this.#maxEntries) this.#dropOldest();
    this.#seen.add(id);
    this.#ids.push(id);
    this.#expiries.push(now + this.#ttlMs);
    return true;
  }

  /** Whether `id` was seen within the window. */
  has(id: string): boolean {
    this.#expire(this.#now());
    return this.#seen.has(id);
  }

  #expire(now: number): void {
    while (this.#head < this.#ids.length && (this.#expiries[this.#head] as number) <= now) this.#dropOldest();
  }

  #dropOldest(): void {
    this.#seen.delete(this.#ids[this.#head] as string);
    this.#head += 1;
    // Compact once the dropped half outweighs the rest: amortised O(1), at most twice the live ids held.
    if (this.#head >= 16 && this.#head * 2 > this.#ids.length) {
      this.#ids = this.#ids.slice(this.#head);
      this.#expiries = this.#expiries.slice(this.#head);
      this.#head = 0;
    }
  }
}
