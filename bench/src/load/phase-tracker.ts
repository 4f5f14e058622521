import { Histogram } from '../measure/histogram';
import { tagOf } from '../publish/payload';
import type { BeginPhase, ClientSpec, DeliveryTimeline, EventLoopDelay, RecoveryCounters, WireCounters, WorkerPhaseReport } from './load-api';

/** One client as the load worker tracks it. */
export interface ClientSlot {
  readonly spec: ClientSpec;
  /** Connected and in its room. */
  up: boolean;
  /** Connected at least once. */
  everUp: boolean;
  /** Per-phase state, reset by each {@link PhaseTracker}. */
  phase: SlotPhaseState;
}

/** What one client received and went through during the current phase. */
export interface SlotPhaseState {
  /** Times each sequence number of the client's room was delivered (saturating at 255). */
  counts: Uint8Array;
  maxSeq: number;
  downs: number;
  downAt: number | null;
  upAt: number | null;
  /** Whether the last reconnect of this phase restored the session. */
  recovered: boolean | null;
  resyncs: number;
  /** Receive time of the last event published before the reconnect that arrived after it (catch-up). */
  catchUpAt: number;
}

export function freshSlotState(): SlotPhaseState {
  return { counts: new Uint8Array(64), maxSeq: -1, downs: 0, downAt: null, upAt: null, recovered: null, resyncs: 0, catchUpAt: 0 };
}

/** Wall-clock time in ms with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Accounting of one phase in one load worker: latency histograms, per-client sequence bookkeeping
 * (missed, duplicated, out of order), recovery of the cut clients, and optionally a timeline.
 */
export class PhaseTracker {
  readonly phase: number;
  readonly #startAt: number;
  readonly #slots: readonly ClientSlot[];
  readonly #bucketMs: number | null;
  readonly #latency = new Histogram();
  readonly #latencyNeverCut = new Histogram();
  /** Latency since the last progress call. */
  readonly window = new Histogram();
  readonly #published: number[] = [];
  readonly #received: number[] = [];
  deliveries = 0;
  stale = 0;
  /** Deliveries to cut clients after their reconnect of events published before it. */
  #replayed = 0;
  #outOfOrder = 0;
  #firstReceivedAt: number | null = null;
  #lastReceivedAt: number | null = null;
  cut: { cutAt: number; restoredAt: number } | null = null;

  constructor(begin: BeginPhase, slots: readonly ClientSlot[]) {
    this.phase = begin.phase;
    this.#startAt = begin.startAt;
    this.#bucketMs = begin.timelineBucketMs ?? null;
    this.#slots = slots;
    for (const slot of slots) slot.phase = freshSlotState();
  }

