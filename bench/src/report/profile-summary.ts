/**
 * Reads a `.cpuprofile` (V8's CPU profile: `node --cpu-prof`, Chrome DevTools, or
 * `BENCH_CPU_PROFILE_DIR`, see `measure/cpu-profile.ts`) and summarises where the time went: the top
 * functions by self time, with their total (inclusive) time, and self time by module. For the docs'
 * profile tables (`npm run bench -- profile-summary <file.cpuprofile>`).
 */

/** The parts of a V8 CPU profile this reads. */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  /** Node id of each sample, in order. */
  samples?: number[];
  /** µs before each sample. */
  timeDeltas?: number[];
}

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  hitCount?: number;
  children?: number[];
}

/** One function (name + location) of a summary. */
export interface FunctionTime {
  name: string;
  /** File and 1-based line, shortened (see {@link shortLocation}); empty for V8's pseudo-frames. */
  location: string;
  selfMs: number;
  totalMs: number;
  /** Shares of the busy (non-idle) time, 0..100. */
  selfPct: number;
  totalPct: number;
}

/** Self time of everything in one module (a package, a project folder, Node's internals, V8's pseudo-frames). */
export interface ModuleTime {
  module: string;
  selfMs: number;
  selfPct: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers, in ms. */
  durationMs: number;
  /** Sampled time that was not `(idle)`, in ms: the base of every share. */
  busyMs: number;
  samples: number;
  /** Every function, by self time, highest first. */
  functions: FunctionTime[];
  modules: ModuleTime[];
}

const PSEUDO = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/**
 * A location without the machine's paths: `node_modules/<pkg>/…` from the last `node_modules`,
 * `node:…` as is, a project file from the repo folder that holds it (`server/src/…`), with its 1-based
 * line and, for project files, column. Project files run from source under tsx: their positions are in
 * tsx's compiled output (often line 2, told apart by the column), not in the .ts source.
 */
export function shortLocation(url: string, line: number, column = -1): string {
  if (url.length === 0) return '';
  let file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) file = file.slice(nm);
  else {
    const project = /\/((?:server|client|shared|bench|test|infra|chaos|soak)\/src\/.*|test\/.*)$/.exec(file);
    if (project?.[1]) return `${project[1]}:${line + 1}${column >= 0 ? `:${column + 1}` : ''}`;
  }
  return `${file}:${line + 1}`;
}

/** The module a location belongs to, for the by-module table. */
export function moduleOf(name: string, location: string): string {
  if (location.length === 0) return PSEUDO.has(name) ? name : '(native)';
  if (location.startsWith('node:')) return 'node internals';
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(location);
  if (pkg?.[1]) return pkg[1];
  const folder = /^([a-z]+\/src)\//.exec(location);
  return folder?.[1] ?? location.split(':')[0] ?? location;
}

/** Options of {@link summarizeProfile}. */
export interface SummarizeOptions {
  /**
   * Leave out the first `skipMs` of the profile (a process's start-up: module loading, compiling), so
   * the table shows the steady state. Needs the profile's `samples` and `timeDeltas`. @default 0
   */
  skipMs?: number;
}

