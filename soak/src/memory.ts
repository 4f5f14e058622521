/** One sample of every memory series, taken at `atMs` after traffic started. */
export interface MemorySample {
  atMs: number;
  /** Per node, in the order of the cluster's nodes; NaN when a scrape failed. */
  nodes: NodeMemory[];
  redisUsedBytes: number;
  /** Whether both nodes ran a full collection just before (see inspector-gc.ts). */
  collected: boolean;
}

/** The name of a memory series: `<node>.heap`, `<node>.rss` or `redis`. */
export type SeriesName = string;

/** One aggregation window of the samples. */
export interface MemoryWindow {
  startMs: number;
  endMs: number;
  samples: number;
  /** Per series, the window's statistic (see {@link windowStatistic}), in bytes. */
  values: Record<SeriesName, number>;
}

/** The growth check of one series: first post-warm-up window against the last window. */
export interface GrowthCheck {
  series: SeriesName;
  firstBytes: number;
  lastBytes: number;
  growth: number;
  pass: boolean;
}

/** One node's memory in a sample. */
export interface NodeMemory {
  heapUsedBytes: number;
  rssBytes: number;
  /** `nodejs_heap_space_size_used_bytes` by V8 space (old, code, new, large_object, ...): where growth is. */
  heapSpaces: Record<string, number>;
}

/** Reads one value of a Prometheus text exposition (`name{labels} value` or `name value`). */
export function promValue(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/** Scrapes a node's `/metrics` for `nodejs_heap_size_used_bytes`, `process_resident_memory_bytes` and the heap by space. */
export async function scrapeNodeMemory(url: string): Promise<NodeMemory> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    const heapSpaces: Record<string, number> = {};
    for (const match of text.matchAll(/^nodejs_heap_space_size_used_bytes\{[^}]*space="([^"]+)"[^}]*\} (\S+)/gm)) heapSpaces[match[1] as string] = Number(match[2]);
    return { heapUsedBytes: promValue(text, 'nodejs_heap_size_used_bytes'), rssBytes: promValue(text, 'process_resident_memory_bytes'), heapSpaces };
  } catch {
    return { heapUsedBytes: Number.NaN, rssBytes: Number.NaN, heapSpaces: {} };
  }
}

/** Every series of a sample, by name. */
export function seriesOf(sample: MemorySample, nodeNames: readonly string[]): Record<SeriesName, number> {
  const values: Record<SeriesName, number> = {};
  sample.nodes.forEach((node, i) => {
    values[`${nodeNames[i]}.heap`] = node.heapUsedBytes;
    values[`${nodeNames[i]}.rss`] = node.rssBytes;
  });
  values.redis = sample.redisUsedBytes;
  return values;
}

/**
 * Why the median: each sample follows a full collection, so it is the live heap plus what was allocated in
 * the few ms since; the median of a window ignores a sample that caught a burst (a replay, a batch of
 * handshakes). RSS and Redis memory are smooth; the median just ignores a spike. NaN samples (a failed
 * scrape) are left out.
 */
export function windowStatistic(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Groups samples into windows `[k·windowMs, (k+1)·windowMs)` that end by `durationMs`, and aggregates each series. */
export function memoryWindows(samples: readonly MemorySample[], nodeNames: readonly string[], windowMs: number, durationMs: number): MemoryWindow[] {
  const windows: MemoryWindow[] = [];
  for (let startMs = 0; startMs + windowMs <= durationMs; startMs += windowMs) {
    const inside = samples.filter((s) => s.atMs >= startMs && s.atMs < startMs + windowMs).map((s) => seriesOf(s, nodeNames));
    if (inside.length === 0) continue;
    const values: Record<SeriesName, number> = {};
    for (const name of Object.keys(inside[0] as Record<SeriesName, number>)) values[name] = windowStatistic(inside.map((v) => v[name] ?? Number.NaN));
    windows.push({ startMs, endMs: startMs + windowMs, samples: inside.length, values });
  }
  return windows;
}

/**
 * Why: a leak shows as memory still climbing once caches and the stream are full. Compares the last window
 * with the first window that starts after the warm-up; more than `maxGrowth` (a fraction) fails.
 */
export function growthChecks(windows: readonly MemoryWindow[], warmupMs: number, maxGrowth: number): GrowthCheck[] {
  const post = windows.filter((w) => w.startMs >= warmupMs);
  const first = post[0];
  const last = post[post.length - 1];
  if (first === undefined || last === undefined || first === last) return [];
  return Object.keys(first.values).map((series) => {
    const firstBytes = first.values[series] ?? Number.NaN;
    const lastBytes = last.values[series] ?? Number.NaN;
    const growth = lastBytes / firstBytes - 1;
    return { series, firstBytes, lastBytes, growth, pass: Number.isFinite(growth) && growth <= maxGrowth };
  });
}
