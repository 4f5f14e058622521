import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitUntil } from './harness';
import { track } from './harness/process-registry';
import { findOnPath } from '../infra/cluster/binaries';

// `npm run cluster`, started through npm as a user starts it: it checks its binaries up front, shows
// the nodes' logs, takes every port from flags, and a signal to the npm process (or the loss of the
// launcher) stops everything it started.

const ROOT = path.resolve(__dirname, '..');
/** npm's own script (the `npm` on the PATH links to it), run with this node so that a test may empty the PATH. */
const NPM_CLI = realpathSync(findOnPath('npm') ?? 'npm');

/** Parent pid of `pid` from /proc, or undefined when it is gone. */
async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (2nd field) may hold spaces and parentheses: the fields after the last ')' are fixed.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Every process descended from `root` (children, grandchildren, …), read from /proc; children first. */
async function descendants(root: number): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const parents = new Map<number, number | undefined>(await Promise.all(pids.map(async (pid) => [pid, await parentOf(pid)] as const)));
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of parents) {
      if (ppid !== parent || found.includes(pid)) continue;
      found.push(pid);
      queue.push(pid);
    }
  }
  return found;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process a test saw in a cluster: whatever a failed test leaves running is killed after it. */
const seen: number[] = [];
afterEach(() => {
  for (const pid of seen.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
});

interface RunningCluster {
  npm: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  output(): string;
}

/** `npm run cluster -- …args`, until its banner is printed. */
async function startThroughNpm(args: string[], env: Record<string, string> = {}): Promise<RunningCluster> {
  const npm = spawn(process.execPath, [NPM_CLI, 'run', '--silent', 'cluster', '--', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'pipe' });
  const exited = track(npm);
  let output = '';
  npm.stdout.on('data', (c: Buffer) => (output += c.toString()));
  npm.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await waitUntil(() => output.includes('drains the nodes and stops everything') || npm.exitCode !== null, { what: 'the cluster banner', timeoutMs: 90_000 });
  if (npm.exitCode !== null) throw new Error(`npm run cluster exited ${npm.exitCode}:\n${output}`);
  return { npm, exited, output: () => output };
}

/** Waits until none of `pids` runs; fails naming the survivors. */
async function expectAllGone(pids: number[]): Promise<void> {
  await waitUntil(() => pids.every((pid) => !isRunning(pid)), { what: `every process of the cluster to exit (${pids.length})`, timeoutMs: 40_000 }).catch(async (err: Error) => {
    const left = pids.filter(isRunning);
    const commands = await Promise.all(left.map(async (pid) => `${pid} ${(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ')}`));
    throw new Error(`${err.message}; still running:\n${commands.join('\n')}`);
  });
}

test('refuses to start without redis-server and haproxy, and prints how to install them', async () => {
  // A PATH with node and sh alone (npm runs scripts with sh): npm and the launcher run, the binaries are missing.
  const bin = await mkdtemp(path.join(tmpdir(), 'roomwire-path-'));
  try {
    await symlink(process.execPath, path.join(bin, 'node'));
    await symlink(realpathSync(findOnPath('sh') ?? '/bin/sh'), path.join(bin, 'sh'));
    const child = spawn(process.execPath, [NPM_CLI, 'run', '--silent', 'cluster'], { cwd: ROOT, env: { ...process.env, PATH: bin }, stdio: 'pipe' });
    let output = '';
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    expect(await track(child)).toBe(1);
    expect(output).toContain('npm run cluster needs redis-server and haproxy on the PATH');
    expect(output).toContain('sudo apt-get install -y redis-server haproxy');
    expect(output).not.toContain('starting redis-server');
  } finally {
    await rm(bin, { recursive: true, force: true });
  }
}, 60_000);

test('refuses a bad flag with the usage', async () => {
  const child = spawn(process.execPath, [NPM_CLI, 'run', '--silent', 'cluster', '--', '--node-ports', '1,2'], { cwd: ROOT, stdio: 'pipe' });
  let output = '';
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  expect(await track(child)).toBe(2);
  expect(output).toContain('--node-ports: expected 3 comma-separated ports');
  expect(output).toContain('usage: npm run cluster');
}, 60_000);

test.each(['SIGTERM', 'SIGINT'] as const)('%s to the npm process drains and stops every process; ports come from the flags, logs are prefixed', async (signal) => {
  const [port, statsPort, redisPort, n1, n2, n3] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const cluster = await startThroughNpm([
    '--port', String(port), '--stats-port', String(statsPort), '--redis-port', String(redisPort), '--node-ports', `${n1},${n2},${n3}`,
  ]);
  const pids = await descendants(cluster.npm.pid as number);
  seen.push(cluster.npm.pid as number, ...pids);
  // The launcher, the supervisor, redis-server, three nodes and HAProxy at least.
  expect(pids.length).toBeGreaterThanOrEqual(7);
  const banner = cluster.output();
  expect(banner).toContain(`URL          http://127.0.0.1:${port}`);
  expect(banner).toContain(`http://127.0.0.1:${statsPort}/stats`);
  expect(banner).toContain(`redis://127.0.0.1:${redisPort}`);
  for (const [i, nodePort] of [n1, n2, n3].entries()) {
    expect(banner).toContain(`node${i + 1}        http://127.0.0.1:${nodePort}/`);
    expect((await fetch(`http://127.0.0.1:${nodePort}/healthz`)).status).toBe(200);
  }
  expect((await fetch(`http://127.0.0.1:${port}/lb-healthz`)).status).toBe(200);
  await waitUntil(() => ['node1', 'node2', 'node3'].every((n) => new RegExp(`^${n} \\| \\{.*"msg":"listening"`, 'm').test(cluster.output())), { what: "each node's prefixed 'listening' log line" });

  cluster.npm.kill(signal);
  await expectAllGone(pids);
  await cluster.exited;
  expect(cluster.output()).toMatch(/^node1 \| .*"msg":"closed"/m);
}, 150_000);

test('when the launcher dies, the supervisor stops the cluster; --log-dir writes each node log to a file', async () => {
  const logDir = await mkdtemp(path.join(tmpdir(), 'roomwire-cluster-logs-'));
  try {
    const cluster = await startThroughNpm(['--port', '0', '--log-dir', logDir]);
    const pids = await descendants(cluster.npm.pid as number);
    seen.push(cluster.npm.pid as number, ...pids);
    expect(cluster.output()).toContain(`Node logs    ${path.join(logDir, 'node1.log')}, ${path.join(logDir, 'node2.log')}, ${path.join(logDir, 'node3.log')}`);
    expect(cluster.output()).not.toMatch(/^node1 \| /m);
    // The launcher is npm's only child (the npm script execs it); SIGKILL gives it no chance to act.
    const launcher = pids[0] as number;
    expect(await parentOf(launcher)).toBe(cluster.npm.pid);
    process.kill(launcher, 'SIGKILL');
    await expectAllGone(pids.filter((pid) => pid !== launcher));
    cluster.npm.kill('SIGKILL');
    await cluster.exited;
    for (const name of ['node1', 'node2', 'node3']) expect(await readFile(path.join(logDir, `${name}.log`), 'utf8')).toMatch(/"msg":"listening"[\s\S]*"msg":"closed"/);
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
}, 150_000);