  onEvent(slot: ClientSlot, ts: number, data: unknown): void {
    const now = nowMs();
    const tag = tagOf(data);
    if (tag === null || tag.phase !== this.phase) {
      this.stale += 1;
      return;
    }
    const latencyMs = now - ts;
    this.#latency.recordMs(latencyMs);
    if (!slot.spec.cut) this.#latencyNeverCut.recordMs(latencyMs);
    this.window.recordMs(latencyMs);
    this.deliveries += 1;
    this.#firstReceivedAt ??= now;
    this.#lastReceivedAt = now;

    const state = slot.phase;
    if (tag.seq >= state.counts.length) {
      const grown = new Uint8Array(Math.max(tag.seq + 1, state.counts.length * 2));
      grown.set(state.counts);
      state.counts = grown;
    }
    const seen = state.counts[tag.seq] as number;
    if (seen < 255) state.counts[tag.seq] = seen + 1;
    if (seen === 0 && tag.seq < state.maxSeq) this.#outOfOrder += 1;
    if (tag.seq > state.maxSeq) state.maxSeq = tag.seq;
    if (state.upAt !== null && ts < state.upAt && now >= state.upAt && now > state.catchUpAt) state.catchUpAt = now;
    // Replayed: received by a cut client after it went down, and published before it was up again (a
    // client library may hand over its replay before it reports the reconnect).
    if (slot.spec.cut && state.downAt !== null && now >= state.downAt && (state.upAt === null || state.upAt < state.downAt || ts < state.upAt)) this.#replayed += 1;

    if (this.#bucketMs !== null) {
      bump(this.#published, Math.floor((ts - this.#startAt) / this.#bucketMs));
      bump(this.#received, Math.floor((now - this.#startAt) / this.#bucketMs));
    }
  }

  onDown(slot: ClientSlot): void {
    slot.phase.downs += 1;
    slot.phase.downAt = nowMs();
  }

  onUp(slot: ClientSlot, recovered: boolean): void {
    if (slot.phase.downAt === null) return;
    slot.phase.upAt = nowMs();
    slot.phase.recovered = recovered;
  }

  onResync(slot: ClientSlot): void {
    slot.phase.resyncs += 1;
  }

  /** Closes the books: `expectedPerRoom[r]` events (sequence numbers 0..n-1) were published to room r. */
  report(expectedPerRoom: readonly number[], measured: { wire: WireCounters; eventLoopDelay: EventLoopDelay; cpuS: number }): WorkerPhaseReport {
    let missed = 0;
    let duplicated = 0;
    let missedCut = 0;
    let duplicatedCut = 0;
    for (const slot of this.#slots) {
      const expected = expectedPerRoom[slot.spec.room] ?? 0;
      const { counts } = slot.phase;
      let slotMissed = 0;
      let slotDuplicated = 0;
      for (let seq = 0; seq < expected; seq++) {
        const seen = seq < counts.length ? (counts[seq] as number) : 0;
        if (seen === 0) slotMissed += 1;
        else slotDuplicated += seen - 1;
      }
      missed += slotMissed;
      duplicated += slotDuplicated;
      if (slot.spec.cut) {
        missedCut += slotMissed;
        duplicatedCut += slotDuplicated;
      }
    }
    return {
      deliveries: this.deliveries,
      stale: this.stale,
      firstReceivedAt: this.#firstReceivedAt,
      lastReceivedAt: this.#lastReceivedAt,
      latency: this.#latency.toJSON(),
      latencyNeverCut: this.#latencyNeverCut.toJSON(),
      missed,
      duplicated,
      outOfOrder: this.#outOfOrder,
      missedCut,
      duplicatedCut,
      wire: measured.wire,
      eventLoopDelay: measured.eventLoopDelay,
      cpuS: measured.cpuS,
      recovery: this.#recovery(),
      cut: this.cut,
      timeline: this.#timeline(),
    };
  }

  #recovery(): RecoveryCounters {
    const counters: RecoveryCounters = { cutClients: 0, recovered: 0, recoveryMs: [], resyncs: 0, unexpectedDisconnects: 0, reconnectMs: [], replayed: this.#replayed };
    for (const slot of this.#slots) {
      const state = slot.phase;
      counters.resyncs += state.resyncs;
      if (!slot.spec.cut || this.cut === null) {
        counters.unexpectedDisconnects += state.downs;
        continue;
      }
      counters.cutClients += 1;
      if (slot.up && state.upAt !== null) counters.reconnectMs.push(state.upAt - this.cut.restoredAt);
      if (slot.up && state.upAt !== null && state.recovered === true && state.resyncs === 0) {
        counters.recovered += 1;
        counters.recoveryMs.push(Math.max(state.upAt, state.catchUpAt) - this.cut.restoredAt);
      }
    }
    return counters;
  }

  #timeline(): DeliveryTimeline | null {
    if (this.#bucketMs === null) return null;
    const length = Math.max(this.#published.length, this.#received.length);
    const dense = (sparse: number[]): number[] => Array.from({ length }, (_, i) => sparse[i] ?? 0);
    return { bucketMs: this.#bucketMs, published: dense(this.#published), received: dense(this.#received) };
  }
}

function bump(buckets: number[], index: number): void {
  const i = Math.max(0, index);
  buckets[i] = (buckets[i] ?? 0) + 1;
}