/** Summarises a profile (see {@link ProfileSummary}). */
export function summarizeProfile(profile: CpuProfile, options: SummarizeOptions = {}): ProfileSummary {
  const skipUs = (options.skipMs ?? 0) * 1000;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  let firstKeptUs = profile.startTime;
  if (profile.samples && profile.samples.length > 0) {
    let at = profile.startTime;
    let kept = false;
    for (const [i, id] of profile.samples.entries()) {
      const delta = profile.timeDeltas?.[i] ?? 0;
      at += delta;
      // A sample stands for the interval before it: skip those that end within the skipped time.
      if (skipUs > 0 && at - profile.startTime <= skipUs) continue;
      if (!kept) firstKeptUs = at - delta;
      kept = true;
      hits.set(id, (hits.get(id) ?? 0) + 1);
    }
  } else {
    if (skipUs > 0) throw new Error('skipMs needs a profile with samples and timeDeltas');
    for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  }
  const samples = [...hits.values()].reduce((a, b) => a + b, 0);
  const durationMs = Math.max(0, profile.endTime - firstKeptUs) / 1000;
  const msPerSample = samples > 0 ? durationMs / samples : 0;

  const keyOf = (n: CpuProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'}\u0000${shortLocation(n.callFrame.url, n.callFrame.lineNumber, n.callFrame.columnNumber)}`;
  const selfHits = new Map<string, number>();
  const totalHits = new Map<string, number>();
  let idleHits = 0;

  // Inclusive hits per node, iteratively (profiles can be deep enough to overflow recursion).
  const inclusive = new Map<number, number>();
  const root = profile.nodes.find((n) => n.callFrame.functionName === '(root)') ?? profile.nodes[0];
  if (root) {
    const order: CpuProfileNode[] = [];
    const stack = [root];
    while (stack.length > 0) {
      const n = stack.pop() as CpuProfileNode;
      order.push(n);
      for (const c of n.children ?? []) {
        const child = byId.get(c);
        if (child) stack.push(child);
      }
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i] as CpuProfileNode;
      inclusive.set(n.id, (hits.get(n.id) ?? 0) + (n.children ?? []).reduce((sum, c) => sum + (inclusive.get(c) ?? 0), 0));
    }
    // Total time of a function: inclusive hits of its outermost frames only (recursion counted once).
    const onStack = new Map<string, number>();
    const walk: { node: CpuProfileNode; leaving: boolean }[] = [{ node: root, leaving: false }];
    while (walk.length > 0) {
      const { node, leaving } = walk.pop() as { node: CpuProfileNode; leaving: boolean };
      const key = keyOf(node);
      if (leaving) {
        onStack.set(key, (onStack.get(key) ?? 1) - 1);
        continue;
      }
      if ((onStack.get(key) ?? 0) === 0) totalHits.set(key, (totalHits.get(key) ?? 0) + (inclusive.get(node.id) ?? 0));
      onStack.set(key, (onStack.get(key) ?? 0) + 1);
      walk.push({ node, leaving: true });
      for (const c of node.children ?? []) {
        const child = byId.get(c);
        if (child) walk.push({ node: child, leaving: false });
      }
    }
  }
  for (const n of profile.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (h === 0) continue;
    if (n.callFrame.functionName === '(idle)') idleHits += h;
    const key = keyOf(n);
    selfHits.set(key, (selfHits.get(key) ?? 0) + h);
  }

  const busyHits = samples - idleHits;
  const pct = (h: number): number => (busyHits > 0 ? (h / busyHits) * 100 : 0);
  const functions: FunctionTime[] = [...selfHits.entries()]
    .filter(([key]) => !key.startsWith('(idle)\u0000') && !key.startsWith('(root)\u0000'))
    .map(([key, h]) => {
      const [name, location] = key.split('\u0000') as [string, string];
      const total = totalHits.get(key) ?? h;
      return { name, location, selfMs: h * msPerSample, totalMs: total * msPerSample, selfPct: pct(h), totalPct: pct(total) };
    })
    .sort((a, b) => b.selfMs - a.selfMs);
  const moduleHits = new Map<string, number>();
  for (const f of functions) {
    const m = moduleOf(f.name, f.location);
    moduleHits.set(m, (moduleHits.get(m) ?? 0) + f.selfMs);
  }
  const modules: ModuleTime[] = [...moduleHits.entries()]
    .map(([module, selfMs]) => ({ module, selfMs, selfPct: busyHits > 0 ? (selfMs / (busyHits * msPerSample)) * 100 : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { durationMs, busyMs: busyHits * msPerSample, samples, functions, modules };
}

/** The summary as Markdown: a header line, the top `top` functions by self time, and self time by module. */
export function renderProfileSummary(summary: ProfileSummary, options: { title: string; top?: number }): string {
  const top = options.top ?? 25;
  const ms = (v: number): string => v.toFixed(1);
  const p = (v: number): string => v.toFixed(1);
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const lines = [
    `### CPU profile: ${options.title}`,
    '',
    `${ms(summary.durationMs)} ms profiled, ${ms(summary.busyMs)} ms busy (not idle), ${summary.samples} samples; shares are of the busy time.`,
    '',
    `| # | self ms | self % | total % | function | where |`,
    '| ---: | ---: | ---: | ---: | --- | --- |',
    ...summary.functions.slice(0, top).map((f, i) => `| ${i + 1} | ${ms(f.selfMs)} | ${p(f.selfPct)} | ${p(f.totalPct)} | ${cell(f.name)} | ${cell(f.location)} |`),
    '',
    '| module | self ms | self % |',
    '| --- | ---: | ---: |',
    ...summary.modules.slice(0, 15).map((m) => `| ${cell(m.module)} | ${ms(m.selfMs)} | ${p(m.selfPct)} |`),
  ];
  return lines.join('\n');
}
