import { ERROR_CODES, isErrorCode } from '@roomwire/shared';
import { haproxyServerStates } from '../../infra/cluster/haproxy';
import type { LocalCluster, LocalNode } from '../../infra/cluster/launch-cluster';
import { waitUntil } from '../../test/harness';
import { TEST_PUBLISH_KEY } from '../../test/support/tokens';
import type { ChaosConfig } from './config';
import { PROBE_BASE, type Fleet, type Receiver } from './fleet';
import type { SteadyLoad } from './load';
import type { Publisher } from '@roomwire/server';
import type { RedisClusterOptions } from '../../test/harness';
import { movesAfter, spread, type FaultRecord, type Move } from './measure';
import { clusterFailover, partitionMasterDown } from './cluster-scenarios';
import { clockStepBack, olderSnapshot } from './stream-back-scenarios';
import { awaitResyncs, byDisconnects, checkAllReady, checkNodesUntouched, pids } from './scenario-checks';

/** The scenarios, in the order `npm run chaos` runs them. */
export const SCENARIO_NAMES = [
  'node-kill',
  'node-stop',
  'redis-restart',
  'redis-restart-aof',
  'redis-unreachable',
  'redis-blackhole',
  'client-cuts',
  'clock-step-back',
  'older-snapshot',
  'cluster-failover',
  'partition-master-down',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** The scenarios `npm test` runs in quick mode (test/chaos.test.ts): the newer, slower ones only run by hand. */
export function quickTestScenarios(): ScenarioName[] {
  return SCENARIO_NAMES.filter((name) => SCENARIOS[name].inQuickTest !== false);
}

/** One expectation of a scenario and whether the run met it. */
export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

/** What a scenario's fault injection can use and record. */
export interface ScenarioContext {
  readonly cluster: LocalCluster;
  readonly fleet: Fleet;
  /** The publishing into {@link org}. */
  readonly load: SteadyLoad;
  /** The publishing into each of {@link orgs}. */
  readonly loads: ReadonlyMap<string, SteadyLoad>;
  readonly publisher: Publisher;
  readonly config: ChaosConfig;
  /** The org the fault is aimed at (the first of {@link orgs}). */
  readonly org: string;
  /** Every org with clients; each gets `ratePerSecond` events per second. */
  readonly orgs: readonly string[];
  log(message: string): void;
  /** Faults as they happen (ms since the Unix epoch). */
  readonly faults: FaultRecord[];
  check(what: string, ok: boolean, detail?: string): void;
  /** Waits `ms`: a fault's duration, never a condition. */
  hold(ms: number): Promise<void>;
}

/** One chaos scenario. */
export interface ScenarioDefinition {
  name: ScenarioName;
  /** The fault, in a line (the fault matrix's first column). */
  title: string;
  /** Redis with the append-only file on. */
  appendOnly?: boolean;
  /** Run on a real Redis Cluster of this shape instead of one redis-server (no Redis proxy then). */
  redisCluster?: RedisClusterOptions;
  /** `STREAM_PARTITIONS` of the nodes and the publisher. @default 1 */
  streamPartitions?: number;
  /** The orgs of the clients, the fault's first; each client class must hold one org. @default one new org */
  orgs?(cluster: LocalCluster, partitions: number): Promise<string[]>;
  /** Part of the quick run `npm test` does (test/chaos.test.ts); false keeps CI short. @default true */
  inQuickTest?: boolean;
  /** Which clients connect through a TCP proxy of their own (their network can be cut). */
  cuttable?(index: number, config: ChaosConfig): boolean;
  /** Injects the fault(s); returns once they are over. */
  inject(ctx: ScenarioContext): Promise<void>;
  /** The class of a client in the report (e.g. on the faulted node, or not). */
  classify(receiver: Receiver, ctx: ScenarioContext): string;
  /** The faults whose end a client's recovery time is measured from. */
  faultsOf?(receiver: Receiver, ctx: ScenarioContext): readonly FaultRecord[];
  /** Expectations beyond the common ones (no silent loss, no duplicate, order), checked after the run. */
  expect?(ctx: ScenarioContext): Promise<void> | void;
}

const random = (min: number, max: number): number => min + Math.random() * (max - min);

/**
 * Issue 12, item 9: the clients of a frozen node are connected to another node within this long of
 * the freeze (they notice it after the client's livenessTimeoutMs plus one check, at most 7 s with the defaults).
 */
export const FROZEN_NODE_LEFT_WITHIN_MS = 10_000;

/** The Socket.IO connections a node holds, from its Prometheus gauge. */
async function connectionsOf(node: LocalNode): Promise<number> {
  const res = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  const line = /^roomwire_connections(?:\{[^}]*\})? (\d+)$/m.exec(text);
  if (!line) throw new Error(`no roomwire_connections gauge in ${node.name}'s /metrics`);
  return Number(line[1]);
}

