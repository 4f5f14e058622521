/** Latency percentiles over the most recent events, in ms; `null` until an event has arrived. */
export interface LatencySummary {
  avg: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Number of events the figures are computed over. */
  samples: number;
}

/**
 * Keeps the latencies of the last `size` events in a ring buffer: recording is O(1) and never
 * allocates; percentiles sort a copy only when asked for.
 *
 * Latency is receive time minus the envelope's `ts` (the publish time on the server's clock), so
 * clock skew between the server and this device shifts every value by the skew: compare
 * percentiles over time on one device rather than reading one value as absolute.
 *
 * @example
 * const window = new LatencyWindow(1000);
 * window.record(Date.now() - envelope.ts);
 * window.summary().p95;
 */
export class LatencyWindow {
  readonly #values: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0) throw new TypeError('LatencyWindow: size must be a positive integer');
    this.#values = new Float64Array(size);
  }

  /** Records one latency, in ms, replacing the oldest once the window is full. */
  record(ms: number): void {
    this.#values[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#count < this.#values.length) this.#count += 1;
  }

  /** Average and nearest-rank percentiles of the recorded window. */
  summary(): LatencySummary {
    if (this.#count === 0) return { avg: null, p50: null, p95: null, p99: null, samples: 0 };
    const sorted = this.#values.slice(0, this.#count).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    const rank = (p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
    return { avg: sum / sorted.length, p50: rank(50), p95: rank(95), p99: rank(99), samples: sorted.length };
  }
}
