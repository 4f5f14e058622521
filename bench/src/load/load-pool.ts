import path from 'node:path';
import { RpcChild } from '../ipc/rpc';
import { Histogram } from '../measure/histogram';
import type { SystemName } from '../systems/system-names';
import { clientsPerRoom, layoutClients } from './layout';
import type {
  BeginPhase,
  ClientKind,
  DeliveryTimeline,
  EndPhase,
  EventLoopDelay,
  LoadProgress,
  LoadWorkerApi,
  ReconnectPolicy,
  RecoveryCounters,
  WireCounters,
  WorkerPhaseReport,
} from './load-api';

const WORKER_ENTRY = path.join(__dirname, 'load-worker.ts');

/** Options of {@link LoadPool.start}. */
export interface LoadPoolOptions {
  system: SystemName;
  /** @default 'library' */
  clientKind?: ClientKind;
  nodeUrls: string[];
  jwtSecret: string;
  clients: number;
  rooms: number;
  workers: number;
  cutFraction: number;
  reconnect: ReconnectPolicy;
  connectPerSecond: number;
  connectTimeoutMs: number;
}

/** One phase as all load workers together saw it. */
export interface PoolPhaseReport extends Omit<WorkerPhaseReport, 'latency' | 'latencyNeverCut' | 'eventLoopDelay' | 'cut'> {
  latency: Histogram;
  latencyNeverCut: Histogram;
  /** Per worker. */
  eventLoopDelay: EventLoopDelay[];
  /** Per worker that cut clients. */
  cuts: { cutAt: number; restoredAt: number }[];
}

/**
 * The load generator: worker processes that each own a share of the clients, driven together. Rooms
 * are spread so that each worker's clients are a fair sample (see {@link layoutClients}).
 */
export class LoadPool {
  readonly #workers: RpcChild<LoadWorkerApi>[];
  /** Clients in each room, for expected delivery counts. */
  readonly clientsPerRoom: number[];

  private constructor(workers: RpcChild<LoadWorkerApi>[], perRoom: number[]) {
    this.#workers = workers;
    this.clientsPerRoom = perRoom;
  }

