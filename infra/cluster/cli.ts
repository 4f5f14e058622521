#!/usr/bin/env node
/**
 * `npm run cluster [-- --balancer nginx] [-- --port 8080]`: a private redis-server, three Roomwire
 * nodes and HAProxy (or nginx) on loopback, until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import type { BalancerKind } from './balancer-process';
import { startLocalCluster, type LocalCluster } from './launch-cluster';

/** Set in the environment of the supervisor process that owns the cluster. */
const SUPERVISOR_ENV = 'RW_CLUSTER_SUPERVISOR';
const DEV_TOKEN_TTL = '12h';
/** Longest wait for the nodes to drain before everything is killed. */
const STOP_TIMEOUT_MS = 20_000;

/**
 * Ctrl-C signals the terminal's whole foreground process group: the nodes would start draining on
 * their own and then take the supervisor's SIGTERM as a second signal (exit without draining), and
 * Redis would be gone mid-drain. So the cluster runs under a supervisor in a process group of its
 * own, and this process turns the first SIGINT/SIGTERM into one SIGTERM for it.
 */
function runWrapper(): void {
  const supervisor = spawn(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], {
    detached: true,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [SUPERVISOR_ENV]: '1' },
  });
  let forwarded = false;
  const forward = (): void => {
    if (forwarded) return;
    forwarded = true;
    supervisor.kill('SIGTERM');
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  supervisor.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function parseOptions(): { balancer: BalancerKind; port: number } {
  const { values } = parseArgs({
    options: { balancer: { type: 'string', default: 'haproxy' }, port: { type: 'string', default: '8080' } },
  });
  const balancer = values.balancer;
  if (balancer !== 'haproxy' && balancer !== 'nginx') throw new TypeError(`--balancer: expected haproxy or nginx, got ${JSON.stringify(balancer)}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`--port: expected 0 (any free port) to 65535, got ${JSON.stringify(values.port)}`);
  return { balancer, port };
}

/** Signs a client token for org `dev` that may see every service, as the node's CLI does. */
function signDevToken(jwtSecret: string): Promise<string> {
  return new SignJWT({ org: 'dev', services: '*' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(DEV_TOKEN_TTL)
    .sign(new TextEncoder().encode(jwtSecret));
}

function banner(cluster: LocalCluster, devToken: string): string {
  const { url, balancer, redis, publishApiKey } = cluster;
  const body = JSON.stringify({ org: 'dev', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 4200 } });
  return [
    '',
    `  Roomwire local cluster: ${cluster.nodes.length} nodes behind ${balancer.kind === 'nginx' ? 'nginx' : 'HAProxy'}`,
    '',
    `  URL          ${url}   (clients, POST /v1/publish)`,
    ...cluster.nodes.map((n) => `  ${n.name.padEnd(12)} ${n.url}/   (status page; pid ${n.pid})`),
    ...(balancer.statsUrl ? [`  LB stats     ${balancer.statsUrl}`] : []),
    `  Redis        ${redis.url}`,
    `  Dev token    ${devToken}`,
    `               (org "dev", every service, expires in ${DEV_TOKEN_TTL})`,
    `  Publish key  ${publishApiKey}`,
    '',
    '  Publish an event:',
    `    curl -X POST ${url}/v1/publish -H 'Authorization: Bearer ${publishApiKey}' -H 'Content-Type: application/json' -d '${body}'`,
    '',
    '  Ctrl-C drains the nodes and stops everything.',
    '',
  ].join('\n');
}

async function runSupervisor(): Promise<void> {
  const { balancer, port } = parseOptions();
  process.stderr.write(`starting redis-server, 3 nodes and ${balancer} …\n`);
  const starting = startLocalCluster({ balancer, port });
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${why}: draining the nodes, then stopping ${balancer} and Redis …\n`);
    setTimeout(() => {
      process.stderr.write('still not stopped: killing everything\n');
      process.exit(1); // the harness SIGKILLs every child on exit
    }, STOP_TIMEOUT_MS).unref();
    // A cluster still starting is stopped once it is up (a failed start has already cleaned up).
    void starting.then((cluster) => cluster.stop(), () => undefined).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The wrapper went away (killed, terminal closed): do not outlive it.
  process.on('disconnect', () => stop('launcher gone'));

  const cluster = await starting;
  if (stopping) return;
  process.stdout.write(`${banner(cluster, await signDevToken(cluster.jwtSecret))}\n`);
}

if (process.env[SUPERVISOR_ENV] === '1') {
  runSupervisor().catch((err: unknown) => {
    process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  runWrapper();
}
