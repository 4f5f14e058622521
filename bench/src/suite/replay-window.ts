import { rssBytes } from '../measure/proc-stats';
import { loadEventLoopP99, phaseNotes } from '../scenarios/phase-metrics';
import { runPhase } from '../scenarios/run-phase';
import type { PublishProgress } from '../publish/publisher-api';
import { eventsIn, type SteadySchedule } from '../publish/schedule';
import type { SystemName } from '../systems/system-names';
import { benchConfigFor } from './config';
import { forEachSystem, isError, mb, num, sleep, withSession } from './session';
import type { SuiteBar, SuiteEnv, SuiteScenarioResult } from './types';

/** One rate level of one system: its window filled, its sample of clients back. */
interface WindowLevel {
  ratePerSecond: number;
  /** Events published into the window (rate × window). */
  events: number;
  /** Wall-clock ms the fill took. */
  fillMs: number;
  redisBefore: number | null;
  /** Redis `used_memory` with the whole window published, before the cut clients came back. */
  redisFull: number | null;
  nodeRssBefore: number | null;
  nodeRssFull: number | null;
  /** (full − before) ÷ events. */
  bytesPerEvent: number | null;
  sampleClients: number;
  recovered: number;
  resyncs: number;
  replayed: number;
  missedBySample: number;
  missedAll: number;
  duplicated: number;
  loadEldP99Ms: number;
  notes: string[];
}

const MB = 1024 * 1024;
const STABLE_MS = 1000;
const STABLE_TIMEOUT_MS = 15_000;

/**
 * Replay window cost: per rate, a fresh cluster (1 node) with one client per org. A sample of the
 * clients is cut, then the events of a whole window at that rate (rate × window, the same events and
 * sizes) are published, faster than real time; with the window full, Redis `used_memory` and the node's
 * RSS are read, and the sample reconnects: each must replay its org's whole window, from the oldest
 * offset in it.
 */
