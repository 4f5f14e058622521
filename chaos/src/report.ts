import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import type { ChaosConfig } from './config';
import type { ScenarioResult } from './run';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios';

const run = promisify(execFile);

/** The machine a run happened on. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  redis: string;
  haproxy: string;
  os: string;
  /** 1, 5 and 15 minute load averages at the start. */
  loadAverage: number[];
  loadAverageAfter?: number[];
}

/** A whole `npm run chaos` run, as written to the results JSON. */
export interface ChaosRun {
  command: string;
  mode: ChaosConfig['mode'];
  config: ChaosConfig;
  machine: Machine;
  finishedAt: string;
  scenarios: ScenarioResult[];
}

async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args);
    return (stdout || stderr).split('\n')[0]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function describeMachine(): Promise<Machine> {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: await firstLine('redis-server', ['--version']),
    haproxy: await firstLine('haproxy', ['-v']),
    os: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/**
 * `saved` with the scenarios of `run` in place of its own of the same names (in the order of
 * {@link SCENARIO_NAMES}); each result taken from `run` records the command and machine load of its run.
 */
export function mergeRuns(saved: ChaosRun, run: ChaosRun): ChaosRun {
  const separateRun = { command: run.command, finishedAt: run.finishedAt, loadAverage: run.machine.loadAverage, loadAverageAfter: run.machine.loadAverageAfter ?? [] };
  const byName = new Map<ScenarioName, ScenarioResult>(saved.scenarios.map((r) => [r.name, r]));
  for (const r of run.scenarios) byName.set(r.name, { ...r, separateRun });
  return { ...saved, config: { ...run.config, ...saved.config }, scenarios: SCENARIO_NAMES.flatMap((name) => byName.get(name) ?? []) };
}

/** What Roomwire promises under each fault, and what it does not: the hand-written part of the doc. */
const PROMISES: Record<ScenarioName, { promise: string; not: string }> = {
  'node-kill': {
    promise:
      'A node that dies without warning (SIGKILL, OOM kill, host loss) costs its clients a reconnect: HAProxy sends them to a live node (`retries` + `redispatch`, then the `/readyz` check takes the dead node out), they resume from their position with `rw:resume`, and the new node replays every durable event they missed from the stream. No resync, no duplicate reaching the app (the client de-duplicates by id), order kept. Clients of the other nodes notice nothing. A node started again on the same port takes new sessions once HAProxy sees two good checks.',
    not: 'The Socket.IO session of a killed node is not saved (there is no time to), so its clients take the `rw:resume` path rather than Socket.IO recovery: one extra round trip. Volatile events (presence) for them are lost while they reconnect. Publishes through the killed node\'s HTTP API that were in flight get no answer; retry them with an `idempotencyKey`.',
  },
  'node-stop': {
    promise:
      'A frozen node (SIGSTOP, a stop-the-world pause, a hung VM) loses nothing, and its clients leave it: having heard nothing for the client\'s `livenessTimeoutMs` (6 s by default; a node sends every silent connection a heartbeat every 2.5 s), each drops its connection, reconnects through HAProxy to another node and resumes from its position there (an attempt that still reaches the frozen node is given up after the client\'s 3 s `connectTimeoutMs`). Checked: every client of the frozen node is on another node within 10 s of the freeze (the times are under the scenario). HAProxy takes the node out of rotation once two `/readyz` checks have timed out (the time measured is in the fault\'s label above), so new sessions go to the other nodes. When the node runs again it reads the stream from where it stopped and goes on. Clients of the other nodes notice nothing.',
    not: 'For up to 7 s (until the liveness deadline) the clients of the frozen node get nothing (the stall column); events are delayed, not lost. HAProxy does not close established WebSocket tunnels when it marks a node down, so the liveness deadline is what moves them: a freeze shorter than 6 s may go unnoticed, and the clients then stall for the freeze. A client whose own main thread is blocked for longer than 6 s takes its node for dead and reconnects (and recovers). Clients other than Roomwire\'s notice only by Engine.IO\'s ping (45 s by default; see docs/decisions.md).',
  },
  'redis-restart': {
    promise:
      'When Redis comes back empty (no persistence), the stream, its epoch and the saved sessions are gone. The nodes reconnect by themselves, notice the new epoch as soon as they do, and send every synced client `rw:resync` (`stream-reset`) for its services, followed by a watermark in the new epoch: the app reloads its state. Events published after Redis is back are delivered to everyone without restarting anything. Publishes while Redis is down fail with `RW_ERR_UNAVAILABLE` (retryable).',
    not: 'Events stored in the lost stream that a node had not read yet, and whatever a disconnected client had not received, are gone: the resync is the only remedy, the app must refetch. Publishes that failed while Redis was down are not retried for you. Run Redis with AOF (next row) if a restart must not cost a resync.',
  },
  'redis-restart-aof': {
    promise:
      'With `appendonly yes` a Redis restart keeps the stream and its epoch: nothing is lost, no client resyncs, clients stay connected, the nodes reconnect by themselves and go on reading where they were. Publishes during the restart fail with `RW_ERR_UNAVAILABLE` (retryable): retry them, with an `idempotencyKey` so that one that was in fact stored is not delivered twice.',
    not: 'AOF with `appendfsync everysec` (the default) can lose up to a second of writes on a crash of the Redis host (not on a clean restart, as here); events acknowledged in that second would then be lost without a resync if the epoch survived. Use `appendfsync always` or replication if that matters.',
  },
  'redis-unreachable': {
    promise:
      'While Redis is unreachable the nodes stay up and keep their sockets; `/healthz` answers 200 and `/readyz` 503 (so HAProxy stops sending new sessions, while open ones stay); every publish, library or `POST /v1/publish`, fails quickly and loudly with `RW_ERR_UNAVAILABLE` (503, retryable) instead of hanging, and a failed publish is never delivered to anyone. When Redis is reachable again everything recovers by itself: `/readyz` turns 200, publishes succeed, delivery goes on with no loss and no resync.',
    not: 'Nothing is buffered for you: events published during the outage are refused and the caller must retry (with an `idempotencyKey`, a retry of a publish that was in fact stored is not delivered twice). New clients cannot connect during the outage (no node is ready).',
  },
  'redis-blackhole': {
    promise:
      'The same outage when packets are dropped instead of refused (a partition, a dead host): nodes stay up, `/readyz` fails within about a second (its PING times out), publishes fail with `RW_ERR_UNAVAILABLE` (retryable) when the 5 s command timeout fires instead of hanging, no failed publish reaches only some clients, and everything recovers by itself when the packets flow again, with no loss and no resync.',
    not: 'A publish is slow to fail here (up to the 5 s command timeout), and the outcome of a publish that timed out is unknown to its caller: a command already on its way runs when the network heals, so the event may be stored and delivered (to every client) although the call failed (*failed but delivered* below). Retry with an `idempotencyKey` so that such an event is not delivered twice. Those events, and the publishes still waiting when the network heals, reach the clients in one burst, which is what the recovery time after the hole measures (a publish after the heal is stored at once).',
  },
  'clock-step-back': {
    promise:
      'Redis comes back empty on a host whose clock is 30 s behind the one before, so the offsets it gives new entries are *smaller* than those the nodes and clients hold: the stream moved back in time. The nodes notice the new epoch (the append script and the readers check it, not the clock) and tell every client to resync (`stream-reset`); after its resync a client gets every event published, with no gap and nothing out of order, although the new offsets sort before the old ones.',
    not: 'What the lost stream held is gone (the resync is the remedy, as for any restart without persistence). Publishes while Redis is down fail with `RW_ERR_UNAVAILABLE` (retryable). Run the Redis host with a disciplined clock (NTP, `makestep` only at boot) all the same: offsets are times.',
  },
  'older-snapshot': {
    promise:
      'Redis restored from an older RDB snapshot has the *same* epoch but a stream whose head is behind what the nodes read and the clients hold. Writers notice (the append script compares the stream with the latest offset they saw) and open a new epoch; every client is told to resync and then gets every event published after its resync. No client is left waiting silently for offsets the restored stream will never have.',
    not: 'The events between the snapshot and the crash are gone from the stream; clients that had them keep them, others get them only through their app reloading its state. A restore while no writer publishes is noticed at the next publish, not before.',
  },
  'cluster-failover': {
    promise:
      'On a Redis Cluster (3 masters, 1 replica each, 16 partitions), a failover that loses writes the old master had acknowledged (replication paused, then `CLUSTER FAILOVER TAKEOVER`): the clients of the orgs in the failed-over partitions either get every event or are told to resync, never silence; the nodes and the publisher follow the new master by themselves. Orgs whose partitions live on the other masters notice nothing: no resync, no reconnect, no loss.',
    not: 'Writes acknowledged by the old master and not replicated are lost for good (Redis replication is asynchronous; `WAIT` is not used): clients that had received them keep them, others only get them back by reloading state. Publishes during the switch may fail with `RW_ERR_UNAVAILABLE` (retryable), including an append the cluster client sent again after a `MOVED` once a later append of the same publisher was stored (refused by the append fence rather than stored out of order). Two gaps this scenario found are fixed: publishes in flight during the switch were stored out of order (pipelined appends queued on the old master reached the new one after newer ones; 6 of 8 earlier runs), and part of the clients got nothing after their resync (a node\'s cluster client kept a slot map with no owner for the failed-over slots, so its reader of the partition failed for ever; 2 of 8 earlier runs). Over 8 full-size runs with both fixes: 0 out of order and 0 silent loss in each (in one of the 6 whose node logs were kept, a node\'s slot map had the hole, and it healed within a second). **Known gap (open):** 2 of those 8 runs (the one above is one) failed the duplicate check: every client of the failed-over org was handed some events twice (6 and 28 per client), all after its resync signal, in the new epoch (a reader goes back to the new epoch\'s start, and a resync resets the client\'s position dedup). Likely, not verified: a reader whose read the cluster client sent again after a `MOVED` (no error, so no check) read entries of the new master before another node opened the new epoch at its head, and then read them again from that start.',
  },
  'partition-master-down': {
    promise:
      'One master of a 3-master Redis Cluster dies (SIGKILL); its replica takes over after the cluster node timeout. Only the orgs whose partitions were on that master are affected: their publishes fail with a retryable code until the replica is promoted, and their clients stall for that long, then get every event published after it (or a resync if acknowledged writes were lost). Clients of orgs on the other masters keep receiving without a gap beyond normal, and no publish into those orgs fails. The old master, started again, rejoins as a replica.',
    not: 'Without a replica (or with `cluster-require-full-coverage yes`) the affected orgs stay down until the master is back. Writes the dead master acknowledged but had not replicated are lost (then the affected clients resync).',
  },
  'client-cuts': {
    promise:
      'A client whose network drops for seconds (1–20 s here) reconnects when it can and gets every durable event it missed, in order and once: by Socket.IO connection-state recovery (its session was saved when the node saw the connection close) or by `rw:resume` from its position, for up to the replay window (5 min by default). Other clients are unaffected.',
    not: 'Volatile events are lost during the cut. A client away for longer than the replay window gets a resync instead of a replay. A silent black hole shorter than the liveness deadline (the client\'s `livenessTimeoutMs`, 6 s by default) is not noticed at all: delivery resumes from the buffers when packets flow again.',
  },
};

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

function matrix(results: readonly ScenarioResult[]): string {
  const head =
    '| Fault | Clients (class) | Published | Failed publishes | Delivered | Lost | Gap covered by resync | Duplicated to app | Resync signals (clients) | Disconnects | Longest stall | Recovery max / median | Result |\n' +
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|';
  const rows: string[] = [];
  for (const r of results) {
    Object.entries(r.classes).forEach(([cls, c], i) => {
      const fault = i === 0 ? `**${r.title}** (\`${r.name}\`)` : '';
      const failed = i === 0 ? String(r.publishes.failed) : '';
      const verdict = i === 0 ? (r.ok ? 'pass' : '**FAIL**') : '';
      rows.push(
        `| ${fault} | ${c.clients} (${cls}) | ${c.published} | ${failed} | ${c.delivered} | ${c.lost} | ${c.gapCoveredByResync} | ${c.duplicatedToApp} | ${c.resyncSignals} (${c.clientsResynced}) | ${c.disconnects} | ${ms(c.longestStallMs)} | ${c.recoveryMs ? `${ms(c.recoveryMs.max)} / ${ms(c.recoveryMs.median)}` : '–'} | ${verdict} |`,
      );
    });
  }
  return `${head}\n${rows.join('\n')}`;
}

function details(r: ScenarioResult): string {
  const faults = r.faults.map((f) => `${f.label} at ${(f.atMs / 1000).toFixed(1)} s${f.durationMs > 0 ? ` for ${ms(f.durationMs)}` : ''}`);
  const codes = Object.entries(r.publishes.failedByCode).map(([code, n]) => `${n} × \`${code}\``);
  return [
    `### \`${r.name}\`: ${r.title}`,
    '',
    `- Faults (from the first publish): ${faults.length > 20 ? `${faults.slice(0, 3).join('; ')}; … (${faults.length} in all)` : faults.join('; ') || 'none'}.`,
    `- Publishes: ${r.publishes.started} started, ${r.publishes.stored} stored, ${r.publishes.failed} failed${codes.length > 0 ? ` (${codes.join(', ')})` : ''}; slowest call settled in ${ms(r.publishes.slowestSettleMs)}; failed but delivered anyway: ${r.publishes.failedButDelivered}.`,
    ...(r.separateRun
      ? [
          `- Run on its own: \`${r.separateRun.command}\`, finished ${r.separateRun.finishedAt}, load average ${r.separateRun.loadAverage.join(' / ')} at the start, ${r.separateRun.loadAverageAfter.join(' / ')} at the end.`,
        ]
      : []),
    `- Run time ${ms(r.durationMs)} (cluster start-up included). Event-loop delay of the load generator (the process of the clients, the publisher and the proxies): p99 ${r.loadGenerator ? ms(r.loadGenerator.eventLoopDelayP99Ms) : '–'}, max ${r.loadGenerator ? ms(r.loadGenerator.eventLoopDelayMaxMs) : '–'}.`,
    '',
    ...r.checks.map((c) => `- ${c.ok ? '✅' : '❌'} ${c.what}${c.detail ? ` — ${c.detail}` : ''}`),
    '',
    `**Promised.** ${PROMISES[r.name].promise}`,
    '',
    `**Not promised.** ${PROMISES[r.name].not}`,
  ].join('\n');
}

/** The whole of docs/reliability.md, from one run: rerun the command (or `--render` its JSON) to reproduce it. */
export function renderReliabilityDoc(chaos: ChaosRun): string {
  const m = chaos.machine;
  const busy = Math.max(...m.loadAverage, ...(m.loadAverageAfter ?? [])) > m.cores;
  const c = chaos.config;
  return `<!-- Generated by chaos/src/report.ts from ${chaos.mode === 'full' ? 'chaos/results/latest.json' : 'a quick run'}: do not edit by hand. Edit the template, then run \`npm run chaos -- --render chaos/results/latest.json\` (or \`npm run chaos\` for a new run). -->

# Reliability: the fault matrix

What happens to delivery when parts of a Roomwire cluster fail, measured, not argued. Every number
below comes from one run of

\`\`\`sh
${chaos.command}
\`\`\`

finished ${chaos.finishedAt}${
    chaos.scenarios.some((r) => r.separateRun)
      ? ` (except the scenarios run on their own later, on the same machine, and merged in with \`--merge\`: ${chaos.scenarios
          .filter((r) => r.separateRun)
          .map((r) => `\`${r.name}\``)
          .join(', ')}; each gives its command under its name)`
      : ''
  }, on ${m.cpu} (${m.cores} cores), ${m.memoryGiB} GiB RAM, ${m.os}; Node ${m.node},
${m.redis}, ${m.haproxy}. Load average ${m.loadAverage.join(' / ')} (1 / 5 / 15 min) at the start,
${(m.loadAverageAfter ?? []).join(' / ')} at the end.${
    busy
      ? ` **The machine was busy** (load above its ${m.cores} cores: other engineers' tests and benchmarks ran at the same time, and the nodes, HAProxy, Redis and all ${c.clients} clients share those cores): stall and recovery times are inflated by it; the counts are not.`
      : ''
  }

