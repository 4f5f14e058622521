/**
 * The publisher process: runs deterministic schedules against one system's publishing path
 * (see {@link PublisherApi}), on its own core budget, separate from nodes and load workers.
 */
import { openBaselineEmitter } from '../baseline/emitter';
import { notify, serve } from '../ipc/rpc';
import { EventLoopDelayMonitor } from '../measure/event-loop-delay';
import { batchingOf, isPlainSocketIo } from '../systems/system-names';
import { payloadOf } from './payload';
import type { PublisherApi, PublishProgress, PublishRun } from './publisher-api';
import { openRoomwireSink } from './roomwire-sink';
import { ticksOf } from './schedule';
import type { PublishSink } from './sink';

/** Emits awaiting the system's answer beyond which the schedule pauses (bounds the process's memory). */
const MAX_IN_FLIGHT = 10_000;
/** Longest wait for outstanding emits once a schedule is done. */
const SETTLE_TIMEOUT_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const delay = new EventLoopDelayMonitor();
let sink: PublishSink | null = null;

const api: PublisherApi = {
  async init({ system, redisUrl }) {
    sink = isPlainSocketIo(system) ? await openBaselineEmitter(redisUrl, system === 'baseline-pubsub' ? 'pubsub' : 'streams') : await openRoomwireSink(redisUrl, batchingOf(system));
  },

  async run({ phase, schedule, startAt, maxInFlight = MAX_IN_FLIGHT }): Promise<PublishRun> {
    if (!sink) throw new Error('run before init');
    const target = sink;
    const perRoom: number[] = Array.from({ length: schedule.rooms }, () => 0);
    const payloadBytes = schedule.kind === 'spread' ? (schedule.payloadBytes ?? 0) : 0;
    let published = 0;
    let failed = 0;
    let firstFailure: string | null = null;
    let inFlight = 0;
    let lagMs = 0;
    let maxLagMs = 0;
    delay.reset();
    const progress = setInterval(() => notify('published', { phase, published, lagMs } satisfies PublishProgress), 250);
    const settled = (): void => {
      inFlight -= 1;
    };
    const rejected = (err: unknown): void => {
      firstFailure ??= err instanceof Error ? err.message : String(err);
      failed += 1;
      inFlight -= 1;
    };
    try {
      for (const tick of ticksOf(schedule)) {
        const due = startAt + tick.atMs;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        lagMs = Math.max(0, Date.now() - due);
        if (lagMs > maxLagMs) maxLagMs = lagMs;
        for (const room of tick.rooms) {
          const seq = perRoom[room] as number;
          perRoom[room] = seq + 1;
          published += 1;
          const pending = target.emit(room, payloadOf(phase, room, seq, payloadBytes));
          if (pending) {
            inFlight += 1;
            pending.then(settled, rejected);
          }
        }
        while (inFlight > maxInFlight) await sleep(1);
      }
      const endedAt = Date.now();
      const deadline = endedAt + SETTLE_TIMEOUT_MS;
      while (inFlight > 0 && Date.now() < deadline) await sleep(2);
      if (inFlight > 0) firstFailure ??= `${inFlight} emits still unanswered ${SETTLE_TIMEOUT_MS} ms after the schedule ended`;
      failed += inFlight;
      return {
        phase,
        startedAt: startAt,
        endedAt,
        published,
        failed,
        firstFailure,
        perRoom,
        maxLagMs,
        eventLoopDelay: { p99Ms: delay.percentileMs(99), maxMs: delay.maxMs },
      };
    } finally {
      clearInterval(progress);
      notify('published', { phase, published, lagMs } satisfies PublishProgress);
    }
  },

  async close() {
    await sink?.close();
    sink = null;
  },
};

serve(api);
