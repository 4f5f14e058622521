/**
 * The method pieces of the spread-traffic benchmark that need no running system: the spread schedule and its
 * padded payloads, how scenarios are grouped into sessions, the bars, CPU pinning (real `taskset` on a
 * real child process) and CPU profiles (a real child process profiled through `BENCH_CPU_PROFILE_DIR`,
 * then summarised).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { FULL_CONFIG, QUICK_CONFIG } from '../bench/src/config';
import { sessionGroups } from '../bench/src/delivery';
import { judgeBars } from '../bench/src/report/bars';
import { renderProfileSummary, shortLocation, summarizeProfile, type CpuProfile } from '../bench/src/report/profile-summary';
import type { ScenarioResults } from '../bench/src/report/results';
import { payloadOf, tagOf } from '../bench/src/publish/payload';
import { ticksOf, type SpreadSchedule } from '../bench/src/publish/schedule';
import { SCENARIOS } from '../bench/src/scenarios';
import type { ScenarioOutcome } from '../bench/src/scenarios/scenario';
import { pinProcesses, splitCores } from '../bench/src/systems/cpu-pinning';

const REPO_ROOT = path.resolve(__dirname, '..');

describe('spread schedule', () => {
  const schedule: SpreadSchedule = { kind: 'spread', eventsPerSecond: 2000, durationMs: 1000, rooms: 200, seed: 13, payloadBytes: 200 };
  const rooms = (s: SpreadSchedule): number[] => [...ticksOf(s)].flatMap((t) => t.rooms);

  it('sends the rate, every 10 ms, to random rooms that are the same for the same seed', () => {
    const ticks = [...ticksOf(schedule)];
    expect(ticks).toHaveLength(100);
    expect(ticks.every((t) => t.rooms.length === 20 && t.atMs % 10 === 0)).toBe(true);
    expect(rooms(schedule)).toEqual(rooms({ ...schedule }));
    expect(rooms(schedule)).not.toEqual(rooms({ ...schedule, seed: 14 }));
    const perRoom = new Map<number, number>();
    for (const r of rooms(schedule)) perRoom.set(r, (perRoom.get(r) ?? 0) + 1);
    // Random, not round-robin: every room is used, and not all equally often.
    expect(perRoom.size).toBe(200);
    expect(new Set(perRoom.values()).size).toBeGreaterThan(1);
    expect([...perRoom.keys()].every((r) => Number.isInteger(r) && r >= 0 && r < 200)).toBe(true);
  });

  it('pads payloads to the configured JSON size and keeps their tags', () => {
    const payload = payloadOf(3, 17, 42, 200);
    expect(JSON.stringify(payload)).toHaveLength(200);
    expect(tagOf(payload)).toEqual({ phase: 3, seq: 42 });
    expect(JSON.stringify(payloadOf(3, 17, 42)).length).toBeLessThan(60);
  });
});

describe('sessions of a delivery run', () => {
  it('runs spread with the client libraries in the issue\'s layout, and the saturations and overload in one lean, pinned session', () => {
    for (const config of [FULL_CONFIG, QUICK_CONFIG]) {
      const groups = sessionGroups(SCENARIOS, config);
      const byScenario = new Map(groups.flatMap((g) => g.scenarios.map((s) => [s.name, g] as const)));
      expect(byScenario.get('spread')?.shape).toEqual({ clients: 2000, rooms: 200, clientKind: 'library', pinned: false });
      const lean = byScenario.get('saturation');
      expect(lean?.shape).toEqual({ clients: 2000, rooms: 200, clientKind: 'lean', pinned: true });
      expect(lean?.scenarios.map((s) => s.name)).toEqual(['saturation', 'saturation-hot-rooms', 'overload']);
      expect(byScenario.get('lone-events')?.shape.clients).toBe(config.clients);
    }
    // The full run's layout is the issue's: spread shares the session of the scenarios before it.
    expect(sessionGroups(SCENARIOS, FULL_CONFIG)).toHaveLength(2);
    expect(sessionGroups(SCENARIOS, QUICK_CONFIG)).toHaveLength(3);
  });
});

describe('spread, saturation and overload bars', () => {
  const outcome = (metrics: Record<string, number | null>): ScenarioOutcome => ({ metrics, notes: [], details: {} });
  const scenario = (name: ScenarioResults['name'], roomwire: Record<string, number | null>, baseline: Record<string, number | null>): ScenarioResults => ({
    name,
    title: name,
    description: '',
    metrics: [],
    outcomes: { roomwire: outcome(roomwire), baseline: outcome(baseline) },
  });
  const bar = (bars: ReturnType<typeof judgeBars>, id: string): ReturnType<typeof judgeBars>[number] => {
    const found = bars.find((b) => b.id === id);
    if (!found) throw new Error(`no bar ${id}`);
    return found;
  };

  it('judges node and client CPU per delivery in spread traffic as ratios to the baseline', () => {
    const bars = judgeBars({
      scenarios: [
        scenario('spread', { nodeCpuSPer100kAt1000: 0.79, nodeCpuSPer100kAt2000: 0.9, clientCpuSPer100k: 1 }, { nodeCpuSPer100kAt1000: 1, nodeCpuSPer100kAt2000: 1, clientCpuSPer100k: 1 }),
      ],
    });
    expect(bar(bars, 'spread-node-cpu-1000').verdict).toBe('PASS');
    expect(bar(bars, 'spread-node-cpu-2000').verdict).toBe('FAIL');
    expect(bar(bars, 'spread-node-cpu-2000').measured).toContain('0.90×');
    expect(bar(bars, 'spread-client-cpu').verdict).toBe('PASS');
    expect(bar(bars, 'overload-no-collapse').verdict).toBe('N/A');
  });

  it('judges the saturation at 1.5× and the overload: no collapse below its own limit, p99 growth against the baseline\'s', () => {
    const failingStep = { details: { steps: [{ eventsPerSecond: 8000, pass: false, loadEldP99Ms: 5 }] } };
    const saturation = scenario('saturation', { maxSustainedDeliveriesPerS: 60_000 }, { maxSustainedDeliveriesPerS: 40_000 });
    for (const o of Object.values(saturation.outcomes)) Object.assign(o as ScenarioOutcome, failingStep);
    const collapsed = judgeBars({
      scenarios: [
        saturation,
        scenario('overload', { deliveredPerS: 50_000, limitDeliveriesPerS: 60_000, deliveredRatio: 0.6, p99Growth: 3 }, { deliveredPerS: 20_000, limitDeliveriesPerS: 40_000, deliveredRatio: 0.25, p99Growth: 2 }),
      ],
    });
    expect(bar(collapsed, 'spread-saturation').verdict).toBe('PASS');
    expect(bar(collapsed, 'saturation').verdict).toBe('FAIL');
    expect(bar(collapsed, 'overload-no-collapse').verdict).toBe('FAIL');
    expect(bar(collapsed, 'overload-p99-growth').verdict).toBe('FAIL');
    const held = judgeBars({
      scenarios: [scenario('overload', { deliveredPerS: 61_000, limitDeliveriesPerS: 60_000, deliveredRatio: 0.7, p99Growth: 1.5 }, { deliveredPerS: 20_000, limitDeliveriesPerS: 40_000, deliveredRatio: 0.25, p99Growth: 2 })],
    });
    expect(bar(held, 'overload-no-collapse').verdict).toBe('PASS');
    expect(bar(held, 'overload-p99-growth').verdict).toBe('PASS');
  });
});

/** A child node process that idles until killed. */
function idleChild(env: NodeJS.ProcessEnv = process.env, script = 'setInterval(() => undefined, 1000)'): ChildProcess {
  return spawn(process.execPath, ['-e', script], { env, stdio: 'ignore' });
}

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

