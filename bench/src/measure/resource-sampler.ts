import { createClient } from 'redis';
import { cpus } from 'node:os';
import { machineBusySeconds, rssBytes, totalCpuSeconds } from './proc-stats';

/** The processes of one system under test, by role (the orchestrator is this process). */
export interface ProcessGroups {
  nodes: number[];
  redis: number[];
  publisher: number[];
  load: number[];
}

/**
 * CPU seconds used by each role over a window; `other` is what the rest of the machine used (other
 * work on a shared machine makes every number noisier).
 */
export type CpuByRole = Record<keyof ProcessGroups | 'orchestrator' | 'other', number>;

/** What a {@link ResourceSampler} saw over one window. */
export interface ResourceReport {
  /** CPU seconds (user + system) each role used over the window. */
  cpuS: CpuByRole;
  /** Length of the window, in seconds. */
  windowS: number;
  /** Share of the machine's CPU capacity (all cores) used by processes outside the benchmark, 0..1. */
  otherShare: number;
  /** `[ms since the window opened, bytes]`: Redis `used_memory` (INFO memory). */
  redisMemory: [number, number][];
  /** `[ms since the window opened, bytes]`: the largest RSS of any node process. */
  nodeRss: [number, number][];
  /** Peak of `redisMemory`, in bytes. */
  redisMemoryPeak: number | null;
  /** Peak of `nodeRss`, in bytes. */
  nodeRssPeak: number | null;
}

/**
 * Samples the system's resources while a scenario phase runs: CPU seconds of every process (from
 * /proc, before and after), and every `intervalMs` Redis `used_memory` and the node processes' RSS.
 */
export class ResourceSampler {
  readonly #groups: ProcessGroups;
  readonly #redis: ReturnType<typeof createClient>;
  readonly #intervalMs: number;

  private constructor(groups: ProcessGroups, redis: ReturnType<typeof createClient>, intervalMs: number) {
    this.#groups = groups;
    this.#redis = redis;
    this.#intervalMs = intervalMs;
  }

  /** Connects to the system's Redis (for INFO). */
  static async connect(groups: ProcessGroups, redisUrl: string, intervalMs = 250): Promise<ResourceSampler> {
    const redis = createClient({ url: redisUrl, name: 'roomwire-bench-sampler' });
    redis.on('error', () => undefined);
    await redis.connect();
    return new ResourceSampler(groups, redis, intervalMs);
  }

  /** Redis `used_memory` now, in bytes. */
  async redisUsedMemory(): Promise<number | null> {
    try {
      const info = await this.#redis.info('memory');
      const match = /^used_memory:(\d+)/m.exec(info);
      return match ? Number(match[1]) : null;
    } catch {
      return null;
    }
  }

  /** Opens a window; the returned function closes it and reports. */
  start(): () => Promise<ResourceReport> {
    const openedAt = Date.now();
    const cpuBefore = this.#cpu();
    const redisMemory: [number, number][] = [];
    const nodeRss: [number, number][] = [];
    let sampling: Promise<void> = Promise.resolve();
    const sample = (): void => {
      sampling = (async () => {
        const at = Date.now() - openedAt;
        const rss = Math.max(0, ...this.#groups.nodes.map((pid) => rssBytes(pid) ?? 0));
        if (rss > 0) nodeRss.push([at, rss]);
        const memory = await this.redisUsedMemory();
        if (memory !== null) redisMemory.push([at, memory]);
      })();
    };
    sample();
    const timer = setInterval(sample, this.#intervalMs);
    return async () => {
      clearInterval(timer);
      await sampling;
      sample();
      await sampling;
      const cpuAfter = this.#cpu();
      const windowS = (Date.now() - openedAt) / 1000;
      const diff = (key: keyof CpuByRole): number => cpuAfter[key] - cpuBefore[key];
      const ours = diff('nodes') + diff('redis') + diff('publisher') + diff('load') + diff('orchestrator');
      const other = Math.max(0, diff('other') - ours);
      const peak = (series: [number, number][]): number | null => (series.length === 0 ? null : Math.max(...series.map(([, v]) => v)));
      return {
        cpuS: { nodes: diff('nodes'), redis: diff('redis'), publisher: diff('publisher'), load: diff('load'), orchestrator: diff('orchestrator'), other },
        windowS,
        otherShare: windowS > 0 ? other / (windowS * cpus().length) : 0,
        redisMemory,
        nodeRss,
        redisMemoryPeak: peak(redisMemory),
        nodeRssPeak: peak(nodeRss),
      };
    };
  }

  async close(): Promise<void> {
    if (this.#redis.isOpen) await this.#redis.close().catch(() => undefined);
  }

  /** Cumulative CPU seconds per role; `other` holds the machine's total busy time until the window closes. */
  #cpu(): CpuByRole {
    const own = process.cpuUsage();
    return {
      nodes: totalCpuSeconds(this.#groups.nodes),
      redis: totalCpuSeconds(this.#groups.redis),
      publisher: totalCpuSeconds(this.#groups.publisher),
      load: totalCpuSeconds(this.#groups.load),
      orchestrator: (own.user + own.system) / 1e6,
      other: machineBusySeconds() ?? 0,
    };
  }
}
