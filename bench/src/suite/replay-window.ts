import { nodeDefaults } from '@roomwire/server';
import { rssBytes } from '../measure/proc-stats';
import { loadEventLoopP99, phaseNotes } from '../scenarios/phase-metrics';
import { runPhase } from '../scenarios/run-phase';
import { eventsIn, type SteadySchedule } from '../publish/schedule';
import type { SystemName } from '../systems/system-names';
import { benchConfigFor } from './config';
import { forEachSystem, isError, succeeded, mb, num, sleep, withSession } from './session';
import type { SuiteBar, SuiteEnv, SuiteScenarioResult } from './types';

/** One rate level of one system: its window filled, its sample of clients back. */
interface WindowLevel {
  ratePerSecond: number;
  /** Events of a whole window at this rate (rate × window). */
  windowEvents: number;
  /** Events actually published (the whole window, or `maxFillEvents` of it). */
  events: number;
  /** Publishes the system refused (not in the window). */
  publishFailed: number;
  /** Whether the window was only partly filled and its memory is extrapolated. */
  extrapolated: boolean;
  /** Redis `used_memory` of the whole window: measured, or before + bytes per event × window events. */
  redisWindow: number | null;
  /** Wall-clock ms the fill took. */
  fillMs: number;
  redisBefore: number | null;
  /**
   * Redis `used_memory` with the whole window published, while the cut clients were away (their
   * sessions, kept for recovery, included).
   */
  redisFull: number | null;
  /** Redis `used_memory` once every client was back (sessions taken): the window alone, above `redisBefore`. */
  redisAfter: number | null;
  nodeRssBefore: number | null;
  nodeRssFull: number | null;
  /** (after − before) ÷ events: the window's own bytes per event, without the away clients' sessions. */
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

/** Redis `used_memory` once it has stopped changing for `STABLE_MS` (or after `STABLE_TIMEOUT_MS`). */
async function steadyRedisMemory(read: () => Promise<number | null>): Promise<number | null> {
  let last = await read();
  let stableSince = Date.now();
  const deadline = Date.now() + STABLE_TIMEOUT_MS;
  while (Date.now() - stableSince < STABLE_MS && Date.now() < deadline) {
    await sleep(250);
    const now = await read();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    }
  }
  return last;
}
/**
 * Publishes awaiting an answer while a window fills: enough to keep Redis busy, few enough that none
 * waits behind the others for longer than a publisher's command timeout (Roomwire's is 5 s; a deeper
 * backlog of un-batchable publishes, one per org, fails with RW_ERR_UNAVAILABLE instead of waiting).
 */
const FILL_MAX_IN_FLIGHT = 1000;

/**
 * Replay window cost: per rate, a fresh cluster (1 node) with one client per org. The clients
 * (`sampleFraction` of them; all in the full run) are cut, then the events of a whole window at that
 * rate (rate × window, the same events and sizes) are published, faster than real time; with the
 * window full, Redis `used_memory` and the node's RSS are read, and the cut clients reconnect: each
 * must replay its org's whole window, from the oldest offset in it.
 */
