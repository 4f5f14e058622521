import { RoomwireError } from '@roomwire/shared';
import type { Publisher } from '@roomwire/server';

/** One publish call: when it started and settled, and how. */
export interface PublishRecord {
  startedAt: number;
  settledAt: number;
  /** Resolved: the event is in the stream. */
  ok: boolean;
  /** Error code of a rejected publish (`RW_ERR_UNAVAILABLE` …), `non-roomwire` for anything else. */
  code?: string;
  retryable?: boolean;
}

/** A publisher at a steady rate, numbering its events 0, 1, 2 … (the number travels in `amountCents`). */
export interface SteadyLoad {
  /** `records[seq]`, filled as publishes start; `settledAt` is 0 while one is in flight. */
  readonly records: readonly PublishRecord[];
  /** Publish calls started so far. */
  started(): number;
  /** Events stored (publish resolved). */
  published(): number;
  /** Publish calls rejected. */
  failed(): number;
  /** Stops the clock and waits for every publish in flight to settle. */
  stop(): Promise<void>;
}

/** Publish calls in flight before the generator waits for the oldest: a hanging Redis must not queue without bound. */
const MAX_IN_FLIGHT = 1000;

/** Starts publishing `ratePerSecond` events per second into `billing` of `org`, on a clock (not after each ack). */
export function startSteadyLoad(publisher: Publisher, org: string, ratePerSecond: number): SteadyLoad {
  const records: PublishRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  let published = 0;
  let failed = 0;
  let stopping = false;
  const tickMs = 20;
  const emitOne = (): void => {
    const seq = records.length;
    const record: PublishRecord = { startedAt: Date.now(), settledAt: 0, ok: false };
    records.push(record);
    const settled = publisher
      .to(org, 'billing')
      .emit('invoice.paid', { invoiceId: `chaos-${seq}`, amountCents: seq })
      .then(
        () => {
          record.ok = true;
          published += 1;
        },
        (err: unknown) => {
          failed += 1;
          record.code = err instanceof RoomwireError ? err.code : 'non-roomwire';
          record.retryable = err instanceof RoomwireError ? err.retryable : false;
        },
      )
      .finally(() => {
        record.settledAt = Date.now();
        inFlight.delete(settled);
      });
    inFlight.add(settled);
  };
  const running = (async () => {
    const start = Date.now();
    for (let tick = 1; !stopping; tick++) {
      const due = Math.floor((tick * tickMs * ratePerSecond) / 1000);
      while (records.length < due) emitOne();
      while (inFlight.size > MAX_IN_FLIGHT) await Promise.race(inFlight);
      // Pacing a load generator, not waiting for a condition.
      const next = start + tick * tickMs;
      if (next > Date.now()) await new Promise((resolve) => setTimeout(resolve, next - Date.now()));
    }
  })();
  return {
    records,
    started: () => records.length,
    published: () => published,
    failed: () => failed,
    async stop() {
      stopping = true;
      await running;
      await Promise.allSettled([...inFlight]);
    },
  };
}