  /** Forks the workers and opens every client; resolves once all are connected and subscribed. */
  static async start(options: LoadPoolOptions): Promise<LoadPool> {
    const layout = layoutClients({ clients: options.clients, rooms: options.rooms, nodes: options.nodeUrls.length, workers: options.workers, cutFraction: options.cutFraction });
    const workers = layout.map((_, i) => RpcChild.fork<LoadWorkerApi>(WORKER_ENTRY, `${options.system}/load-${i}`));
    const pool = new LoadPool(workers, clientsPerRoom(options));
    try {
      await Promise.all(
        workers.map((worker, i) =>
          worker.call('init', {
            system: options.system,
            clientKind: options.clientKind ?? 'library',
            nodeUrls: options.nodeUrls,
            jwtSecret: options.jwtSecret,
            clients: layout[i] ?? [],
            reconnect: options.reconnect,
            connectPerSecond: options.connectPerSecond,
            connectTimeoutMs: options.connectTimeoutMs,
          }),
        ),
      );
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get pids(): number[] {
    return this.#workers.map((w) => w.pid);
  }

  /** Deliveries a phase should produce, given how many events each room got. */
  expectedDeliveries(perRoom: readonly number[]): number {
    return perRoom.reduce((sum, events, room) => sum + events * (this.clientsPerRoom[room] ?? 0), 0);
  }

  async begin(arg: BeginPhase): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.call('begin', arg)));
  }

  async progress(): Promise<LoadProgress> {
    const all = await Promise.all(this.#workers.map((w) => w.call('progress', {})));
    return {
      deliveries: sum(all.map((p) => p.deliveries)),
      stale: sum(all.map((p) => p.stale)),
      windowP99Ms: maxOrNull(all.map((p) => p.windowP99Ms)),
      eldP99Ms: Math.max(...all.map((p) => p.eldP99Ms)),
      down: sum(all.map((p) => p.down)),
      cutUp: sum(all.map((p) => p.cutUp)),
    };
  }

  /** Cuts every worker's cut clients at once; resolves when they are let back in. */
  async cut(durationMs: number): Promise<{ cutAt: number; restoredAt: number }[]> {
    return Promise.all(this.#workers.map((w) => w.call('cut', { durationMs })));
  }

  /** Cuts every worker's cut clients and keeps them out until {@link LoadPool.restore}. */
  async hold(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.call('hold', {})));
  }

  /** Lets the clients cut by {@link LoadPool.hold} in again. */
  async restore(): Promise<{ cutAt: number; restoredAt: number }[]> {
    return Promise.all(this.#workers.map((w) => w.call('restore', {})));
  }

  async end(arg: EndPhase): Promise<PoolPhaseReport> {
    const reports = await Promise.all(this.#workers.map((w) => w.call('end', arg)));
    return mergeReports(reports);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#workers.map((w) => w.call('close', {})));
    await Promise.all(this.#workers.map((w) => w.stop()));
  }
}

function mergeReports(reports: WorkerPhaseReport[]): PoolPhaseReport {
  const latency = new Histogram();
  const latencyNeverCut = new Histogram();
  for (const r of reports) {
    latency.merge(r.latency);
    latencyNeverCut.merge(r.latencyNeverCut);
  }
  const wire: WireCounters = {
    bytes: sum(reports.map((r) => r.wire.bytes)),
    messages: sum(reports.map((r) => r.wire.messages)),
    eventPackets: sum(reports.map((r) => r.wire.eventPackets)),
  };
  const recovery: RecoveryCounters = {
    cutClients: sum(reports.map((r) => r.recovery.cutClients)),
    recovered: sum(reports.map((r) => r.recovery.recovered)),
    recoveryMs: reports.flatMap((r) => r.recovery.recoveryMs),
    resyncs: sum(reports.map((r) => r.recovery.resyncs)),
    unexpectedDisconnects: sum(reports.map((r) => r.recovery.unexpectedDisconnects)),
    reconnectMs: reports.flatMap((r) => r.recovery.reconnectMs),
    replayed: sum(reports.map((r) => r.recovery.replayed)),
  };
  return {
    deliveries: sum(reports.map((r) => r.deliveries)),
    stale: sum(reports.map((r) => r.stale)),
    firstReceivedAt: minOrNull(reports.map((r) => r.firstReceivedAt)),
    lastReceivedAt: maxOrNull(reports.map((r) => r.lastReceivedAt)),
    latency,
    latencyNeverCut,
    missed: sum(reports.map((r) => r.missed)),
    duplicated: sum(reports.map((r) => r.duplicated)),
    outOfOrder: sum(reports.map((r) => r.outOfOrder)),
    missedCut: sum(reports.map((r) => r.missedCut)),
    duplicatedCut: sum(reports.map((r) => r.duplicatedCut)),
    wire,
    eventLoopDelay: reports.map((r) => r.eventLoopDelay),
    cpuS: sum(reports.map((r) => r.cpuS)),
    recovery,
    cuts: reports.flatMap((r) => (r.cut ? [r.cut] : [])),
    timeline: mergeTimelines(reports.map((r) => r.timeline)),
  };
}

function mergeTimelines(timelines: (DeliveryTimeline | null)[]): DeliveryTimeline | null {
  const present = timelines.filter((t): t is DeliveryTimeline => t !== null);
  const first = present[0];
  if (!first) return null;
  const length = Math.max(...present.map((t) => Math.max(t.published.length, t.received.length)));
  const add = (pick: (t: DeliveryTimeline) => number[]): number[] =>
    Array.from({ length }, (_, i) => sum(present.map((t) => pick(t)[i] ?? 0)));
  return { bucketMs: first.bucketMs, published: add((t) => t.published), received: add((t) => t.received) };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function maxOrNull(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
}

function minOrNull(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.min(...present);
}
