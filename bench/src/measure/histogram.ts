/** Sub-buckets per power of two: 2^6 = 64. */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** 2^42 µs is about 51 days: far beyond anything a run can measure. */
const BUCKETS = SUB + (42 - SUB_BITS) * SUB;

/**
 * A log-linear (HDR-style) histogram of non-negative durations, recorded in microseconds with 64
 * sub-buckets per power of two: every value is kept within 1/64 (≈1.6 %) of its true value, and
 * values below 64 µs exactly. Fixed memory, O(1) record, and mergeable, so each load worker keeps its
 * own and the orchestrator adds them up.
 *
 * @example
 * const h = new Histogram();
 * h.recordMs(3.2);
 * h.percentileMs(99); // ≈ 3.2
 */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sumUs = 0;
  #maxUs = 0;

  /** Records one duration in milliseconds (negative values, from clock jitter, count as 0). */
  recordMs(ms: number): void {
    const us = ms > 0 ? Math.round(ms * 1000) : 0;
    const index = Histogram.#indexOf(us);
    this.#counts[index] = (this.#counts[index] as number) + 1;
    this.#count += 1;
    this.#sumUs += us;
    if (us > this.#maxUs) this.#maxUs = us;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.#count;
  }

  /** Largest recorded value, in ms (exact). */
  get maxMs(): number {
    return this.#maxUs / 1000;
  }

  /** Mean of the recorded values, in ms; 0 when empty. */
  get meanMs(): number {
    return this.#count === 0 ? 0 : this.#sumUs / this.#count / 1000;
  }

  /** The value at percentile `p` (0–100), in ms; `null` when empty. */
  percentileMs(p: number): number | null {
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i] as number;
      if (seen >= rank) return Math.min(Histogram.#midpointOf(i), this.#maxUs) / 1000;
    }
    return this.#maxUs / 1000;
  }

  /** Adds another histogram's values into this one. */
  merge(other: Histogram | HistogramJson): this {
    const data = other instanceof Histogram ? other.toJSON() : other;
    for (const [index, count] of data.buckets) this.#counts[index] = (this.#counts[index] as number) + count;
    this.#count += data.count;
    this.#sumUs += data.sumUs;
    if (data.maxUs > this.#maxUs) this.#maxUs = data.maxUs;
    return this;
  }

  /** Forgets every value. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sumUs = 0;
    this.#maxUs = 0;
  }

  /** A compact form (non-empty buckets only) to send over IPC. */
  toJSON(): HistogramJson {
    const buckets: [number, number][] = [];
    for (let i = 0; i < this.#counts.length; i++) {
      const count = this.#counts[i] as number;
      if (count > 0) buckets.push([i, count]);
    }
    return { count: this.#count, sumUs: this.#sumUs, maxUs: this.#maxUs, buckets };
  }

  /** Rebuilds a histogram from {@link toJSON}'s output. */
  static fromJSON(data: HistogramJson): Histogram {
    return new Histogram().merge(data);
  }

  /** The usual summary, in ms. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: this.percentileMs(50),
      p95: this.percentileMs(95),
      p99: this.percentileMs(99),
      max: this.#count === 0 ? null : this.maxMs,
      mean: this.#count === 0 ? null : this.meanMs,
    };
  }

  static #indexOf(us: number): number {
    if (us < SUB) return us;
    const exponent = Math.floor(Math.log2(us));
    const shift = exponent - SUB_BITS;
    const index = SUB + shift * SUB + ((us >> shift) - SUB);
    return Math.min(index, BUCKETS - 1);
  }

  static #midpointOf(index: number): number {
    if (index < SUB) return index;
    const shift = Math.floor((index - SUB) / SUB);
    const sub = (index - SUB) % SUB;
    const low = (SUB + sub) * 2 ** shift;
    return low + (2 ** shift - 1) / 2;
  }
}

/** The IPC form of a {@link Histogram}: `[bucket index, count]` pairs of non-empty buckets. */
export interface HistogramJson {
  count: number;
  sumUs: number;
  maxUs: number;
  buckets: [number, number][];
}

/** Percentiles of a latency distribution, in ms; `null` when nothing was recorded. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}
