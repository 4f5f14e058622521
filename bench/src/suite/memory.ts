import { LoadPool } from '../load/load-pool';
import type { ProbedMemory } from '../measure/memory-probe';
import { startSystem, type RunningSystem } from '../systems/running-system';
import { BASELINE, type SystemName } from '../systems/system-names';
import { benchConfigFor } from './config';
import { errorText, forEachSystem, isError, num, sleep } from './session';
import type { SuiteBar, SuiteEnv, SuiteScenarioResult } from './types';

/** One level: the node's memory with `connections` idle connections open. */
interface MemoryLevel {
  connections: number;
  connectMs: number;
  memory: ProbedMemory;
  /** (level − empty node) ÷ connections, in bytes. */
  rssPerConnection: number;
  heapPerConnection: number;
}

interface MemoryData {
  empty: ProbedMemory;
  levels: MemoryLevel[];
  /** Between the first and the last level: (last − first) ÷ (connections added), in bytes; null with one level. */
  marginal: { rssPerConnection: number; heapPerConnection: number } | null;
}

const KB = 1024;
/** The bar: Roomwire's memory per idle connection at most this many times the streams baseline's. */
const BAR_RATIO = 1.1;

/** RSS within this of the previous reading counts as settled. */
const SETTLED_RSS_BYTES = 512 * 1024;
const MAX_READINGS = 10;

/**
 * Reads the node's memory after forced GCs, every 500 ms until its RSS stops moving (V8 gives freed
 * pages back lazily after a GC, and a fresh process still sheds start-up garbage), at most 10 times.
 */
async function quietMemory(system: RunningSystem): Promise<ProbedMemory> {
  const node = system.nodes[0];
  if (!node) throw new Error('no node');
  let last = await node.memory();
  for (let i = 1; i < MAX_READINGS; i++) {
    await sleep(500);
    const next = await node.memory();
    const settled = Math.abs(next.rss - last.rss) <= SETTLED_RSS_BYTES;
    last = next;
    if (settled) break;
  }
  return last;
}

/**
 * Memory per connection: one node, no publishing; idle WebSocket connections, each subscribed to one
 * service room, opened at a bounded rate in cumulative levels. After each level the node reports
 * `process.memoryUsage()` after two forced GCs (the same bench-only probe in every system); per
 * connection = (level − empty node) ÷ connections.
 */