/**
 * How a cut client loses its network: half get connection resets (the proxy closes every connection and
 * refuses new ones), half a black hole (nothing forwarded either way, nothing closed).
 */
function cutKind(receiver: Receiver): 'reset' | 'black hole' {
  return receiver.index % 2 === 0 ? 'reset' : 'black hole';
}

function disconnects(fleet: Fleet): number {
  return fleet.receivers.reduce((n, r) => n + r.client.metrics().totalDisconnects, 0);
}

/** The status of GET `url`, 0 without an answer. Its bound finds a node that does not answer, not a slow one: a starved node answers /readyz after its 1 s Redis check and seconds of queueing. */
async function status(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

/** One HTTP publish straight to a node: its status, error code and how long it took. */
async function httpPublish(node: LocalNode, org: string, seq: number): Promise<{ status: number; code: string | undefined; ms: number }> {
  const started = Date.now();
  try {
    const res = await fetch(`${node.url}/v1/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_PUBLISH_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: `probe-${seq}`, amountCents: seq } }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json()) as { error?: { code?: string } };
    return { status: res.status, code: body.error?.code, ms: Date.now() - started };
  } catch (err) {
    return { status: 0, code: (err as Error).name, ms: Date.now() - started };
  }
}

function redisRestart(appendOnly: boolean): ScenarioDefinition {
  let before: number[] = [];
  let restartedAt = 0;
  return {
    name: appendOnly ? 'redis-restart-aof' : 'redis-restart',
    title: appendOnly ? 'Redis restarted with AOF on (stream kept)' : 'Redis restarted without persistence (stream lost)',
    appendOnly,
    async inject(ctx) {
      before = pids(ctx.cluster);
      restartedAt = Date.now();
      ctx.log(`restarting Redis (${appendOnly ? 'appendonly yes' : 'no persistence'})`);
      await ctx.cluster.redis.restart();
      ctx.faults.push({ label: 'Redis restart', at: restartedAt, endAt: Date.now() });
      ctx.log(`Redis answers PING again after ${Date.now() - restartedAt} ms`);
      // Every client held a position in the lost stream: each must be told to reload its state.
      if (!appendOnly) await awaitResyncs(ctx, restartedAt);
    },
    classify: byDisconnects,
    async expect(ctx) {
      const receivers = ctx.fleet.receivers;
      const resynced = receivers.filter((r) => r.resyncs.some((t) => t >= restartedAt)).length;
      if (appendOnly) {
        const signals = receivers.reduce((n, r) => n + r.resyncs.length, 0);
        ctx.check('no resync needed (the stream survived)', signals === 0, `${signals} resync signals`);
      } else {
        const last = Math.max(0, ...receivers.map((r) => r.resyncs.find((t) => t >= restartedAt) ?? 0));
        const back = ctx.faults[0]?.endAt ?? restartedAt;
        ctx.check(
          'every client told to resync (the stream was lost)',
          resynced === receivers.length,
          `${resynced} of ${receivers.length} clients, the last ${last - back} ms after Redis was back`,
        );
      }
      const after = ctx.load.records.filter((r) => r.startedAt >= (ctx.faults[0]?.endAt ?? Infinity) && r.ok).length;
      ctx.check('publishing works again after the restart', after > 0, `${after} events stored after Redis was back`);
      checkNodesUntouched(ctx, before);
      await checkAllReady(ctx, 10_000);
    },
  };
}

/**
 * Redis unreachable from the nodes and the publisher: `refused` closes every connection and refuses new
 * ones (Redis down, port closed); `black hole` forwards nothing and closes nothing (packets dropped).
 */
function redisUnreachable(kind: 'refused' | 'black hole'): ScenarioDefinition {
  let before: number[] = [];
  let during: { readyz: number[]; healthz: number[]; http: { status: number; code: string | undefined; ms: number }[] } | undefined;
  const probes: number[] = [];
  // Refused connections fail a publish at once; a black hole only when the 5 s command timeout fires.
  const settleBoundMs = kind === 'refused' ? 6000 : 9000;
  return {
    name: kind === 'refused' ? 'redis-unreachable' : 'redis-blackhole',
    title: kind === 'refused' ? 'Redis unreachable (connections refused)' : 'Redis unreachable (black hole: packets dropped)',
    async inject(ctx) {
      const proxy = ctx.cluster.redisProxy;
      if (!proxy) throw new Error('this scenario needs the nodes to reach Redis through a proxy');
      before = pids(ctx.cluster);
      const at = Date.now();
      if (kind === 'refused') proxy.cut();
      else proxy.blackhole();
      ctx.log(`Redis unreachable (${kind}) for ${ctx.config.unreachable.forMs} ms`);
      try {
        const nodes = ctx.cluster.nodes;
        // Readiness fails once PING does not answer within 1 s.
        await waitUntil(async () => (await Promise.all(nodes.map((n) => status(`${n.url}/readyz`)))).every((s) => s === 503), {
          what: 'every node to fail /readyz',
          timeoutMs: Math.max(1000, ctx.config.unreachable.forMs - 500),
          intervalMs: 100,
        }).catch(() => undefined);
        const readyz = await Promise.all(nodes.map((n) => status(`${n.url}/readyz`)));
        const healthz = await Promise.all(nodes.map((n) => status(`${n.url}/healthz`)));
        const http = await Promise.all(
          nodes.map((n, i) => {
            const seq = PROBE_BASE + probes.length * 10 + i;
            probes.push(seq);
            return httpPublish(n, ctx.org, seq);
          }),
        );
        during = { readyz, healthz, http };
        ctx.log(`during the outage: /readyz ${readyz.join(',')}, /healthz ${healthz.join(',')}, POST /v1/publish ${http.map((h) => `${h.status} ${h.code} in ${h.ms} ms`).join('; ')}`);
        const left = at + ctx.config.unreachable.forMs - Date.now();
        if (left > 0) await ctx.hold(left);
      } finally {
        if (kind === 'refused') proxy.restore();
        else proxy.heal();
      }
      ctx.faults.push({ label: 'Redis unreachable', at, endAt: Date.now() });
      ctx.log('Redis reachable again');
    },
    classify: byDisconnects,
    async expect(ctx) {
      ctx.check('/readyz failed on every node during the outage', during?.readyz.every((s) => s === 503) ?? false, `statuses ${during?.readyz.join(',')}`);
      ctx.check('/healthz answered 200 on every node during the outage', during?.healthz.every((s) => s === 200) ?? false, `statuses ${during?.healthz.join(',')}`);
      const http = during?.http ?? [];
      ctx.check(
        'HTTP publishes failed with 503 and a retryable code during the outage',
        http.length > 0 && http.every((h) => h.status === 503 && isErrorCode(h.code) && ERROR_CODES[h.code].retryable),
        http.map((h) => `${h.status} ${h.code} in ${h.ms} ms`).join('; '),
      );
      const failed = ctx.load.records.filter((r) => !r.ok);
      const codes = [...new Set(failed.map((r) => r.code))];
      ctx.check('library publishes failed during the outage', failed.length > 0, `${failed.length} failed`);
      ctx.check(
        'every failed publish carried a retryable error code',
        failed.every((r) => r.retryable === true),
        `codes: ${codes.join(', ') || 'none'}`,
      );
      const slowest = Math.max(0, ...ctx.load.records.map((r) => r.settledAt - r.startedAt));
      ctx.check(`no publish hung (each settled within ${settleBoundMs / 1000} s)`, slowest <= settleBoundMs, `slowest settled in ${slowest} ms`);
      const receivers = ctx.fleet.receivers;
      const got = probes.map((p) => receivers.filter((r) => r.probes.has(p)).length);
      if (kind === 'refused') {
        ctx.check('no failed HTTP publish reached a client', got.every((n) => n === 0), `clients per probe: ${got.join(', ')}`);
      } else {
        // A command already sent into the black hole runs when the hole heals, after its caller gave up:
        // the caller saw a retryable error, and the event reaches either every client or none.
        ctx.check(
          'no failed HTTP publish reached only some clients',
          got.every((n) => n === 0 || n === receivers.length),
          `clients per probe: ${got.join(', ')} (of ${receivers.length})`,
        );
      }
      checkNodesUntouched(ctx, before);
      const ms = await checkAllReady(ctx, 15_000);
      ctx.log(`/readyz 200 on every node ${ms} ms after the checks started`);
      const after = ctx.load.records.filter((r) => r.startedAt >= (ctx.faults[0]?.endAt ?? Infinity) && r.ok).length;
      ctx.check('publishing works again after the outage', after > 0, `${after} events stored after Redis was reachable`);
    },
  };
}

/**
 * SIGSTOP one node: it keeps its sockets open and answers nothing. Its clients must notice (no ping
 * for pingIntervalMs + pingTimeoutMs) and reconnect through HAProxy to another node, resuming from
 * their position, within {@link FROZEN_NODE_LEFT_WITHIN_MS} of the freeze. The node stays frozen for
 * `stop.forMs`, and at least until all its clients have moved (or that bound has long passed).
 */
function nodeStop(): ScenarioDefinition {
  /** Sockets on the node when it was frozen, and how each of its clients left. */
  let held = 0;
  let moves: Move[] = [];
  return {
    name: 'node-stop',
    title: 'SIGSTOP one node, SIGCONT later',
    async inject(ctx) {
      const node = ctx.cluster.nodes[Math.floor(Math.random() * ctx.cluster.nodes.length)] as LocalNode;
      held = await connectionsOf(node);
      const at = Date.now();
      node.pause();
      ctx.log(`SIGSTOP ${node.name} (${held} clients on it) for ${ctx.config.stop.forMs} ms at least, and until they are on other nodes`);
      // Observed, not required: when HAProxy's /readyz checks take the frozen node out of rotation.
      let down: number | undefined;
      const statsUrl = ctx.cluster.balancer.statsUrl;
      const watching = statsUrl
        ? waitUntil(async () => (await haproxyServerStates(statsUrl).catch(() => ({}) as Record<string, string>))[node.name]?.startsWith('DOWN') ?? false, {
            what: `HAProxy to mark ${node.name} DOWN`,
            timeoutMs: Math.max(ctx.config.stop.forMs, FROZEN_NODE_LEFT_WITHIN_MS),
            intervalMs: 100,
          }).then(
            () => (down = Date.now() - at),
            () => undefined,
          )
        : Promise.resolve();
      const moved = waitUntil(() => movesAfter(ctx.fleet.receivers, at, Infinity).filter((m) => m.movedMs !== null).length >= held, {
        what: `the ${held} clients of ${node.name} to be connected to other nodes`,
        timeoutMs: FROZEN_NODE_LEFT_WITHIN_MS * 2,
        intervalMs: 50,
      }).catch(() => undefined);
      let resumedAt = at;
      try {
        await Promise.all([ctx.hold(ctx.config.stop.forMs), moved]);
      } finally {
        // The fault ends at SIGCONT, not once the HAProxy watch settles: the resumed node flushes to its
        // clients at once, and arrivals after SIGCONT must not count as arrivals during the stop.
        resumedAt = Date.now();
        node.resume();
      }
      await watching;
      moves = movesAfter(ctx.fleet.receivers, at, resumedAt);
      const back = moves.flatMap((m) => (m.movedMs === null ? [] : [m.movedMs]));
      const seen = down === undefined ? 'not marked DOWN during the stop' : `marked DOWN by HAProxy after ${down} ms`;
      const left = back.length > 0 ? `; its clients on other nodes after ${spread(back).max} ms at most` : '';
      ctx.faults.push({ label: `SIGSTOP ${node.name} (${seen}${left})`, at, endAt: resumedAt });
      ctx.log(`${node.name} ${seen}; ${back.length} of ${held} clients moved${left}`);
      ctx.log(`SIGCONT ${node.name}`);
    },
    classify(receiver) {
      return moves.some((m) => m.receiver === receiver) ? 'on the stopped node' : 'other nodes';
    },
    expect(ctx) {
      ctx.check('the stopped node had clients', held > 0, `${held} clients`);
      const noticed = spread(moves.map((m) => m.noticedMs));
      const back = moves.flatMap((m) => (m.movedMs === null ? [] : [m.movedMs]));
      const worst = spread(back);
      ctx.check(
        `every client of the frozen node was connected to another node within ${FROZEN_NODE_LEFT_WITHIN_MS / 1000} s`,
        moves.length === held && back.length === held && worst.max <= FROZEN_NODE_LEFT_WITHIN_MS,
        `${back.length} of ${held} clients; noticed after ${noticed.min} / ${noticed.median} / ${noticed.max} ms, connected elsewhere after ${worst.min} / ${worst.median} / ${worst.max} ms (min / median / max)`,
      );
      ctx.check('every node running at the end', ctx.cluster.nodes.every((n) => n.running()), '');
    },
  };
}

export const SCENARIOS: Record<ScenarioName, ScenarioDefinition> = {
  'node-kill': {
    name: 'node-kill',
    title: 'SIGKILL a random node, then start it again',
    async inject(ctx) {
      const { everyMs, forMs } = ctx.config.kill;
      const started = Date.now();
      for (let round = 0; round * everyMs < forMs; round++) {
        const next = started + (round + 1) * everyMs;
        const node = ctx.cluster.nodes[Math.floor(Math.random() * ctx.cluster.nodes.length)] as LocalNode;
        const disconnectsBefore = disconnects(ctx.fleet);
        const at = Date.now();
        await node.stop('SIGKILL');
        const fault: FaultRecord = { label: `SIGKILL ${node.name}`, at, endAt: at };
        ctx.faults.push(fault);
        ctx.log(`SIGKILL ${node.name}`);
        await node.start();
        ctx.log(`${node.name} back in rotation after ${Date.now() - at} ms`);
        await waitUntil(() => ctx.fleet.receivers.every((r) => r.client.state === 'connected'), {
          what: 'every client connected again',
          timeoutMs: everyMs,
        }).catch(() => undefined);
        fault.label = `SIGKILL ${node.name} (${disconnects(ctx.fleet) - disconnectsBefore} connections dropped)`;
        if (next > Date.now()) await ctx.hold(next - Date.now());
      }
    },
    classify: byDisconnects,
    expect(ctx) {
      ctx.check('every node running at the end', ctx.cluster.nodes.every((n) => n.running()), '');
    },
  },
  'node-stop': nodeStop(),
  'redis-restart': redisRestart(false),
  'redis-restart-aof': redisRestart(true),
  'redis-unreachable': redisUnreachable('refused'),
  'redis-blackhole': redisUnreachable('black hole'),
  'client-cuts': {
    name: 'client-cuts',
    title: 'Client network cut at random (reset or black hole)',
    cuttable: (index, config) => index < Math.round(config.clients * config.cuts.fraction),
    async inject(ctx) {
      const { forMs, minMs, maxMs, maxPauseMs } = ctx.config.cuts;
      const until = Date.now() + forMs;
      const start = Date.now();
      await Promise.all(
        ctx.fleet.receivers
          .filter((r) => r.proxy !== undefined)
          .map(async (r) => {
            const proxy = r.proxy as NonNullable<Receiver['proxy']>;
            const blackHole = cutKind(r) === 'black hole';
            while (Date.now() < until) {
              await ctx.hold(random(0, maxPauseMs));
              if (Date.now() >= until) break;
              const at = Date.now();
              if (blackHole) proxy.blackhole();
              else proxy.cut();
              try {
                await ctx.hold(random(minMs, maxMs));
              } finally {
                if (blackHole) proxy.heal();
                else proxy.restore();
              }
              r.cuts.push([at, Date.now()]);
            }
          }),
      );
      const cuts = ctx.fleet.receivers.reduce((n, r) => n + r.cuts.length, 0);
      ctx.faults.push({ label: `${cuts} network cuts`, at: start, endAt: Date.now() });
      ctx.log(`${cuts} network cuts over ${Date.now() - start} ms`);
    },
    classify: (receiver) => (receiver.cuts.length > 0 ? `cut: ${cutKind(receiver)}` : 'never cut'),
    faultsOf: (receiver, ctx) =>
      receiver.cuts.length > 0
        ? receiver.cuts.map(([at, endAt], i) => ({ label: 'cut', at, endAt, ...(receiver.cuts[i + 1] ? { nextAt: receiver.cuts[i + 1]?.[0] } : {}) }))
        : ctx.faults,
    expect(ctx) {
      for (const kind of ['reset', 'black hole'] as const) {
        const cut = ctx.fleet.receivers.filter((r) => r.cuts.length > 0 && cutKind(r) === kind);
        ctx.check(`clients were cut (${kind})`, cut.length > 0, `${cut.length} clients, ${cut.reduce((n, r) => n + r.cuts.length, 0)} cuts`);
      }
    },
  },
  'clock-step-back': clockStepBack(),
  'older-snapshot': olderSnapshot(),
  'cluster-failover': clusterFailover(),
  'partition-master-down': partitionMasterDown(),
};
