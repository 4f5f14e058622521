#!/usr/bin/env node
/**
 * `npm run cluster [-- --balancer nginx] [-- --port 8080] …`: a private redis-server, three Roomwire
 * nodes and HAProxy (or nginx) on loopback, until Ctrl-C or SIGTERM. `--help` lists the flags.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { installHelp, missingBinaries } from './binaries';
import { NODE_NAMES, startLocalCluster, type LocalCluster } from './launch-cluster';

/** Set in the environment of the supervisor process that owns the cluster. */
const SUPERVISOR_ENV = 'RW_CLUSTER_SUPERVISOR';
const DEV_TOKEN_TTL = '12h';
/** Longest wait for the nodes to drain before everything is killed. */
const STOP_TIMEOUT_MS = 20_000;

/** How often the launcher checks that its parent (npm) is still there. */
const PARENT_CHECK_MS = 500;
/** After the supervisor exits, how long what it left behind gets to stop on SIGTERM before SIGKILL. */
const GROUP_GRACE_MS = 5000;

/** Whether any process of process group `pgid` is still running. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ends whatever is left in the supervisor's process group: SIGTERM, then SIGKILL after a grace period. */
async function endGroup(pgid: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + GROUP_GRACE_MS;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
}

/**
 * The launcher, the process npm starts (`exec` in the npm script, so npm's forwarded SIGINT/SIGTERM
 * reaches it). Ctrl-C signals the terminal's whole foreground process group: the nodes would start
 * draining on their own and then take the supervisor's SIGTERM as a second signal (exit without
 * draining), and Redis would be gone mid-drain. So the cluster runs under a supervisor in a process
 * group of its own, and this process turns the first SIGINT/SIGTERM, or the loss of its parent
 * (npm killed), into one SIGTERM for it. When the supervisor is gone (drained, or killed), anything
 * left in its group is ended, so nothing outlives the launcher.
 */
function runWrapper(supervisor: ChildProcess): void {
  let forwarded = false;
  const forward = (): void => {
    if (forwarded) return;
    forwarded = true;
    supervisor.kill('SIGTERM');
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) forward();
  }, PARENT_CHECK_MS).unref();
  supervisor.on('exit', (code, signal) => {
    const pgid = supervisor.pid;
    void (pgid === undefined ? Promise.resolve() : endGroup(pgid)).then(() => process.exit(code ?? (signal ? 1 : 0)));
  });
}

