/**
 * A bounded local driver for profiling delivery in "spread" traffic (issue 13): 2 server processes,
 * `clients` clients in rooms of `clients / rooms`, a steady rate spread round-robin over the rooms (at
 * 2 000 events/s and 200 rooms each room gets one event every 100 ms, so every frame carries one event),
 * for `seconds` seconds after a short warm-up. Prints node CPU per 100k deliveries and client CPU per
 * 100k events. With `--prof DIR`, the server processes and the client process run under
 * `node --cpu-prof` and the top self-time functions of each profile are printed.
 * The client's collector pauses and its read system calls per event are printed beside its CPU;
 * `--client-node-options` adds NODE_OPTIONS to the client process alone (a heap profiler preload, say).
 *
 *   node --conditions=roomwire-source --import tsx bench/src/profile-spread.ts --system roomwire --seconds 20
 *   node --conditions=roomwire-source --import tsx bench/src/profile-spread.ts --system baseline --prof /tmp/prof-base
 *
 * Forked with an IPC channel, the same file is the client process (one process, every client).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { openBaselineClient } from './baseline/client';
import { RpcChild, serve } from './ipc/rpc';
import { openRoomwireClient } from './load/roomwire-client';
import type { BenchClient } from './load/bench-client';
import { cpuSeconds } from './measure/proc-stats';
import { orgOf, SERVICE } from './publish/payload';
import { startSystem } from './systems/running-system';
import type { SystemName } from './systems/system-names';

interface ClientsApi {
  open(arg: { system: SystemName; urls: string[]; rooms: number; clients: number; jwtSecret: string }): Promise<number>;
  mark(arg: Record<string, never>): Promise<{ events: number; downs: number; resyncs: number; cpuS: number; reads: number; rxBytes: number; gc: GcTotals }>;
  close(arg: Record<string, never>): Promise<void>;
}

/** Preload of the profiled processes: the first SIGUSR2 starts the CPU profiler, the second writes the profile. */
const PROFILE_HOOK = `
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
const session = new inspector.Session();
session.connect();
let on = false;
process.on('SIGUSR2', () => {
  if (!on) {
    on = true;
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
    return;
  }
  on = false;
  session.post('Profiler.stop', (err, res) => {
    if (!err) fs.writeFileSync(path.join(__DIR__, 'p-' + process.pid + '.cpuprofile'), JSON.stringify(res.profile));
  });
});
`;

const RECONNECT = { minDelayMs: 1000, maxDelayMs: 5000, jitter: 0.5 };
/** Longest wait for every client to be up, and for the last deliveries after publishing ends. */
const CONNECT_TIMEOUT_MS = 120_000;
const DRAIN_TIMEOUT_MS = 10_000;

/** `syscr` and `rchar` of /proc/self/io (zeros where there is none). */
function readProcIo(): { syscr: number; rchar: number } {
  try {
    const text = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { syscr: field('syscr'), rchar: field('rchar') };
  } catch {
    return { syscr: 0, rchar: 0 };
  }
}

/** Pauses of the garbage collector in this process, by kind: count and total ms. */
interface GcTotals {
  scavenges: number;
  scavengeMs: number;
  majors: number;
  majorMs: number;
}

