import type { ClientMetrics } from './create-client';

/** The global a page (or a test driving it) reads the metrics from. */
export const GLOBAL_METRICS_NAME = '__realtimeMetrics';

const sources: (() => ClientMetrics)[] = [];

/**
 * Makes `window.__realtimeMetrics()` return the metrics of the most recently created client that is
 * still open (or `null`). Returns a function that withdraws `source`.
 *
 * @example
 * const withdraw = exposeMetrics(() => client.metrics());
 */
export function exposeMetrics(source: () => ClientMetrics): () => void {
  if (typeof window === 'undefined') return () => undefined;
  sources.push(source);
  (window as unknown as Record<string, unknown>)[GLOBAL_METRICS_NAME] = () => sources[sources.length - 1]?.() ?? null;
  return () => {
    const index = sources.indexOf(source);
    if (index >= 0) sources.splice(index, 1);
  };
}
