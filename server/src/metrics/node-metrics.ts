import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the metrics read from the node when scraped. */
export interface MetricsSources {
  connections(): number;
  subscriptions(): number;
  /** Partitions this node reads now. */
  partitionsRead(): number;
  /** Milliseconds between the newest stream entry and the last one this node delivered; undefined without Redis. */
  streamReadLagMs(): Promise<number | undefined>;
}

/** The node's Prometheus metrics (prefixed `roomwire_`) and the hooks that feed them. */
export interface NodeMetrics {
  readonly registry: Registry;
  /** An event accepted for publishing through this node (library or HTTP), and how long it took. */
  published(seconds: number): void;
  /** A publish refused or failed, by error code. */
  publishFailed(code: string): void;
  /** A durable frame appended to the stream by this node. */
  frameAppended(events: number): void;
  /** A frame of `events` events, the first published at `firstTs`, delivered to `sockets` local sockets. */
  delivered(events: number, firstTs: number | undefined, sockets: number): void;
  /** Entries read from partition `index`'s stream. */
  entriesRead(index: number, count: number): void;
  /** Volatile events not sent to sockets under pressure. */
  volatileDropped(count: number): void;
  /** A slow consumer evicted. */
  evicted(): void;
  /** A request refused by a rate limit. */
  rateLimited(limit: string): void;
  /** An admin UI login refused: wrong credentials, or too many failures from its address. */
  adminLoginFailed(reason: 'credentials' | 'rate_limited'): void;
  /** A TCP connection refused because the node was at its connection limit. */
  connectionRefused(): void;
  /** A replay's outcome. */
  replayed(result: { recovered: boolean; source: 'memory' | 'stream'; reason?: string }): void;
  /** Running totals and the recent delivery latency, for the status page. */
  totals(): MetricsTotals;
}

/** Plain totals since start, and delivery latency over the last frames. */
export interface MetricsTotals {
  published: number;
  delivered: number;
  /** Percentiles of publish → node delivery over the last {@link RECENT_LATENCIES} frames, in ms. */
  latencyMs: { p50: number; p99: number } | null;
}

/** How many recent frames the status page's latency covers. */
export const RECENT_LATENCIES = 512;

