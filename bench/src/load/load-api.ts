import type { HistogramJson } from '../measure/histogram';
import type { SystemName } from '../systems/system-names';

/** One simulated client: which room it sits in, which node it talks to, whether the storm cuts it. */
export interface ClientSpec {
  index: number;
  room: number;
  node: number;
  /** Behind the worker's cuttable proxy: disconnected during the recovery storm. */
  cut: boolean;
}

/** Client reconnect backoff, the same for every system. */
export interface ReconnectPolicy {
  minDelayMs: number;
  maxDelayMs: number;
  /** 0..1 */
  jitter: number;
}

/**
 * Which clients a load worker opens: the systems' own client libraries (socket.io-client,
 * `@roomwire/client`), or lean protocol-level clients (`lean-client.ts`) that cost the load generator
 * far less per delivery.
 */
export type ClientKind = 'library' | 'lean';

/** Everything a load worker needs to open its clients. */
export interface LoadWorkerInit {
  system: SystemName;
  /** @default 'library' */
  clientKind?: ClientKind;
  nodeUrls: string[];
  /** HS256 secret of the Roomwire nodes, to sign client tokens (unused by the baseline). */
  jwtSecret: string;
  clients: ClientSpec[];
  reconnect: ReconnectPolicy;
  connectPerSecond: number;
  connectTimeoutMs: number;
}

/** Starts accounting for one phase. */
export interface BeginPhase {
  phase: number;
  /** Wall-clock ms the publisher starts the phase's schedule at (time origin of the timeline). */
  startAt: number;
  /** Keep a timeline of deliveries by publish time and by receive time, in buckets of this many ms. */
  timelineBucketMs?: number;
}

/** Ends a phase: the publisher's per-room event counts give each client its expected sequence numbers. */
export interface EndPhase {
  phase: number;
  expectedPerRoom: number[];
}

/** Live counters of the current phase (sent about once a second). */
export interface LoadProgress {
  deliveries: number;
  /** Deliveries of earlier phases' events that arrived during this one. */
  stale: number;
  /** p99 latency since the previous progress call, in ms. */
  windowP99Ms: number | null;
  /** p99 event-loop delay of the worker since the previous progress call, in ms. */
  eldP99Ms: number;
  /** Clients currently disconnected. */
  down: number;
  /** Cut clients that are connected again. */
  cutUp: number;
}

/** Event-loop delay of a load worker over a phase, in ms. */
export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Wire counters of all of a worker's client connections. */
export interface WireCounters {
  /** TCP bytes read by the clients' sockets. */
  bytes: number;
  /** WebSocket data messages received. */
  messages: number;
  /** Of those, Socket.IO event packets carrying deliveries (`rw:event` or the baseline's `event`). */
  eventPackets: number;
}

/** How the recovery storm went for one worker's clients. */
export interface RecoveryCounters {
  cutClients: number;
  /** Cut clients that reconnected with their session recovered and never had to resync. */
  recovered: number;
  /** Per recovered cut client: ms from restore until it was connected and had every event published before it reconnected. */
  recoveryMs: number[];
  resyncs: number;
  /** Disconnects of clients that were never cut (should be 0). */
  unexpectedDisconnects: number;
  /** Per cut client connected again (recovered or not): ms from restore until it was connected. */
  reconnectMs: number[];
  /** Deliveries to cut clients, after they went down, of events published before they were up again (replayed). */
  replayed: number;
}

/** What one load worker measured over one phase. */
export interface WorkerPhaseReport {
  deliveries: number;
  stale: number;
  firstReceivedAt: number | null;
  lastReceivedAt: number | null;
  latency: HistogramJson;
  /** Latency of the clients that were never cut. */
  latencyNeverCut: HistogramJson;
  missed: number;
  duplicated: number;
  outOfOrder: number;
  missedCut: number;
  duplicatedCut: number;
  wire: WireCounters;
  eventLoopDelay: EventLoopDelay;
  /** CPU seconds of the worker process over the phase. */
  cpuS: number;
  recovery: RecoveryCounters;
  /** Wall-clock ms when this worker cut and restored its cut clients (recovery storm only). */
  cut: { cutAt: number; restoredAt: number } | null;
  timeline: DeliveryTimeline | null;
}

/** Deliveries per time bucket, by publish time (envelope ts) and by receive time, from `startAt`. */
export interface DeliveryTimeline {
  bucketMs: number;
  published: number[];
  received: number[];
}

/** The API a load worker serves to the orchestrator. */
export interface LoadWorkerApi {
  /** Opens the clients; resolves once each is connected and subscribed. */
  init(arg: LoadWorkerInit): Promise<{ connectMs: number }>;
  begin(arg: BeginPhase): void;
  progress(arg: Record<string, never>): LoadProgress;
  /** Cuts the cut clients now, refuses their reconnects for `durationMs`, then lets them in. */
  cut(arg: { durationMs: number }): Promise<{ cutAt: number; restoredAt: number }>;
  /** Cuts the cut clients now and refuses their reconnects until {@link LoadWorkerApi.restore}. */
  hold(arg: Record<string, never>): { cutAt: number };
  /** Lets the clients cut by {@link LoadWorkerApi.hold} in again. */
  restore(arg: Record<string, never>): { cutAt: number; restoredAt: number };
  end(arg: EndPhase): WorkerPhaseReport;
  close(arg: Record<string, never>): Promise<void>;
}