describe('CPU pinning', () => {
  let children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    children = [];
  });

  it('splits the cores in halves, servers first', () => {
    expect(splitCores(1)).toBeNull();
    expect(splitCores(2)).toEqual({ serverCpus: '0', loadCpus: '1' });
    expect(splitCores(8)).toEqual({ serverCpus: '0-3', loadCpus: '4-7' });
  });

  it('pins real processes with taskset (or says why not) and pins nothing on one core', async () => {
    const server = idleChild();
    const load = idleChild();
    children.push(server, load);
    const allowed = (pid: number): string => /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
    const before = [allowed(server.pid as number), allowed(load.pid as number)];
    const single = await pinProcesses({ servers: [server.pid as number], load: [load.pid as number] }, 1);
    expect(single.pinned).toBe(false);
    expect(single.description).toContain('1 core');
    expect([allowed(server.pid as number), allowed(load.pid as number)]).toEqual(before);
    if (cpus().length < 2) return;
    const report = await pinProcesses({ servers: [server.pid as number], load: [load.pid as number] });
    expect(report.pinned).toBe(true);
    expect(allowed(server.pid as number)).toBe(report.serverCpus);
    expect(allowed(load.pid as number)).toBe(report.loadCpus);
  });
});

describe('CPU profiles', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('summarises self and total time per function from a profile', () => {
    const frame = (functionName: string, url = '', lineNumber = 0): CpuProfile['nodes'][number]['callFrame'] => ({ functionName, url, lineNumber });
    const profile: CpuProfile = {
      startTime: 0,
      endTime: 10_000,
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 5] },
        { id: 2, callFrame: frame('outer', 'file:///x/server/src/delivery/a.ts', 9), children: [3] },
        { id: 3, callFrame: frame('inner', 'file:///x/node_modules/ws/lib/sender.js', 4), children: [4] },
        { id: 4, callFrame: frame('outer', 'file:///x/server/src/delivery/a.ts', 9) },
        { id: 5, callFrame: frame('(idle)') },
      ],
      samples: [2, 3, 3, 3, 3, 4, 4, 5, 5, 5],
      timeDeltas: Array.from({ length: 10 }, () => 1000),
    };
    const summary = summarizeProfile(profile);
    expect(summary.busyMs).toBeCloseTo(7, 5);
    const [first, second] = summary.functions;
    expect(first).toMatchObject({ name: 'inner', location: 'node_modules/ws/lib/sender.js:5', selfMs: 4 });
    expect(first?.selfPct).toBeCloseTo(57.14, 1);
    // Recursion counted once: outer's total is its outermost frame's inclusive time.
    expect(second).toMatchObject({ name: 'outer', location: 'server/src/delivery/a.ts:10', selfMs: 3 });
    expect(shortLocation('file:///any/where/server/src/delivery/a.ts', 1, 4041)).toBe('server/src/delivery/a.ts:2:4042');
    expect(shortLocation('file:///any/node_modules/ws/lib/sender.js', 9, 3)).toBe('node_modules/ws/lib/sender.js:10');
    expect(second?.totalPct).toBeCloseTo(100, 5);
    expect(summary.modules.map((m) => m.module)).toEqual(['ws', 'server/src']);
    // Without the first 5 ms (5 samples: outer, 4 × inner), what is left is outer (2 samples) and idle (3).
    const later = summarizeProfile(profile, { skipMs: 5 });
    expect(later.busyMs).toBeCloseTo(2, 5);
    expect(later.functions.map((f) => [f.name, f.selfMs])).toEqual([['outer', 2]]);
    const table = renderProfileSummary(summary, { title: 't', top: 1 });
    expect(table).toContain('| 1 | 4.0 | 57.1 | 85.7 | inner | node_modules/ws/lib/sender.js:5 |');
    expect(table).not.toContain('| 2 |');
  });

  it('makes a process write a .cpuprofile when it exits, with BENCH_CPU_PROFILE_DIR', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rw-bench-prof-'));
    const script = [
      `require(${JSON.stringify(path.join(REPO_ROOT, 'bench/src/measure/cpu-profile.ts'))});`,
      'function burnCpuForProfile() { let x = 0; const end = Date.now() + 300; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }',
      'burnCpuForProfile();',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, env: { ...process.env, BENCH_CPU_PROFILE_DIR: dir }, stdio: 'ignore' });
    await exited(child);
    expect(child.exitCode).toBe(0);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
    expect(files).toHaveLength(1);
    const summary = summarizeProfile(JSON.parse(await readFile(path.join(dir, files[0] as string), 'utf8')) as CpuProfile);
    const burn = summary.functions.find((f) => f.name === 'burnCpuForProfile');
    expect(burn?.totalPct).toBeGreaterThan(20);
  });
});
