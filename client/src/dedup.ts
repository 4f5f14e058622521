/**
 * Remembers delivered event ids for a time (the replay window) and up to a count, whichever ends
 * first. A Map keeps insertion order, which with one fixed TTL is also expiry order, so insert,
 * lookup and expiry are O(1) amortised: expired or surplus entries are always at the front.
 */
export class DedupCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #seen = new Map<string, number>();

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
    const expiresAt = this.#seen.get(id);
    if (expiresAt !== undefined && expiresAt > now) return false;
    this.#seen.delete(id);
    this.#seen.set(id, now + this.#ttlMs);
    if (this.#seen.size > this.#maxEntries) {
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
    return true;
  }

  /** Whether `id` was seen within the window. */
  has(id: string): boolean {
    const expiresAt = this.#seen.get(id);
    return expiresAt !== undefined && expiresAt > this.#now();
  }

  #expire(now: number): void {
    for (const [id, expiresAt] of this.#seen) {
      if (expiresAt > now) return;
      this.#seen.delete(id);
    }
  }
}
