import { createClient, type RoomwireClient } from '@roomwire/client';
import { waitUntil } from '../../test/harness';
import { roomKey, seqOf, type RoomLedger, type SoakService } from './publishing';

/** Why: the anchor service stays subscribed for the whole run, so every event of its room must arrive once. */
const ANCHOR: SoakService = 'billing';
/** Why: the churned service is subscribed and unsubscribed over and over; events inside each subscription must arrive once. */
const CHURNED: SoakService = 'tickets';
/** How long a client may take to receive what was published before it unsubscribes, in ms. */
const DRAIN_BEFORE_UNSUBSCRIBE_MS = 5000;
/** How long a subscribe or unsubscribe may take before it counts as failed, in ms. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Per-sequence delivery counts of one room on one client (index = sequence number). */
class Counts {
  #counts = new Uint8Array(1024);
  #last = -1;
  outOfOrder = 0;

  add(seq: number): number {
    if (seq >= this.#counts.length) {
      const grown = new Uint8Array(Math.max(seq + 1, this.#counts.length * 2));
      grown.set(this.#counts);
      this.#counts = grown;
    }
    if (seq < this.#last) this.outOfOrder += 1;
    this.#last = Math.max(this.#last, seq);
    const count = Math.min(255, (this.#counts[seq] ?? 0) + 1);
    this.#counts[seq] = count;
    return count;
  }

  get(seq: number): number {
    return this.#counts[seq] ?? 0;
  }
}

/** Sequence numbers `[from, to]` of a room a client held a confirmed subscription for. */
interface Interval {
  from: number;
  to: number;
}

/** What one long-lived client was owed and got. */
interface Account {
  client: RoomwireClient;
  org: string;
  counts: Map<SoakService, Counts>;
  /** Closed subscriptions of the churned service. */
  intervals: Interval[];
  open: { from: number } | null;
  resyncs: number;
  duplicates: number;
  unknown: number;
}

/** Totals over every long-lived client. */
export interface LongLivedReport {
  clients: number;
  /** Events the clients were owed: every event of their anchor room, and of their churned room inside their subscriptions. */
  expected: number;
  /** Owed events received (once or more). */
  received: number;
  /** Owed events never received. */
  missing: number;
  /** Events handed to the app more than once. */
  duplicates: number;
  /** Events handed to the app out of publish order within a room. */
  outOfOrder: number;
  /** Duplicate deliveries the clients' dedup dropped before the app (not an error: replays overlap). */
  duplicatesDroppedByClient: number;
  /** Churned-service events received outside a confirmed subscription (in flight during a change; allowed). */
  receivedOutsideSubscriptions: number;
  /** Payloads that did not carry a soak sequence number. */
  unknown: number;
  resyncs: number;
  disconnects: number;
  recoveries: number;
  subscribes: number;
  unsubscribes: number;
  /** Subscribe/unsubscribe requests that failed or took longer than 10 s. */
  requestFailures: number;
  /** Unsubscribes that went ahead after 5 s although not every published event had arrived. */
  drainTimeouts: number;
}

/** The long-lived clients, their subscription churn and their accounting. */
export interface LongLivedClients {
  /** Starts toggling the churned service on every client until `stopToggling()`. */
  startToggling(): void;
  /** Stops toggling; resolves once every toggle in flight has ended (subscriptions left as they are). */
  stopToggling(): Promise<void>;
  /** Connected clients right now. */
  connected(): number;
  /** Waits (at most `timeoutMs`) until every owed event has arrived, then closes the clients and counts. */
  finish(timeoutMs: number): Promise<LongLivedReport>;
}

/** Why: an interval's end is the last sequence number whose publish has settled, with none in flight before it. */
function settledUpTo(ledger: RoomLedger): number {
  let lowestInFlight = ledger.nextSeq;
  for (const seq of ledger.inFlight) lowestInFlight = Math.min(lowestInFlight, seq);
  return lowestInFlight - 1;
}

function owed(ledger: RoomLedger, interval: Interval): number[] {
  const seqs: number[] = [];
  for (let seq = interval.from; seq <= interval.to; seq++) if (ledger.stored.has(seq)) seqs.push(seq);
  return seqs;
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/**
 * Connects `count` clients (alternating nodes, orgs round-robin), each subscribed to `billing` for the
 * whole run; resolves once all are connected and subscribed. Toggling then subscribes and unsubscribes
 * `tickets` on each at random intervals around `toggleIntervalMs`; before each unsubscribe the client
 * waits until it holds every event published to the room during the subscription, so what it was owed is exact.
 */
export async function connectLongLived(options: {
  urls: readonly string[];
  orgs: string[];
  count: number;
  token(org: string): string;
  ledgers: Map<string, RoomLedger>;
  toggleIntervalMs: number;
}): Promise<LongLivedClients> {
  const accounts: Account[] = [];
  const counters = { subscribes: 0, unsubscribes: 0, requestFailures: 0, drainTimeouts: 0 };
  const ledger = (org: string, service: SoakService): RoomLedger => {
    const found = options.ledgers.get(roomKey(org, service));
    if (!found) throw new TypeError(`soak: no ledger for ${roomKey(org, service)}`);
    return found;
  };

  for (let i = 0; i < options.count; i++) {
    const org = options.orgs[i % options.orgs.length] as string;
    const client = createClient({
      url: options.urls[i % options.urls.length] as string,
      token: options.token(org),
      services: [ANCHOR],
      minReconnectDelayMs: 100,
      maxReconnectDelayMs: 1000,
      exposeGlobal: false,
    });
    const account: Account = { client, org, counts: new Map([[ANCHOR, new Counts()], [CHURNED, new Counts()]]), intervals: [], open: null, resyncs: 0, duplicates: 0, unknown: 0 };
    client.onEvent((envelope) => {
      const seq = seqOf(envelope.data);
      const counts = account.counts.get(envelope.service as SoakService);
      if (seq === null || counts === undefined || envelope.org !== org) {
        account.unknown += 1;
        return;
      }
      if (counts.add(seq) > 1) account.duplicates += 1;
    });
    client.onResync(() => (account.resyncs += 1));
    accounts.push(account);
  }
  await timeout(Promise.all(accounts.map((a) => a.client.subscribe(ANCHOR))), 15_000, 'long-lived clients to connect and subscribe');

  let stopped = true;
  let wake: () => void = () => undefined;
  const stopSignal = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  let stopping = stopSignal();
  const pause = (ms: number): Promise<void> => Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), stopping]);
  const loops: Promise<void>[] = [];

  const toggle = async (account: Account): Promise<void> => {
    const rooms = ledger(account.org, CHURNED);
    const counts = account.counts.get(CHURNED) as Counts;
    while (!stopped) {
      await pause(options.toggleIntervalMs * (0.5 + Math.random()));
      if (stopped) return;
      if (account.open === null) {
        try {
          await timeout(account.client.subscribe(CHURNED), REQUEST_TIMEOUT_MS, 'subscribe');
          // Events whose publish starts from now on reach the room's sockets: the server confirmed the join.
          account.open = { from: rooms.nextSeq };
          counters.subscribes += 1;
        } catch {
          counters.requestFailures += 1;
        }
      } else {
        const interval = { from: account.open.from, to: settledUpTo(rooms) };
        const due = owed(rooms, interval);
        try {
          await waitUntil(() => due.every((seq) => counts.get(seq) > 0), { what: 'owed events before unsubscribing', timeoutMs: DRAIN_BEFORE_UNSUBSCRIBE_MS, intervalMs: 20 });
        } catch {
          counters.drainTimeouts += 1;
        }
        account.intervals.push(interval);
        account.open = null;
        try {
          await timeout(account.client.unsubscribe(CHURNED), REQUEST_TIMEOUT_MS, 'unsubscribe');
          counters.unsubscribes += 1;
        } catch {
          counters.requestFailures += 1;
        }
      }
    }
  };

  /** Every owed (room, seq) of one account; open intervals end at what has settled now. */
  const owedOf = (account: Account): { counts: Counts; seqs: number[] }[] => {
    const anchor = ledger(account.org, ANCHOR);
    const churned = ledger(account.org, CHURNED);
    const intervals = account.open === null ? account.intervals : [...account.intervals, { from: account.open.from, to: settledUpTo(churned) }];
    return [
      { counts: account.counts.get(ANCHOR) as Counts, seqs: owed(anchor, { from: 0, to: settledUpTo(anchor) }) },
      { counts: account.counts.get(CHURNED) as Counts, seqs: intervals.flatMap((interval) => owed(churned, interval)) },
    ];
  };

  return {
    startToggling() {
      if (!stopped) return;
      stopped = false;
      stopping = stopSignal();
      for (const account of accounts) loops.push(toggle(account));
    },
    async stopToggling() {
      stopped = true;
      wake();
      await Promise.all(loops.splice(0));
    },
    connected: () => accounts.filter((a) => a.client.state === 'connected').length,
    async finish(timeoutMs) {
      const allArrived = (): boolean => accounts.every((a) => owedOf(a).every(({ counts, seqs }) => seqs.every((seq) => counts.get(seq) > 0)));
      await waitUntil(allArrived, { what: 'every owed event on the long-lived clients', timeoutMs, intervalMs: 100 }).catch(() => undefined);
      const report: LongLivedReport = {
        clients: accounts.length,
        expected: 0,
        received: 0,
        missing: 0,
        duplicates: 0,
        outOfOrder: 0,
        duplicatesDroppedByClient: 0,
        receivedOutsideSubscriptions: 0,
        unknown: 0,
        resyncs: 0,
        disconnects: 0,
        recoveries: 0,
        ...counters,
      };
      for (const account of accounts) {
        for (const { counts, seqs } of owedOf(account)) {
          report.expected += seqs.length;
          for (const seq of seqs) {
            if (counts.get(seq) > 0) report.received += 1;
            else report.missing += 1;
          }
        }
        const churnedOwed = new Set(owedOf(account)[1]?.seqs);
        const churnedCounts = account.counts.get(CHURNED) as Counts;
        const churned = ledger(account.org, CHURNED);
        for (let seq = 0; seq < churned.nextSeq; seq++) if (churnedCounts.get(seq) > 0 && !churnedOwed.has(seq)) report.receivedOutsideSubscriptions += 1;
        for (const counts of account.counts.values()) report.outOfOrder += counts.outOfOrder;
        const metrics = account.client.metrics();
        report.duplicates += account.duplicates;
        report.unknown += account.unknown;
        report.resyncs += account.resyncs;
        report.duplicatesDroppedByClient += metrics.duplicatesDetected;
        report.disconnects += metrics.totalDisconnects;
        report.recoveries += metrics.recoveries.recovered;
        account.client.close();
      }
      return report;
    },
  };
}