export async function runReplayWindow(env: SuiteEnv): Promise<SuiteScenarioResult> {
  const started = Date.now();
  const c = env.config.replayWindow;
  const bench = benchConfigFor(env.config, { clients: c.orgs, rooms: c.orgs });
  const perSystem = await forEachSystem(env, async (name): Promise<WindowLevel[]> => {
    const levels: WindowLevel[] = [];
    for (const ratePerSecond of c.ratesPerSecond) {
      const windowEvents = Math.round(ratePerSecond * c.windowS);
      const target = Math.min(windowEvents, c.maxFillEvents);
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
          maxInFlight: FILL_MAX_IN_FLIGHT,
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
          maxInFlight: FILL_MAX_IN_FLIGHT,
          during: async () => {
            await pool.hold();
          },
          afterPublish: async (publish) => {
            fillMs = publish.endedAt - publish.startedAt;
            // Wait until the last appends landed: Redis memory stops growing.
            redisFull = await steadyRedisMemory(() => sampler.redisUsedMemory());
            nodeRssFull = rssBytes(nodePid);
            ctx.log(`replay-window: ${events} events published in ${fillMs} ms: Redis ${mb(redisFull)} MB (was ${mb(redisBefore)} MB); letting the cut clients back`);
            await pool.restore();
          },
        });
        // Every client is back and its session taken; nothing of the window has expired yet.
        const redisAfter = await steadyRedisMemory(() => sampler.redisUsedMemory());
        const rec = result.load.recovery;
        const stored = events - result.publish.failed;
        const bytesPerEvent = redisAfter !== null && redisBefore !== null && stored > 0 ? (redisAfter - redisBefore) / stored : null;
        const extrapolated = events < windowEvents;
        return {
          ratePerSecond,
          windowEvents,
          events,
          publishFailed: result.publish.failed,
          extrapolated,
          redisWindow: extrapolated ? (bytesPerEvent === null || redisBefore === null ? null : redisBefore + bytesPerEvent * windowEvents) : redisAfter,
          fillMs,
          redisBefore,
          redisFull,
          redisAfter,
          nodeRssBefore,
          nodeRssFull,
          bytesPerEvent,
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
      env.log(`[${name}] replay-window ${ratePerSecond}/s: Redis ${mb(level.redisFull)} MB full, ${level.recovered}/${level.sampleClients} recovered, ${level.missedBySample} missed by the cut clients`);
      levels.push(level);
    }
    return levels;
  });

  const ok = (name: SystemName): WindowLevel[] => succeeded(perSystem[name]) ?? [];
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
        l.extrapolated ? `${num(l.windowEvents)} (${num(l.events)} published)` : num(l.events),
        `${num(l.fillMs / 1000, 1)} s`,
        `${mb(l.redisBefore)} → ${mb(l.redisFull)} → ${mb(l.redisAfter)} MB`,
        `${mb(l.redisWindow)} MB${l.extrapolated ? ' (extrapolated)' : ''}`,
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
  const maxLen = nodeDefaults.maxStreamLength;
  const recoveredAll = (l: WindowLevel): boolean => l.sampleClients > 0 && l.recovered === l.sampleClients && l.missedBySample === 0;
  const stateRequirement = `the highest cluster-wide rate at which a ${windowText} window of ${num(c.orgs)} orgs stays under ${c.claimBytes / MB} MB of Redis memory`;
  if (rw.length === 0) {
    bars.push({ requirement: stateRequirement, measured: 'not measured in this run', verdict: 'N/A' });
  } else {
    for (const l of rw) {
      const holds = l.redisWindow !== null && l.redisWindow < c.claimBytes && l.publishFailed === 0;
      const trimmed = l.windowEvents > maxLen;
      bars.push({
        requirement: `the claim at ${num(l.ratePerSecond)} events/s (a check of the claim at this rate, not one of the suite's bars): ${num(c.orgs)} orgs × ${windowText} window, Redis < ${c.claimBytes / MB} MB, every cut client recovers from the oldest offset`,
        measured:
          `Redis used_memory ${mb(l.redisWindow)} MB with the window full${l.extrapolated ? ` (extrapolated from ${num(l.events)} of its ${num(l.windowEvents)} events)` : ''}; ` +
          (l.publishFailed > 0 ? `${num(l.publishFailed)} publishes refused; ` : '') +
          `${l.recovered}/${l.sampleClients} recovered${l.extrapolated ? ` over the ${num(l.events)} events published` : ''}, ${l.missedBySample} missed, ${l.resyncs} resyncs` +
          (trimmed ? `; but the window holds ${num(l.windowEvents)} events, more than Roomwire's default maxStreamLength (${num(maxLen)}): the stream is trimmed to the last ${num(maxLen / l.ratePerSecond)} s` : ''),
        verdict: holds && recoveredAll(l) && !trimmed ? 'PASS' : 'FAIL',
      });
    }
    const measured = [...rw].filter((l) => l.bytesPerEvent !== null && l.bytesPerEvent > 0 && l.publishFailed === 0).sort((a, b) => b.events - a.events)[0];
    if (measured?.bytesPerEvent) {
      const byMemory = c.claimBytes / (measured.bytesPerEvent * c.windowS);
      const byLength = maxLen / c.windowS;
      const highest = Math.min(byMemory, byLength);
      bars.push({
        requirement: stateRequirement,
        measured:
          `${num(highest)} events/s (${(highest / c.orgs).toFixed(3)} per org per second): ` +
          `by memory ${num(byMemory)} events/s (${c.claimBytes / MB} MB ÷ (${num(measured.bytesPerEvent)} B per event, measured at ${num(measured.ratePerSecond)} events/s, × ${c.windowS} s)); ` +
          `by the default maxStreamLength ${num(byLength)} events/s (${num(maxLen)} entries ÷ ${c.windowS} s)`,
        verdict: 'PASS',
      });
      notes.push(
        `roomwire: a ${windowText} window for ${num(c.orgs)} orgs stays under ${c.claimBytes / MB} MB of Redis memory up to about ${num(byMemory)} events/s cluster-wide ` +
          `(${num(measured.bytesPerEvent)} B of used_memory per event); it stays whole (not trimmed by maxStreamLength ${num(maxLen)}) up to ${num(byLength)} events/s. ` +
          `The claim "10K orgs × 5 min buffer < 500 MB" holds up to ${num(highest)} events/s with the defaults.`,
      );
    }
    for (const l of rw) {
      if (!recoveredAll(l)) {
        notes.push(`roomwire at ${num(l.ratePerSecond)} events/s: ${l.sampleClients - l.recovered} of ${l.sampleClients} cut clients could not replay the window (${l.resyncs} resyncs, ${l.missedBySample} events missed).`);
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
      `${num(c.orgs)} orgs with one subscribed client each (one service room per org), 1 node per system, a fresh cluster per rate. First one event per org, so that every client holds an offset. ` +
      `For a cluster-wide rate R, a ${c.windowS}-second window holds R × ${c.windowS} events. Instead of waiting ${c.windowS} s, those events (the same sizes, round-robin over the orgs, ` +
      `each in its own stream entry as at R) are published as fast as the system takes them, at most ${num(c.fillEventsPerSecond)} events/s, well inside the window, so nothing in it expires; ` +
      `a window of more than ${num(c.maxFillEvents)} events is published only that far and its memory is extrapolated from the bytes per event measured (marked *extrapolated*). ` +
      (c.sampleFraction >= 1
        ? 'Before publishing, every client is cut and kept out; '
        : `Before publishing, ${c.sampleFraction * 100} % of the clients (one org in ${Math.round(1 / c.sampleFraction)}) are cut and kept out (the others receive the events live); `) +
      "once every publish has been acknowledged and Redis memory is steady, Redis `used_memory` and the node's RSS are read and the cut clients are let back: each must replay everything published while it was away, from before the window's oldest offset, with nothing missed. " +
      'Redis memory is read again once they are all back: their sessions (kept for recovery while they were away) have then been taken, and what is left above the first reading is the window itself, which the bytes per event and the whole-window figure come from. ' +
      `Roomwire also caps its stream at maxStreamLength (${num(nodeDefaults.maxStreamLength)} entries by default), which the verdicts take into account.`,
    durationS: (Date.now() - started) / 1000,
    tables: [
      {
        caption: 'Replay window: Redis memory with the window full and recovery from its oldest offset',
        header: [
          'System',
          'rate (cluster-wide)',
          'events in the window',
          'publishing took',
          'Redis used_memory: before → window full, clients away → clients back',
          'Redis used_memory, whole window',
          'Redis bytes per event',
          'node RSS before → after publishing',
          'cut clients recovered',
          'events replayed',
          'missed by the cut clients',
          'load generator event-loop delay p99',
        ],
        rows,
      },
    ],
    charts: [
      {
        file: 'suite-replay-window',
        alt: 'Redis memory with a full replay window',
        chart: {
          kind: 'bar',
          title: `Redis used_memory with a full ${c.windowS} s window, ${num(c.orgs)} orgs (MB)`,
          yLabel: 'MB',
          categories: c.ratesPerSecond.map((r) => `${num(r)} events/s`),
          series: env.systems.map((name) => ({ name, values: c.ratesPerSecond.map((r) => { const l = ok(name).find((x) => x.ratePerSecond === r); return typeof l?.redisWindow === 'number' ? l.redisWindow / MB : null; }) })),
        },
      },
    ],
    bars,
    notes,
    data: perSystem,
  };
}
