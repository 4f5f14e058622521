import { Agent, request } from 'node:http';
import { createPublisher } from '@roomwire/server';
import { cpuSeconds, machineBusySeconds, totalCpuSeconds } from '../measure/proc-stats';
import { closedLoop } from './closed-loop';
import { startFleet, type Fleet, type RedisShape } from './fleet';
import { EVENT_TYPE, openStreamProbe, orgName, payloadOf, SERVICE } from './workload';

/** How events are published: `POST /v1/publish` to the nodes, or `createPublisher` straight into Redis. */
export type PublishPath = 'http' | 'library';

/** Options of {@link measurePublishRates}. */
export interface PublishRateOptions {
  shapes: readonly RedisShape[];
  paths: readonly PublishPath[];
  /** Nodes that take the HTTP publishes (requests in turn). */
  nodes: number;
  streamPartitions: number;
  orgs: number;
  /** Requests (or emits) in flight. */
  concurrency: number;
  /** How long each path publishes, in ms. */
  durationMs: number;
  payloadBytes: number;
  log(line: string): void;
}

/** One (Redis shape, path) cell. */
export interface PublishRateCell {
  redis: string;
  path: PublishPath;
  eventsPerSecond: number;
  failed: number;
  firstFailure: string | null;
  /** Δ entries-added over the partition streams, per second. */
  entriesPerSecond: number;
  /** Redis CPU (every master) per entry, µs. */
  redisCpuUsPerEntry: number;
  /** Redis CPU (every master), cores busy on average. */
  redisCores: number;
  /** Node CPU (all nodes) per event, µs; 0 on the library path (no node involved). */
  nodeCpuUsPerEvent: number;
  /** CPU of this process (the load generator: HTTP client or the publisher library) per event, µs. */
  loadCpuUsPerEvent: number;
  /** The whole machine's busy cores on average (of the machine's count): near it means the machine, not Roomwire, was the limit. */
  machineBusyCores: number;
}

function shapeName(shape: RedisShape): string {
  return shape.kind === 'standalone' ? 'one Redis' : `Redis Cluster, ${shape.masters} masters`;
}

class StaleSocket extends Error {}

/** An HTTP publish sender over a keep-alive pool of `concurrency` sockets, nodes in turn. */
function httpSender(fleet: Fleet, options: PublishRateOptions): { send(seq: number): Promise<void>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const targets = fleet.nodes.map((n) => new URL(n.url));
  const attempt = (seq: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const target = targets[seq % targets.length] as URL;
      const body = JSON.stringify({ org: orgName(seq % options.orgs), service: SERVICE, type: EVENT_TYPE, data: payloadOf(seq, options.payloadBytes) });
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: '/v1/publish',
          method: 'POST',
          agent,
          timeout: 10_000,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${fleet.publishApiKey}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST /v1/publish answered ${res.statusCode}`))));
        },
      );
      req.on('timeout', () => req.destroy(new Error('POST /v1/publish timed out')));
      // A kept-alive socket the node closed as it was reused: sent again once on a new one, as HTTP clients do.
      req.on('error', (err: NodeJS.ErrnoException) => reject(req.reusedSocket && err.code === 'ECONNRESET' ? new StaleSocket(err.message) : err));
      req.end(body);
    });
  const send = (seq: number): Promise<void> => attempt(seq).catch((err: unknown) => (err instanceof StaleSocket ? attempt(seq) : Promise.reject(err)));
  return { send, close: () => agent.destroy() };
}

/**
 * The highest publish rate of each path on each Redis shape: `concurrency` closed loops for `durationMs`
 * (batching off on both paths, so every event is one entry), with the CPU each party spent.
 */
export async function measurePublishRates(options: PublishRateOptions): Promise<PublishRateCell[]> {
  const cells: PublishRateCell[] = [];
  for (const shape of options.shapes) {
    options.log(`[scale-out] publish rate on ${shapeName(shape)}: ${options.nodes} nodes, ${options.concurrency} in flight, ${options.durationMs / 1000} s per path`);
    const fleet = await startFleet({ redis: shape, nodeCount: options.nodes, streamPartitions: options.streamPartitions, nodeEnv: { BATCH_WINDOW_MS: '0' } });
    const probe = await openStreamProbe(fleet);
    try {
      for (const path of options.paths) {
        const publisher = path === 'library' ? await createPublisher({ ...fleet.publisherTarget, streamPartitions: options.streamPartitions, batching: false }) : null;
        const http = path === 'http' ? httpSender(fleet, options) : null;
        const send = async (seq: number): Promise<void> => {
          if (publisher) await publisher.to(orgName(seq % options.orgs), SERVICE).emit(EVENT_TYPE, payloadOf(seq, options.payloadBytes));
          else await (http as { send(seq: number): Promise<void> }).send(seq);
        };
        try {
          // Warm-up: connections, scripts, JIT.
          await closedLoop({ concurrency: options.concurrency, durationMs: Math.min(1000, options.durationMs / 4), send });
          const redisPids = fleet.redis.map((r) => r.pid);
          const nodePids = fleet.nodes.map((n) => n.pid);
          const addedBefore = await probe.entriesAdded();
          const redisBefore = totalCpuSeconds(redisPids);
          const nodesBefore = totalCpuSeconds(nodePids);
          const selfBefore = cpuSeconds(process.pid) ?? 0;
          const machineBefore = machineBusySeconds() ?? 0;
          const run = await closedLoop({ concurrency: options.concurrency, durationMs: options.durationMs, send });
          const seconds = run.elapsedMs / 1000;
          const redisS = totalCpuSeconds(redisPids) - redisBefore;
          const nodesS = totalCpuSeconds(nodePids) - nodesBefore;
          const selfS = (cpuSeconds(process.pid) ?? 0) - selfBefore;
          const machineS = (machineBusySeconds() ?? 0) - machineBefore;
          const entries = (await probe.entriesAdded()) - addedBefore;
          const cell: PublishRateCell = {
            redis: shapeName(shape),
            path,
            eventsPerSecond: run.ok / seconds,
            failed: run.failed,
            firstFailure: run.firstFailure,
            entriesPerSecond: entries / seconds,
            redisCpuUsPerEntry: entries > 0 ? (redisS * 1e6) / entries : 0,
            redisCores: redisS / seconds,
            nodeCpuUsPerEvent: path === 'http' && run.ok > 0 ? (nodesS * 1e6) / run.ok : 0,
            loadCpuUsPerEvent: run.ok > 0 ? (selfS * 1e6) / run.ok : 0,
            machineBusyCores: machineS / seconds,
          };
          cells.push(cell);
          options.log(
            `  ${path}: ${cell.eventsPerSecond.toFixed(0)} events/s (${run.failed} failed), Redis ${cell.redisCpuUsPerEntry.toFixed(1)} µs/entry on ${cell.redisCores.toFixed(2)} cores, ` +
              `nodes ${cell.nodeCpuUsPerEvent.toFixed(0)} µs/event, load generator ${cell.loadCpuUsPerEvent.toFixed(0)} µs/event, machine ${cell.machineBusyCores.toFixed(2)} cores busy`,
          );
        } finally {
          await publisher?.close();
          http?.close();
        }
      }
    } finally {
      await probe.close();
      await fleet.stop();
    }
  }
  return cells;
}
