import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Sampling interval of the monitor, in ms. */
const RESOLUTION_MS = 10;

/**
 * Event-loop delay of this process, from `perf_hooks.monitorEventLoopDelay`. Node records the whole
 * interval between two samples (an idle loop reads ≈ the resolution), so the resolution is subtracted
 * to report the delay itself.
 */
export class EventLoopDelayMonitor {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.#histogram.enable();
  }

  /** Delay at percentile `p`, in ms. */
  percentileMs(p: number): number {
    return Math.max(0, this.#histogram.percentile(p) / 1e6 - RESOLUTION_MS);
  }

  /** Largest delay, in ms. */
  get maxMs(): number {
    return Math.max(0, this.#histogram.max / 1e6 - RESOLUTION_MS);
  }

  reset(): void {
    this.#histogram.reset();
  }
}