export async function runReplayWindow(env: SuiteEnv): Promise<SuiteScenarioResult> {
  const started = Date.now();
  const c = env.config.replayWindow;
  const bench = benchConfigFor(env.config, { clients: c.orgs, rooms: c.orgs });
  const perSystem = await forEachSystem(env, async (name): Promise<WindowLevel[]> => {
    const levels: WindowLevel[] = [];
    for (const ratePerSecond of c.ratesPerSecond) {
      const target = Math.round(ratePerSecond * c.windowS);
      const durationMs = Math.ceil((target / c.fillEventsPerSecond) * 100) * 10;
      const schedule: SteadySchedule = { kind: 'steady', eventsPerSecond: c.fillEventsPerSecond, durationMs, rooms: c.orgs };
      const events = eventsIn(schedule);
      const level = await withSession(env, name, { nodeCount: 1, clients: c.orgs, rooms: c.orgs, cutFraction: c.sampleFraction, bench }, async ({ ctx, pool, sampler, system }): Promise<WindowLevel> => {
        const nodePid = system.nodes[0]?.pid ?? 0;
        // One event per org first, so that every client holds an offset (plain Socket.IO recovers only a
        // client that has received something); the window's memory is measured from after it.
        const primerMs = Math.ceil((c.orgs / c.fillEventsPerSecond) * 100) * 10;
        await runPhase(ctx, {
          label: 'replay-window primer (one event per org)',
          schedule: { kind: 'steady', eventsPerSecond: Math.ceil((c.orgs * 1000) / primerMs), durationMs: primerMs, rooms: c.orgs },
          settle: { idleMs: bench.settle.idleMs, timeoutMs: c.settleTimeoutMs },
        });
        await sleep(bench.settle.idleMs);
        const redisBefore = await sampler.redisUsedMemory();
        const nodeRssBefore = rssBytes(nodePid);
        let redisFull: number | null = null;
        let nodeRssFull: number | null = null;
        let fillMs = 0;
        const result = await runPhase(ctx, {
          label: `replay-window ${ratePerSecond}/s (${events} events at ${c.fillEventsPerSecond}/s)`,
          schedule,
          settle: { idleMs: bench.settle.idleMs, timeoutMs: c.settleTimeoutMs },
          during: async (startAt) => {
            await pool.hold();
            let published = 0;
            const off = system.publisher.onNotice((notice) => {
              if (notice.kind === 'published') published = Math.max(published, (notice.body as PublishProgress).published);
            });
            try {
              while (published < events) await sleep(50);
            } finally {
              off();
            }
            fillMs = Date.now() - startAt;
            // Wait until the last appends landed: Redis memory stops growing.
            let last = await sampler.redisUsedMemory();
            let stableSince = Date.now();
            const deadline = Date.now() + STABLE_TIMEOUT_MS;
            while (Date.now() - stableSince < STABLE_MS && Date.now() < deadline) {
              await sleep(250);
              const now = await sampler.redisUsedMemory();
              if (now !== last) {
                last = now;
                stableSince = Date.now();
              }
            }
            redisFull = last;
            nodeRssFull = rssBytes(nodePid);
            ctx.log(`replay-window: window full (${events} events in ${fillMs} ms): Redis ${mb(redisFull)} MB (was ${mb(redisBefore)} MB); letting the sample back`);
            await pool.restore();
          },
        });
        const rec = result.load.recovery;
        return {
          ratePerSecond,
          events,
          fillMs,
          redisBefore,
          redisFull,
          nodeRssBefore,
          nodeRssFull,
          bytesPerEvent: redisFull !== null && redisBefore !== null ? (redisFull - redisBefore) / events : null,
          sampleClients: rec.cutClients,
          recovered: rec.recovered,
          resyncs: rec.resyncs,
          replayed: rec.replayed,
          missedBySample: result.load.missedCut,
          missedAll: result.load.missed,
          duplicated: result.load.duplicated,
          loadEldP99Ms: loadEventLoopP99(result),
          notes: phaseNotes(result, `replay-window ${ratePerSecond}/s`),
        };
      });
      env.log(`[${name}] replay-window ${ratePerSecond}/s: Redis ${mb(level.redisFull)} MB full, ${level.recovered}/${level.sampleClients} recovered, ${level.missedBySample} missed by the sample`);
      levels.push(level);
    }
    return levels;
  });

  const ok = (name: SystemName): WindowLevel[] => {
    const d = perSystem[name];
    return d === undefined || isError(d) ? [] : d;
  };
  const rows: string[][] = [];
  for (const name of env.systems) {
    const d = perSystem[name];
    if (isError(d)) {
      rows.push([name, `failed: ${d.error}`, ...Array.from({ length: 9 }, () => '')]);
      continue;
    }
    for (const l of ok(name)) {
      const perOrg = l.ratePerSecond / c.orgs;
      rows.push([
        name,
        `${num(l.ratePerSecond)}/s (${perOrg} per org/s)`,
        num(l.events),
        `${num(l.fillMs / 1000, 1)} s`,
        `${mb(l.redisBefore)} → ${mb(l.redisFull)} MB`,
        l.bytesPerEvent === null ? '–' : `${num(l.bytesPerEvent)} B`,
        `${mb(l.nodeRssBefore)} → ${mb(l.nodeRssFull)} MB`,
        `${num(l.recovered)}/${num(l.sampleClients)}${l.resyncs > 0 ? ` (${num(l.resyncs)} resyncs)` : ''}`,
        num(l.replayed),
        num(l.missedBySample),
        `${num(l.loadEldP99Ms, 1)} ms`,
      ]);
    }
  }

  const bars: SuiteBar[] = [];
  const notes: string[] = [];
  const rw = ok('roomwire');
  const windowText = c.windowS >= 60 ? `${c.windowS / 60}-minute` : `${c.windowS}-second`;
  if (rw.length === 0) {
    bars.push({ requirement: `highest cluster-wide rate at which a ${windowText} window of ${c.orgs} orgs stays under ${c.claimBytes / MB} MB of Redis memory`, measured: 'not measured in this run', verdict: 'N/A' });
  } else {
    const largest = [...rw].filter((l) => l.bytesPerEvent !== null).sort((a, b) => b.events - a.events)[0];
    for (const l of rw) {
      const holds = l.redisFull !== null && l.redisFull < c.claimBytes;
      const recoveredAll = l.sampleClients > 0 && l.recovered === l.sampleClients && l.missedBySample === 0;
      bars.push({
        requirement: `${c.orgs} orgs × ${windowText} window at ${num(l.ratePerSecond)} events/s: Redis < ${c.claimBytes / MB} MB and every sampled client recovers from the oldest offset`,
        measured: `Redis used_memory ${mb(l.redisFull)} MB with the window full; ${l.recovered}/${l.sampleClients} recovered, ${l.missedBySample} missed, ${l.resyncs} resyncs`,
        verdict: holds && recoveredAll ? 'PASS' : 'FAIL',
      });
    }
    if (largest?.bytesPerEvent) {
      const maxRate = c.claimBytes / (largest.bytesPerEvent * c.windowS);
      const recoveredUpTo = [...rw].filter((l) => l.sampleClients > 0 && l.recovered === l.sampleClients && l.missedBySample === 0).map((l) => l.ratePerSecond);
      const failedAt = rw.filter((l) => !(l.sampleClients > 0 && l.recovered === l.sampleClients && l.missedBySample === 0)).map((l) => l.ratePerSecond);
      bars.push({
        requirement: `the highest cluster-wide rate at which a ${windowText} window of ${c.orgs} orgs stays under ${c.claimBytes / MB} MB of Redis memory`,
        measured:
          `${num(maxRate)} events/s by memory (${num(largest.bytesPerEvent)} B of used_memory per event, measured at ${num(largest.ratePerSecond)} events/s: ${c.claimBytes / MB} MB ÷ (${num(largest.bytesPerEvent)} B × ${c.windowS} s))` +
          (failedAt.length > 0 ? `; but full-window recovery failed at ${failedAt.map((r) => `${num(r)}/s`).join(', ')}${recoveredUpTo.length > 0 ? ` (held at ${recoveredUpTo.map((r) => `${num(r)}/s`).join(', ')})` : ''}` : ''),
        verdict: 'PASS',
      });
      notes.push(
        `roomwire: by memory, a ${windowText} window for ${c.orgs} orgs stays under ${c.claimBytes / MB} MB up to about ${num(maxRate)} events/s cluster-wide ` +
          `(${(maxRate / c.orgs).toFixed(2)} per org per second), from ${num(largest.bytesPerEvent)} B of Redis used_memory per event measured at ${num(largest.ratePerSecond)} events/s.`,
      );
    }
    for (const l of rw) {
      if (l.resyncs > 0 || l.recovered < l.sampleClients) {
        notes.push(
          `roomwire at ${num(l.ratePerSecond)} events/s: ${l.sampleClients - l.recovered} of ${l.sampleClients} sampled clients could not replay the whole window (${l.resyncs} resyncs) — ` +
            `the window holds ${num(l.events)} events; Roomwire's stream is also capped by its maxStreamLength (1 000 000 entries by default), which trims a window longer than that.`,
        );
      }
    }
  }
  if (env.systems.includes('baseline')) notes.push('baseline: `@socket.io/redis-streams-adapter` trims its stream to `maxLen` 10 000 entries by default and keeps sessions for `maxDisconnectionDuration` (2 min here): its Redis memory stays small, and clients away longer than either cannot recover.');
  if (env.systems.includes('baseline-pubsub')) notes.push('baseline-pubsub keeps no window at all: its cut clients lose every event published while they were away.');
  for (const name of env.systems) for (const l of ok(name)) for (const note of l.notes) notes.push(`${name}: ${note}`);

  return {
    name: 'replay-window',
    title: 'Replay window cost',
    description:
      `${c.orgs} orgs with one subscribed client each (one service room per org), 1 node per system, a fresh cluster per rate. First one event per org, so that every client holds an offset. ` +
      `For a cluster-wide rate R, a ${c.windowS}-second window holds R × ${c.windowS} events; instead of waiting ${c.windowS} s, the same number of events (the same sizes, round-robin over the orgs, each in its own stream entry as at R) is published at ${num(c.fillEventsPerSecond)} events/s, ` +
      `well inside the ${c.windowS}-second window, so nothing in it expires. Before the fill, ${c.sampleFraction * 100} % of the clients (one org in ${Math.round(1 / c.sampleFraction)}) are cut and kept out; with the window full, Redis \`used_memory\` and the node's RSS are read ` +
      'and the sample is let back: each sampled client must replay its org’s whole window, from before its oldest offset, with nothing missed. The other clients receive the fill live.',
    durationS: (Date.now() - started) / 1000,
    tables: [
      {
        caption: 'Replay window: Redis memory with the window full and recovery from its oldest offset',
        header: ['System', 'rate (cluster-wide)', 'events in the window', 'fill took', 'Redis used_memory before → full', 'Redis bytes per event', 'node RSS before → full', 'sample recovered', 'events replayed', 'missed by the sample', 'load generator event-loop delay p99'],
        rows,
      },
    ],
    charts: [
      {
        file: 'suite-replay-window',
        alt: 'Redis memory with a full replay window',
        chart: {
          kind: 'bar',
          title: `Redis used_memory with a full ${c.windowS} s window, ${c.orgs} orgs (MB)`,
          yLabel: 'MB',
          categories: c.ratesPerSecond.map((r) => `${num(r)} events/s`),
          series: env.systems.map((name) => ({ name, values: c.ratesPerSecond.map((r) => { const l = ok(name).find((x) => x.ratePerSecond === r); return typeof l?.redisFull === 'number' ? l.redisFull / MB : null; }) })),
        },
      },
    ],
    bars,
    notes,
    data: perSystem,
  };
}