/** Checks the flags and the binaries, then starts the supervisor; exits 1 (2 for bad flags) with a message when it cannot. */
function launch(): void {
  let flags: ClusterFlags | 'help';
  try {
    flags = parseClusterFlags(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`cluster: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (flags === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const missing = missingBinaries(['redis-server', flags.balancer === 'nginx' ? 'nginx' : 'haproxy']);
  if (missing.length > 0) {
    process.stderr.write(`${installHelp(missing)}\n`);
    process.exit(1);
  }
  const supervisor = spawn(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], {
    detached: true,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [SUPERVISOR_ENV]: '1' },
  });
  runWrapper(supervisor);
}

const USAGE = `usage: npm run cluster -- [flags]
  --balancer haproxy|nginx|haproxy-affinity
                             load balancer in front of the nodes (default haproxy; haproxy-affinity routes
                             new sessions by their rw_partition parameter, see infra/README.md "Partition affinity")
  --port N                   balancer port clients use (default 8080; 0 = any free port)
  --stats-port N             HAProxy stats page port (default 0 = any free port)
  --node-ports A,B,C         ports of node1, node2, node3 (default 0,0,0 = free ports)
  --redis-port N             redis-server port (default 0 = a free port)
  --log-level LEVEL          the nodes' LOG_LEVEL (default info)
  --log-dir DIR              write each node's log to DIR/node1.log … instead of stdout`;

/** What the flags ask for. */
interface ClusterFlags {
  balancer: 'haproxy' | 'nginx' | 'haproxy-affinity';
  port: number;
  statsPort: number;
  nodePorts: [number, number, number];
  redisPort: number;
  logLevel: string;
  logDir: string | undefined;
}

function parsePort(flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new TypeError(`--${flag}: expected 0 (any free port) to 65535, got ${JSON.stringify(value)}`);
  return port;
}

/** Reads the flags; throws a TypeError naming the bad one. */
export function parseClusterFlags(args: readonly string[]): ClusterFlags | 'help' {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      balancer: { type: 'string', default: 'haproxy' },
      port: { type: 'string', default: '8080' },
      'stats-port': { type: 'string', default: '0' },
      'node-ports': { type: 'string', default: '0,0,0' },
      'redis-port': { type: 'string', default: '0' },
      'log-level': { type: 'string', default: 'info' },
      'log-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const balancer = values.balancer;
  if (balancer !== 'haproxy' && balancer !== 'nginx' && balancer !== 'haproxy-affinity') {
    throw new TypeError(`--balancer: expected haproxy, nginx or haproxy-affinity, got ${JSON.stringify(balancer)}`);
  }
  const nodePorts = values['node-ports'].split(',').map((p) => parsePort('node-ports', p.trim()));
  if (nodePorts.length !== NODE_NAMES.length) throw new TypeError(`--node-ports: expected ${NODE_NAMES.length} comma-separated ports, got ${JSON.stringify(values['node-ports'])}`);
  const flags: ClusterFlags = {
    balancer,
    port: parsePort('port', values.port),
    statsPort: parsePort('stats-port', values['stats-port']),
    nodePorts: nodePorts as [number, number, number],
    redisPort: parsePort('redis-port', values['redis-port']),
    logLevel: values['log-level'],
    logDir: values['log-dir'] === undefined ? undefined : path.resolve(values['log-dir']),
  };
  const fixed = [flags.port, flags.statsPort, ...flags.nodePorts, flags.redisPort].filter((p) => p !== 0);
  if (new Set(fixed).size !== fixed.length) throw new TypeError(`the ports must differ, got ${fixed.join(', ')}`);
  return flags;
}

/** Signs a client token for org `dev` that may see every service, as the node's CLI does. */
function signDevToken(jwtSecret: string): Promise<string> {
  return new SignJWT({ org: 'dev', services: '*' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(DEV_TOKEN_TTL)
    .sign(new TextEncoder().encode(jwtSecret));
}

function banner(cluster: LocalCluster, devToken: string, logs: string): string {
  const { url, balancer, redis, publishApiKey } = cluster;
  const body = JSON.stringify({ org: 'dev', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 4200 } });
  return [
    '',
    `  Roomwire local cluster: ${cluster.nodes.length} nodes behind ${balancer.kind === 'nginx' ? 'nginx' : balancer.kind === 'haproxy-affinity' ? 'HAProxy (partition affinity)' : 'HAProxy'}`,
    '',
    `  URL          ${url}   (clients, POST /v1/publish)`,
    ...cluster.nodes.map((n) => `  ${n.name.padEnd(12)} ${n.url}/   (status page; pid ${n.pid})`),
    ...(balancer.statsUrl ? [`  LB stats     ${balancer.statsUrl}`] : []),
    `  Redis        ${redis.url}`,
    `  Node logs    ${logs}`,
    `  Dev token    ${devToken}`,
    `               (org "dev", every service, expires in ${DEV_TOKEN_TTL})`,
    `  Publish key  ${publishApiKey}`,
    '',
    '  Publish an event:',
    `    curl -X POST ${url}/v1/publish -H 'Authorization: Bearer ${publishApiKey}' -H 'Content-Type: application/json' -d '${body}'`,
    '',
    '  Ctrl-C (or SIGINT/SIGTERM to npm) drains the nodes and stops everything.',
    '',
  ].join('\n');
}

/** Where the nodes' logs go: each line prefixed with the node's name on stdout, or one file per node. */
function nodeLogSink(logDir: string | undefined): { write(name: string, chunk: Buffer): void; describe: string; close(): void } {
  if (logDir !== undefined) {
    mkdirSync(logDir, { recursive: true });
    const files = new Map<string, WriteStream>(NODE_NAMES.map((name) => [name, createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' })]));
    return {
      write: (name, chunk) => files.get(name)?.write(chunk),
      describe: NODE_NAMES.map((name) => path.join(logDir, `${name}.log`)).join(', '),
      close: () => files.forEach((file) => file.end()),
    };
  }
  const partial = new Map<string, string>();
  const width = Math.max(...NODE_NAMES.map((n) => n.length));
  return {
    write(name, chunk) {
      const lines = ((partial.get(name) ?? '') + chunk.toString()).split('\n');
      partial.set(name, lines.pop() ?? '');
      if (lines.length > 0) process.stdout.write(lines.map((line) => `${name.padEnd(width)} | ${line}\n`).join(''));
    },
    describe: `on stdout, each line prefixed with the node's name (--log-dir DIR writes files instead)`,
    close: () => undefined,
  };
}

async function runSupervisor(): Promise<void> {
  const flags = parseClusterFlags(process.argv.slice(2));
  if (flags === 'help') return;
  const { balancer } = flags;
  const logs = nodeLogSink(flags.logDir);
  process.stderr.write(`starting redis-server, 3 nodes and ${balancer === 'nginx' ? 'nginx' : 'haproxy'} …\n`);
  const starting = startLocalCluster({
    balancer,
    port: flags.port,
    statsPort: flags.statsPort,
    nodePorts: flags.nodePorts,
    redis: { port: flags.redisPort },
    env: { LOG_LEVEL: flags.logLevel },
    onNodeOutput: (name, chunk) => logs.write(name, chunk),
  });
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${why}: draining the nodes, then stopping ${balancer === 'nginx' ? 'nginx' : 'haproxy'} and Redis …\n`);
    setTimeout(() => {
      process.stderr.write('still not stopped: killing everything\n');
      process.exit(1); // the harness SIGKILLs every child on exit
    }, STOP_TIMEOUT_MS).unref();
    // A cluster still starting is stopped once it is up (a failed start has already cleaned up).
    void starting
      .then((cluster) => cluster.stop(), () => undefined)
      .then(() => {
        logs.close();
        process.stderr.write('stopped\n');
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The launcher went away (killed, terminal closed): do not outlive it.
  process.on('disconnect', () => stop('launcher gone'));

  const cluster = await starting;
  if (stopping) return;
  process.stdout.write(`${banner(cluster, await signDevToken(cluster.jwtSecret), logs.describe)}\n`);
}

if (process.env[SUPERVISOR_ENV] === '1') {
  runSupervisor().catch((err: unknown) => {
    process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  launch();
}