## Set-up

Each scenario starts a fresh cluster on loopback: a private \`redis-server\` (no persistence, or AOF
for \`redis-restart-aof\`), three Roomwire nodes (the server CLI, from source, child processes) that
reach Redis through a TCP proxy (so that Redis can be made unreachable), and HAProxy running the
committed \`infra/haproxy/haproxy.cfg\`. ${c.clients} real \`@roomwire/client\` clients connect through
HAProxy over WebSocket and subscribe to one room (\`billing\` of one org). A publisher
(\`createPublisher\`, writing into the stream through the same proxy as the nodes) publishes
${c.ratePerSecond} durable events per second, numbered 0, 1, 2 …, for ${c.warmupMs / 1000} s before the fault, during it, and,
once a publish started after the fault is stored, ${c.settleMs / 1000} s more. Then the run waits (at most ${c.catchUpTimeoutMs / 1000} s) until every client has every stored event or a
resync signal after it, and counts what each app handler saw.

The clients, the publisher and the TCP proxies all run in one Node process, the load generator; its
event-loop delay is given under each scenario. When it is starved (a busy machine, or hundreds of
clients reconnecting and replaying at once), the clients see events late, which inflates stalls and
recovery times, and the publisher may read Redis's reply after the 5 s append deadline: the publish
then fails with \`RW_ERR_UNAVAILABLE\` although the event was stored, and is counted as *failed but
delivered* (to every client, never to some only).

Faults (full run): SIGKILL a random node every ${c.kill.everyMs / 1000} s for ${c.kill.forMs / 1000} s (each started again at once on its
port); SIGSTOP a random node for ${c.stop.forMs / 1000} s (and at least until its clients are on other nodes); restart Redis without persistence, and with AOF; make Redis
unreachable for ${c.unreachable.forMs / 1000} s; cut the network of ${Math.round(c.cuts.fraction * 100)} % of the clients at random (each cut
${c.cuts.minMs / 1000}–${c.cuts.maxMs / 1000} s, up to ${c.cuts.maxPauseMs / 1000} s apart) for ${c.cuts.forMs / 1000} s. \`npm test\` runs the same scenarios small and short
(\`test/chaos.test.ts\`, \`--quick\`) with the same checks, except \`older-snapshot\` and the two Redis Cluster scenarios below, which run only by hand.

Faults where Redis comes back behind what the nodes read: Redis restarted empty on a clock
${(c.clockStepBack?.behindMs ?? 30_000) / 1000} s behind the one before (\`clock-step-back\`, the clock shim of \`test/harness/clock-offset.ts\`), and Redis restored
from an RDB snapshot taken ${(c.olderSnapshot?.ageMs ?? 5000) / 1000} s of publishing before a SIGKILL (\`older-snapshot\`: same epoch, a head behind).
Faults of a Redis Cluster: these two scenarios run the nodes and the publisher on a real
Redis Cluster (3 masters with a replica each, cluster node timeout 1 s, 16 stream partitions, no
Redis proxy) with the clients split over two orgs whose partitions sit on different masters (both
published to at the steady rate): a failover that loses acknowledged writes (the replica of the
first org's master is frozen, the master acknowledges 16 MB more than it can ship, is frozen too,
and the replica takes over with \`CLUSTER FAILOVER TAKEOVER\`; \`cluster-failover\`), and that master
SIGKILLed, its replica promoted, the old master started again ${(c.masterDown?.forMs ?? 10_000) / 1000} s later (\`partition-master-down\`).

## Definitions

- **Published**: events whose publish call resolved (stored in the stream). A publish that failed
  loudly (rejected with an error code) is not published and is owed to no one.
- **Delivered**: events handed to the app's handler, first time, summed over the clients of the class.
- **Lost**: a published event a client's app never got, *unless* the client got a resync signal
  (\`onResync\`) after the event's publish started: the app reloads its state then, so a gap before
  the resync point is allowed. Every event published after a client's last resync signal must
  arrive. Lost is silent loss; any is a failure.
- **Gap covered by resync**: events a client did not get, all before a resync signal it did get.
- **Duplicated to app**: events handed to the app twice (after the client's de-duplication); any is a failure.
- **Resync signals (clients)**: \`onResync\` calls, and how many clients got at least one.
- **Disconnects**: times a client's connection dropped (each followed by a reconnect), summed.
- **Longest stall**: the longest time a client of the class went without a new event while events were being published.
- **Recovery**: from the end of a fault (the kill, the SIGCONT, Redis back, the end of a client's own
  cut) until the client's app gets the first event published after it: worst over the clients, and
  median of each client's worst. A client cut again before it recovered is not counted for that cut.
- Client classes: *reconnected* / *stayed connected* (whether the client's connection dropped at
  least once), *on the stopped node* (its connection dropped while the node was frozen) / *other
  nodes*, *cut* / *never cut*.
- Besides the counts, every scenario checks the order of events, that no failed publish is half
  delivered (some clients only), and its own expectations (listed under each scenario).

## Fault matrix

${matrix(chaos.scenarios)}

## Per fault: what was checked, what is promised, what is not

${chaos.scenarios.map(details).join('\n\n')}

## Not covered by these scenarios

- Redis Sentinel failover, and a Redis host crash with AOF (\`appendfsync everysec\` may lose the last second).
- HAProxy itself failing (run two, with a VIP or DNS failover in front), and long-polling clients (these clients use WebSocket).
- One node cut off from Redis while the others are fine (its clients stay on it and stall: its heartbeats
  go on), several faults at once.
- Clients connecting or resuming *during* a Redis outage (here they are all connected before it);
  with a black hole, a subscribe or resume waits for Redis with no deadline of its own.
- A clock step on a Redis host that keeps running (a step *while* it serves, rather than a restart on a clock behind), disk full, memory pressure on Redis (\`maxmemory\` evicting the stream).
- Volatile events: never replayed by design; they are not counted here.
`;
}