export async function runMemory(env: SuiteEnv): Promise<SuiteScenarioResult> {
  const started = Date.now();
  const c = env.config.memory;
  const bench = benchConfigFor(env.config, {});
  const perSystem = await forEachSystem(env, async (name): Promise<MemoryData> => {
    const log = (line: string): void => env.log(`[${name}] memory: ${line}`);
    const system = await startSystem(name, { nodeCount: 1, memoryProbe: true });
    const pools: LoadPool[] = [];
    try {
      await sleep(c.settleMs);
      const empty = await quietMemory(system);
      log(`empty node: RSS ${(empty.rss / 1024 / 1024).toFixed(1)} MB, heap ${(empty.heapUsed / 1024 / 1024).toFixed(1)} MB`);
      const levels: MemoryLevel[] = [];
      let open = 0;
      for (const level of c.levels) {
        const add = level - open;
        const t0 = Date.now();
        pools.push(
          await LoadPool.start({
            system: name,
            nodeUrls: system.nodes.map((n) => n.url),
            jwtSecret: system.jwtSecret,
            clients: add,
            rooms: Math.max(1, Math.floor(add / c.clientsPerRoom)),
            workers: env.config.loadWorkers,
            cutFraction: 0,
            reconnect: bench.reconnect,
            connectPerSecond: env.config.connectPerSecondPerWorker,
            connectTimeoutMs: env.config.connectTimeoutMs,
          }),
        );
        open = level;
        const connectMs = Date.now() - t0;
        await sleep(c.settleMs);
        const memory = await quietMemory(system);
        const entry: MemoryLevel = {
          connections: level,
          connectMs,
          memory,
          rssPerConnection: (memory.rss - empty.rss) / level,
          heapPerConnection: (memory.heapUsed - empty.heapUsed) / level,
        };
        levels.push(entry);
        log(`${level} connections (opened in ${connectMs} ms): RSS ${(entry.rssPerConnection / KB).toFixed(1)} KB, heap ${(entry.heapPerConnection / KB).toFixed(1)} KB per connection`);
      }
      const first = levels[0];
      const last = levels[levels.length - 1];
      const marginal =
        first && last && last.connections > first.connections
          ? {
              rssPerConnection: (last.memory.rss - first.memory.rss) / (last.connections - first.connections),
              heapPerConnection: (last.memory.heapUsed - first.memory.heapUsed) / (last.connections - first.connections),
            }
          : null;
      return { empty, levels, marginal };
    } catch (err) {
      log(`output of the node:\n${system.nodes[0]?.output() ?? ''}\n${errorText(err)}`);
      throw err;
    } finally {
      for (const pool of pools) await pool.close().catch(() => undefined);
      await system.stop().catch(() => undefined);
    }
  });

  const ok = (s: SystemName): MemoryData | null => {
    const d = perSystem[s];
    return d === undefined || isError(d) ? null : d;
  };
  const levelOf = (s: SystemName, connections: number): MemoryLevel | null => ok(s)?.levels.find((l) => l.connections === connections) ?? null;
  const rows: string[][] = [];
  for (const s of env.systems) {
    const d = perSystem[s];
    if (isError(d)) {
      rows.push([s, `failed: ${d.error}`, ...c.levels.flatMap(() => ['', '']), '']);
      continue;
    }
    rows.push([
      s,
      d ? `${num(d.empty.rss / 1024 / 1024, 1)} MB / ${num(d.empty.heapUsed / 1024 / 1024, 1)} MB` : '–',
      ...c.levels.flatMap((l) => {
        const level = levelOf(s, l);
        return [level ? `${num(level.rssPerConnection / KB, 1)} KB` : '–', level ? `${num(level.heapPerConnection / KB, 1)} KB` : '–'];
      }),
      d?.marginal ? `${num(d.marginal.rssPerConnection / KB, 1)} / ${num(d.marginal.heapPerConnection / KB, 1)} KB` : '–',
    ]);
  }
  const top = c.levels[c.levels.length - 1] as number;
  const bars: SuiteBar[] = [];
  const subject = levelOf('roomwire', top);
  const base = levelOf(BASELINE, top);
  for (const [what, pick] of [
    ['RSS', (l: MemoryLevel) => l.rssPerConnection],
    ['heap', (l: MemoryLevel) => l.heapPerConnection],
  ] as const) {
    const requirement = `memory per idle connection (${what}, ${top} connections) ≤ ${BAR_RATIO}× the streams baseline`;
    if (!subject || !base) {
      bars.push({ requirement, measured: 'not measured in this run', verdict: 'N/A' });
      continue;
    }
    const ratio = pick(subject) / pick(base);
    bars.push({
      requirement,
      measured: `${(pick(subject) / KB).toFixed(1)} KB vs ${(pick(base) / KB).toFixed(1)} KB: ${ratio.toFixed(2)}×`,
      verdict: ratio <= BAR_RATIO ? 'PASS' : 'FAIL',
    });
  }
  const notes: string[] = [];
  for (const s of env.systems) {
    const d = ok(s);
    const slow = d?.levels.filter((l) => l.rssPerConnection < 0 || l.heapPerConnection < 0) ?? [];
    if (slow.length > 0) notes.push(`${s}: a negative per-connection figure means the empty node's memory was not yet settled (GC, lazy allocations); read the largest level`);
  }
  return {
    name: 'memory',
    title: 'Memory per connection',
    description:
      `One node per system, no publishing. Idle WebSocket connections (${c.clientsPerRoom} per service room, each subscribed to one room) are opened from ${env.config.loadWorkers} load worker processes at ` +
      `${env.config.connectPerSecondPerWorker * env.config.loadWorkers} connections/s, in cumulative levels of ${c.levels.join(', ')}. ${c.settleMs / 1000} s after a level is open, the node reports ` +
      '`process.memoryUsage()` after two forced full GCs (a bench-only probe loaded the same way into every server process); per connection = (level − empty node) ÷ connections.',
    durationS: (Date.now() - started) / 1000,
    tables: [
      {
        caption: 'Node memory per idle connection (RSS and V8 heap used after GC)',
        header: [
          'System',
          'empty node RSS / heap',
          ...c.levels.flatMap((l) => [`RSS per conn. @ ${l}`, `heap per conn. @ ${l}`]),
          `marginal RSS / heap per conn., ${c.levels[0]} → ${c.levels[c.levels.length - 1]}`,
        ],
        rows,
      },
    ],
    charts: [
      {
        file: 'suite-memory-rss',
        alt: 'Node RSS per idle connection',
        chart: {
          kind: 'bar',
          title: 'Node RSS per idle connection (KB, lower is better)',
          yLabel: 'KB per connection',
          categories: c.levels.map((l) => `${l} connections`),
          series: env.systems.map((s) => ({ name: s, values: c.levels.map((l) => { const v = levelOf(s, l); return v ? v.rssPerConnection / KB : null; }) })),
        },
      },
      {
        file: 'suite-memory-heap',
        alt: 'Node heap per idle connection',
        chart: {
          kind: 'bar',
          title: 'Node V8 heap per idle connection after GC (KB, lower is better)',
          yLabel: 'KB per connection',
          categories: c.levels.map((l) => `${l} connections`),
          series: env.systems.map((s) => ({ name: s, values: c.levels.map((l) => { const v = levelOf(s, l); return v ? v.heapPerConnection / KB : null; }) })),
        },
      },
    ],
    bars,
    notes,
    data: perSystem,
  };
}