function serveClients(): void {
  const gc: GcTotals = { scavenges: 0, scavengeMs: 0, majors: 0, majorMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        gc.scavenges += 1;
        gc.scavengeMs += entry.duration;
      } else {
        gc.majors += 1;
        gc.majorMs += entry.duration;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  const clients: BenchClient[] = [];
  let events = 0;
  let downs = 0;
  let resyncs = 0;
  const api: ClientsApi = {
    async open({ system, urls, rooms, clients: count, jwtSecret }) {
      const tokens = new Map<number, string>();
      for (let room = 0; room < rooms; room++) {
        tokens.set(
          room,
          await new SignJWT({ org: orgOf(room), services: [SERVICE] })
            .setProtectedHeader({ alg: 'HS256' })
            .setIssuedAt()
            .setExpirationTime('1h')
            .sign(new TextEncoder().encode(jwtSecret)),
        );
      }
      let up = 0;
      const hooks = { onEvent: () => void (events += 1), onUp: () => void (up += 1), onDown: () => void (downs += 1), onResync: () => void (resyncs += 1) };
      for (let i = 0; i < count; i++) {
        const target = { url: urls[i % urls.length] as string, room: i % rooms, reconnect: RECONNECT };
        clients.push(system === 'baseline' ? openBaselineClient(target, hooks) : openRoomwireClient(target, tokens.get(target.room) as string, hooks));
      }
      const deadline = Date.now() + CONNECT_TIMEOUT_MS;
      while (up < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      return up;
    },
    async mark() {
      const cpu = process.cpuUsage();
      // Read system calls and bytes read (Linux): a process woken per packet pays for each read.
      const io = readProcIo();
      return { events, downs, resyncs, cpuS: (cpu.user + cpu.system) / 1e6, reads: io.syscr, rxBytes: io.rchar, gc: { ...gc } };
    },
    async close() {
      for (const client of clients.splice(0)) client.close();
    },
  };
  serve(api);
}

/** Self time per function over a `.cpuprofile`, highest first (idle, program and GC listed as they are). */
function topSelfTime(file: string, count: number): { name: string; ms: number; share: number }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[i + 1] ?? 0;
    if (!node) return;
    const { functionName, url } = node.callFrame;
    // No line numbers: under tsx they point into the transpiled source.
    const where = url === '' ? '' : ` ${url.replace(/^.*node_modules\//, '').replace(/^.*\/(server|client|shared|bench)\/src\//, '$1/')}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + delta);
    if (functionName !== '(idle)') total += delta;
  });
  return [...self.entries()]
    .filter(([name]) => !name.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((1000 * us) / total) / 10 }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      system: { type: 'string', default: 'roomwire' },
      rate: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '20' },
      clients: { type: 'string', default: '2000' },
      rooms: { type: 'string', default: '200' },
      prof: { type: 'string' },
      'node-env': { type: 'string', multiple: true, default: [] },
      'client-node-options': { type: 'string', default: '' },
    },
  });
  const system = values.system as SystemName;
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const clientCount = Number(values.clients);
  const rooms = Number(values.rooms);
  if (!['roomwire', 'roomwire-nobatch', 'baseline'].includes(system)) throw new Error('--system: roomwire, roomwire-nobatch or baseline');
  if (!(rate > 0 && rate <= 20_000 && seconds > 0 && seconds <= 120 && clientCount > 0 && clientCount <= 5000 && rooms > 0)) {
    throw new Error('bounded load only: rate ≤ 20000/s, seconds ≤ 120, clients ≤ 5000');
  }
  const profDir = values.prof === undefined ? undefined : path.resolve(values.prof);
  const nodeEnv = Object.fromEntries(values['node-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const savedNodeOptions = process.env.NODE_OPTIONS;
  // `--cpu-prof` is not allowed in NODE_OPTIONS: a preload profiles between two SIGUSR2 (the measured window).
  const profOptions = (dir: string): string => {
    mkdirSync(dir, { recursive: true });
    const hook = path.join(dir, 'profile-hook.cjs');
    writeFileSync(hook, PROFILE_HOOK.replace('__DIR__', JSON.stringify(dir)));
    return `${savedNodeOptions ?? ''} --require ${hook}`.trim();
  };

  if (profDir !== undefined) process.env.NODE_OPTIONS = profOptions(path.join(profDir, 'nodes'));
  const running = await startSystem(system, { roomwireNodeEnv: nodeEnv });
  if (profDir !== undefined) process.env.NODE_OPTIONS = profOptions(path.join(profDir, 'clients'));
  // E.g. `--heapsnapshot-signal=SIGUSR1` or `--require ./preload.cjs`, for the client process only (V8
  // flags are not allowed in NODE_OPTIONS: a preload can set them with v8.setFlagsFromString).
  if (values['client-node-options'] !== '') process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${values['client-node-options']}`.trim();
  const clients = RpcChild.fork<ClientsApi>(__filename, 'clients');
  if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = savedNodeOptions;
  try {
    const up = await clients.call('open', { system, urls: running.nodes.map((n) => n.url), rooms, clients: clientCount, jwtSecret: running.jwtSecret });
    if (up < clientCount) throw new Error(`only ${up} of ${clientCount} clients came up`);
    const perRoom = clientCount / rooms;
    const publish = async (phase: number, durationMs: number): Promise<number> => {
      const run = await running.publisher.call('run', { phase, schedule: { kind: 'steady', eventsPerSecond: rate, durationMs, rooms }, startAt: Date.now() + 50 });
      return run.published;
    };
    const settle = async (expected: number): Promise<number> => {
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      let seen = (await clients.call('mark', {})).events;
      while (seen < expected && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = (await clients.call('mark', {})).events;
      }
      return seen;
    };
    // Warm-up (JIT, pools): not measured.
    const warm = await publish(1, 3000);
    await settle(warm * perRoom);
    const nodeCpu = (): number => running.nodes.reduce((sum, n) => sum + (cpuSeconds(n.pid) ?? 0), 0);
    const profiled = [...running.nodes.map((n) => n.pid), clients.pid];
    const toggleProfiles = (): void => {
      if (profDir !== undefined) for (const pid of profiled) process.kill(pid, 'SIGUSR2');
    };
    toggleProfiles();
    const before = await clients.call('mark', {});
    const nodeBefore = nodeCpu();
    const started = Date.now();
    const published = await publish(2, seconds * 1000);
    const seen = await settle(before.events + published * perRoom);
    const nodeAfter = nodeCpu();
    const after = await clients.call('mark', {});
    toggleProfiles();
    if (profDir !== undefined) {
      const written = (): number =>
        ['nodes', 'clients'].reduce((n, kind) => n + readdirSync(path.join(profDir, kind)).filter((f) => f.endsWith('.cpuprofile')).length, 0);
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (written() < profiled.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const elapsedS = (Date.now() - started) / 1000;
    const deliveries = seen - before.events;
    const line = {
      system,
      rate,
      seconds,
      clients: clientCount,
      rooms,
      published,
      deliveries,
      expected: published * perRoom,
      nodeCpuS: +(nodeAfter - nodeBefore).toFixed(2),
      nodeCpuPercentPerNode: +((100 * (nodeAfter - nodeBefore)) / elapsedS / running.nodes.length).toFixed(1),
      nodeCpuSPer100kDeliveries: +((1e5 * (nodeAfter - nodeBefore)) / deliveries).toFixed(3),
      clientCpuS: +(after.cpuS - before.cpuS).toFixed(2),
      // Client CPU per event delivered to a client (a delivery), as the issue counts it.
      clientCpuSPer100kEvents: +((1e5 * (after.cpuS - before.cpuS)) / deliveries).toFixed(3),
      // Where the client's CPU goes: collector pauses, and read system calls and bytes per event.
      clientGc: {
        scavenges: after.gc.scavenges - before.gc.scavenges,
        scavengeMs: Math.round(after.gc.scavengeMs - before.gc.scavengeMs),
        majors: after.gc.majors - before.gc.majors,
        majorMs: Math.round(after.gc.majorMs - before.gc.majorMs),
      },
      clientReadsPerEvent: +((after.reads - before.reads) / deliveries).toFixed(3),
      clientBytesPerEvent: Math.round((after.rxBytes - before.rxBytes) / deliveries),
      disconnects: after.downs - before.downs,
      resyncs: after.resyncs - before.resyncs,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } finally {
    await clients.call('close', {}).catch(() => undefined);
    await clients.stop();
    await running.stop();
  }
  if (profDir !== undefined) {
    for (const kind of ['nodes', 'clients']) {
      const dir = path.join(profDir, kind);
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
        const top = topSelfTime(path.join(dir, file), 12);
        process.stdout.write(`\n${kind}/${file}\n`);
        for (const { name, ms, share } of top) process.stdout.write(`  ${String(ms).padStart(7)} ms ${String(share).padStart(5)} %  ${name}\n`);
      }
    }
  }
}

if (process.send !== undefined) serveClients();
else
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
