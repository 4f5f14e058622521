import { RoomwireError } from '@roomwire/shared';
import type { Publisher } from '@roomwire/server';
import type { SOAK_SERVICES } from './cluster';

/** A service the soak publishes to. */
export type SoakService = (typeof SOAK_SERVICES)[number];

/** One room's published events, by sequence number (the number is carried in the payload). */
export interface RoomLedger {
  readonly org: string;
  readonly service: SoakService;
  /** The sequence number the next event of this room gets. */
  nextSeq: number;
  /** Sequence numbers whose publish resolved (the event is in the stream). */
  stored: Set<number>;
  /** Sequence numbers being published (neither stored nor failed yet). */
  inFlight: Set<number>;
}

/** The key of a room in the ledgers. */
export function roomKey(org: string, service: SoakService): string {
  return `${org}/${service}`;
}

/** Why: the sequence number travels in the payload so a receiver can account without keeping ids. */
export function seqOf(data: unknown): number | null {
  const id = (data as { invoiceId?: unknown; ticketId?: unknown } | null)?.invoiceId ?? (data as { ticketId?: unknown } | null)?.ticketId;
  if (typeof id !== 'string') return null;
  const seq = Number(id.slice(id.lastIndexOf('-') + 1));
  return Number.isInteger(seq) ? seq : null;
}

/** Counters of the steady publisher. */
export interface PublishingStats {
  published: number;
  failed: number;
  /** Failed publishes refused with a retryable Roomwire error (`RW_ERR_UNAVAILABLE` …): loud, and owed to no one. */
  failedRetryable: number;
  /** UTF-8 bytes of the published payloads plus their org, service and type names. */
  payloadBytes: number;
  /** Ticks that started late by more than one tick (the publisher could not keep the rate). */
  lateTicks: number;
}

/** A running steady publisher. */
export interface SteadyPublishing {
  readonly stats: PublishingStats;
  /** Stops after the tick in flight, and waits for its publishes. */
  stop(): Promise<void>;
}

const TICK_MS = 50;
const STATUSES = ['open', 'pending', 'closed'] as const;
/** `invoice.paid` and `ticket.updated` are 12 and 14 bytes: counted as 13 on average. */
const TYPE_BYTES = 13;

/** One ledger per room: every org's `billing` and `tickets`, in round-robin order. */
export function createLedgers(orgs: readonly string[]): Map<string, RoomLedger> {
  const ledgers = new Map<string, RoomLedger>();
  for (const org of orgs) {
    for (const service of ['billing', 'tickets'] as const) ledgers.set(roomKey(org, service), { org, service, nextSeq: 0, stored: new Set(), inFlight: new Set() });
  }
  return ledgers;
}

/**
 * Publishes `eventsPerSecond` durable events, round-robin over the ledgers' rooms, in ticks of 50 ms until
 * `stop()` or `untilMs` (a timestamp). Each payload carries `<org>-<service>-<seq>`.
 */
export function startSteadyPublishing(publisher: Publisher, options: { ledgers: Map<string, RoomLedger>; eventsPerSecond: number; untilMs: number }): SteadyPublishing {
  const rooms = [...options.ledgers.values()];
  const stats: PublishingStats = { published: 0, failed: 0, failedRetryable: 0, payloadBytes: 0, lateTicks: 0 };
  let stopped = false;
  let next = 0;
  const pending = new Set<Promise<void>>();
  const maxInFlight = Math.max(1, options.eventsPerSecond);

  const publishOne = async (room: RoomLedger): Promise<void> => {
    const seq = room.nextSeq++;
    room.inFlight.add(seq);
    const id = `${room.org}-${room.service}-${seq}`;
    const billing = { invoiceId: id, amountCents: seq };
    const tickets = { ticketId: id, status: STATUSES[seq % STATUSES.length] ?? 'open' };
    const bytes = Buffer.byteLength(JSON.stringify(room.service === 'billing' ? billing : tickets)) + Buffer.byteLength(`${room.org}${room.service}`) + TYPE_BYTES;
    try {
      if (room.service === 'billing') await publisher.to(room.org, 'billing').emit('invoice.paid', billing);
      else await publisher.to(room.org, 'tickets').emit('ticket.updated', tickets);
      stats.published += 1;
      stats.payloadBytes += bytes;
      room.stored.add(seq);
    } catch (err) {
      stats.failed += 1;
      if (err instanceof RoomwireError && err.retryable) stats.failedRetryable += 1;
    } finally {
      room.inFlight.delete(seq);
    }
  };

  const loop = (async () => {
    const startedAt = Date.now();
    let carried = 0;
    for (let tick = 0; !stopped && Date.now() < options.untilMs; tick++) {
      const due = startedAt + tick * TICK_MS;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else if (wait < -TICK_MS) stats.lateTicks += 1;
      if (stopped) break;
      carried += (options.eventsPerSecond * TICK_MS) / 1000;
      const count = Math.floor(carried);
      carried -= count;
      // Not awaited: a slow append must not slow the schedule (the rate, and with it the memory the
      // window needs, stays steady). Bounded: past a second's worth in flight, the tick waits.
      for (let i = 0; i < count; i++) {
        const publish = publishOne(rooms[next++ % rooms.length] as RoomLedger).finally(() => pending.delete(publish));
        pending.add(publish);
      }
      while (pending.size > maxInFlight) await Promise.race(pending);
    }
    await Promise.all(pending);
  })();

  return {
    stats,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