/** Creates the metrics of one node on a registry of its own (default process metrics included). */
export function createNodeMetrics(nodeId: string, sources: MetricsSources): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  new Gauge({
    name: 'roomwire_connections',
    help: 'Sockets connected to this node.',
    registers,
    collect() {
      this.set(sources.connections());
    },
  });
  new Gauge({
    name: 'roomwire_subscriptions',
    help: 'Service subscriptions (socket × service) on this node.',
    registers,
    collect() {
      this.set(sources.subscriptions());
    },
  });
  new Gauge({
    name: 'roomwire_partitions_read',
    help: 'Stream partitions this node reads now (those its sockets’ orgs are in).',
    registers,
    collect() {
      this.set(sources.partitionsRead());
    },
  });
  const entriesRead = new Counter({
    name: 'roomwire_stream_entries_read_total',
    help: 'Stream entries (frames and heartbeats) this node read, by partition.',
    labelNames: ['partition'],
    registers,
  });
  new Gauge({
    name: 'roomwire_stream_read_lag_seconds',
    help: 'How far this node’s slowest partition reader is behind its stream’s newest entry.',
    registers,
    async collect() {
      const lag = await sources.streamReadLagMs().catch(() => undefined);
      if (lag !== undefined) this.set(Math.max(0, lag) / 1000);
    },
  });
  const published = new Counter({ name: 'roomwire_events_published_total', help: 'Events accepted for publishing through this node (library or HTTP).', registers });
  const publishFailures = new Counter({ name: 'roomwire_publish_failures_total', help: 'Publishes refused or failed, by error code.', labelNames: ['code'], registers });
  const publishDuration = new Histogram({
    name: 'roomwire_publish_duration_seconds',
    help: 'From a publish request to its event stored in the stream (batching included).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const batchEvents = new Histogram({
    name: 'roomwire_batch_events',
    help: 'Events per frame appended to the stream by this node.',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200],
    registers,
  });
  const delivered = new Counter({ name: 'roomwire_events_delivered_total', help: 'Events sent to sockets of this node (events × sockets).', registers });
  const deliveryLatency = new Histogram({
    name: 'roomwire_delivery_latency_seconds',
    help: 'From publish (envelope ts) to the node sending the frame to its sockets.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const volatileDrops = new Counter({ name: 'roomwire_volatile_dropped_total', help: 'Volatile events not sent to sockets under pressure.', registers });
  const rateLimited = new Counter({ name: 'roomwire_rate_limited_total', help: 'Requests refused by a rate limit, by limit (handshake, client_event, publish, admin_login, client_publish).', labelNames: ['limit'], registers });
  const adminLoginFailures = new Counter({
    name: 'roomwire_admin_login_failures_total',
    help: 'Admin UI logins refused, by reason (credentials: wrong user name or password; rate_limited: too many failures from the address).',
    labelNames: ['reason'],
    registers,
  });
  const connectionsRefused = new Counter({ name: 'roomwire_connections_refused_total', help: 'TCP connections refused because the node was at its connection limit (MAX_CONNECTIONS).', registers });
  const evictions = new Counter({ name: 'roomwire_slow_consumer_evictions_total', help: 'Sockets evicted because they could not keep up.', registers });
  const recoveries = new Counter({
    name: 'roomwire_recoveries_total',
    help: 'Replays after reconnects, by result (recovered | resynced) and source (memory | stream).',
    labelNames: ['result', 'source'],
    registers,
  });
  const resyncs = new Counter({ name: 'roomwire_resyncs_total', help: 'Replays refused (the client resyncs), by reason.', labelNames: ['reason'], registers });

  let publishedTotal = 0;
  let deliveredTotal = 0;
  const recent = new Float64Array(RECENT_LATENCIES);
  let recentCount = 0;
  return {
    registry,
    totals() {
      const n = Math.min(recentCount, RECENT_LATENCIES);
      if (n === 0) return { published: publishedTotal, delivered: deliveredTotal, latencyMs: null };
      const sorted = Array.from(recent.subarray(0, n)).sort((x, y) => x - y);
      const at = (q: number): number => sorted[Math.min(n - 1, Math.floor(q * n))] as number;
      return { published: publishedTotal, delivered: deliveredTotal, latencyMs: { p50: at(0.5), p99: at(0.99) } };
    },
    published(seconds) {
      publishedTotal += 1;
      published.inc();
      publishDuration.observe(seconds);
    },
    publishFailed: (code) => publishFailures.inc({ code }),
    frameAppended: (events) => batchEvents.observe(events),
    delivered(events, firstTs, sockets) {
      if (sockets === 0 || events === 0) return;
      delivered.inc(events * sockets);
      deliveredTotal += events * sockets;
      if (firstTs === undefined) return;
      const ms = Math.max(0, Date.now() - firstTs);
      deliveryLatency.observe(ms / 1000);
      recent[recentCount % RECENT_LATENCIES] = ms;
      recentCount += 1;
    },
    entriesRead: (index, count) => entriesRead.inc({ partition: String(index) }, count),
    volatileDropped: (count) => {
      if (count > 0) volatileDrops.inc(count);
    },
    evicted: () => evictions.inc(),
    rateLimited: (limit) => rateLimited.inc({ limit }),
    adminLoginFailed: (reason) => adminLoginFailures.inc({ reason }),
    connectionRefused: () => connectionsRefused.inc(),
    replayed(result) {
      recoveries.inc({ result: result.recovered ? 'recovered' : 'resynced', source: result.source });
      if (!result.recovered) resyncs.inc({ reason: result.reason ?? 'unknown' });
    },
  };
}
