import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitUntil } from '../../test/harness';
import { removeDirOnExit } from '../../test/harness/process-registry';
import { spawnBalancer, type BalancerHandle } from './balancer-process';

/** The committed HAProxy configuration; every HAProxy this repo starts runs this file. */
export const HAPROXY_CONFIG = path.resolve(__dirname, '../haproxy/haproxy.cfg');

/** The partition-affinity variant of {@link HAPROXY_CONFIG}: the same file but for the backend's `balance` lines. */
export const HAPROXY_AFFINITY_CONFIG = path.resolve(__dirname, '../haproxy/haproxy-affinity.cfg');

/** The backend of {@link HAPROXY_CONFIG} that holds the nodes. */
const BACKEND = 'roomwire_nodes';

/** Options of {@link startHaproxy}. */
export interface HaproxyOptions {
  /** Loopback port clients connect to. */
  port: number;
  /** Loopback port of the stats page. */
  statsPort: number;
  /** `host:port` of node1, node2 and node3. */
  nodes: readonly [string, string, string];
  /** Keep cookie stickiness; `false` runs a round-robin copy, which long-polling clients cannot use. @default true */
  sticky?: boolean;
  /** Run {@link HAPROXY_AFFINITY_CONFIG} (new sessions routed by their `rw_partition` query parameter) instead. @default false */
  affinity?: boolean;
}

/** Replaces exactly one line matching `pattern`, so a config edit that no longer applies fails loudly. */
function replaceOnce(config: string, pattern: RegExp, replacement: string): string {
  const matches = config.match(new RegExp(pattern.source, 'gm'))?.length ?? 0;
  if (matches !== 1) throw new Error(`haproxy.cfg: expected one line matching ${pattern}, found ${matches}`);
  return config.replace(new RegExp(pattern.source, 'm'), replacement);
}

/**
 * The committed config without stickiness: no cookie, round-robin. It exists to prove that the
 * stickiness of the real one is what makes long-polling work (see test/infra-load-balancers.test.ts).
 */
export function withoutStickiness(config: string): string {
  const noCookie = replaceOnce(config, /^\s*cookie rw_node .*\n/, '');
  return replaceOnce(noCookie, /^(\s*)balance leastconn$/, '$1balance roundrobin');
}

/** The environment variables a HAProxy config reads (`"${NAME}"` or `"${NAME-default}"`), with their defaults. */
export function haproxyVariables(config: string): Record<string, string | undefined> {
  const variables: Record<string, string | undefined> = {};
  const directives = config
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  for (const [, name, fallback] of directives.matchAll(/"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:-([^}]*))?\}"/g)) variables[name as string] = fallback;
  return variables;
}

/** Reads the status of each server of the nodes' backend from the stats page's CSV export. */
export async function haproxyServerStates(statsUrl: string): Promise<Record<string, string>> {
  const res = await fetch(`${statsUrl};csv`, { signal: AbortSignal.timeout(1000) });
  const [header, ...rows] = (await res.text()).trim().split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const [pxname, svname, status] = ['pxname', 'svname', 'status'].map((c) => columns.indexOf(c)) as [number, number, number];
  const states: Record<string, string> = {};
  for (const row of rows) {
    const cells = row.split(',');
    const server = cells[svname] ?? '';
    if (cells[pxname] === BACKEND && server !== 'BACKEND') states[server] = cells[status] ?? '';
  }
  return states;
}

/** Starts HAProxy on loopback with {@link HAPROXY_CONFIG}, addresses set through its environment. */
export async function startHaproxy(opts: HaproxyOptions): Promise<BalancerHandle> {
  if (opts.affinity === true && opts.sticky === false) throw new TypeError('startHaproxy: the affinity config keeps stickiness; do not combine it with sticky: false');
  let configPath = opts.affinity === true ? HAPROXY_AFFINITY_CONFIG : HAPROXY_CONFIG;
  if (opts.sticky === false) {
    const dir = await mkdtemp(path.join(tmpdir(), 'roomwire-haproxy-'));
    removeDirOnExit(dir);
    configPath = path.join(dir, 'haproxy-roundrobin.cfg');
    await writeFile(configPath, withoutStickiness(await readFile(HAPROXY_CONFIG, 'utf8')));
  }
  const url = `http://127.0.0.1:${opts.port}`;
  const statsUrl = `http://127.0.0.1:${opts.statsPort}/stats`;
  const [node1, node2, node3] = opts.nodes;
  const proc = await spawnBalancer({
    command: 'haproxy',
    // -db: foreground, no daemon; logs go to stdout.
    args: ['-db', '-f', configPath],
    env: { RW_LISTEN: `127.0.0.1:${opts.port}`, RW_STATS_LISTEN: `127.0.0.1:${opts.statsPort}`, RW_NODE1: node1, RW_NODE2: node2, RW_NODE3: node3 },
    readyUrl: `${url}/lb-healthz`,
    keepLines: 20_000,
  });
  return {
    kind: opts.sticky === false ? 'haproxy-roundrobin' : opts.affinity === true ? 'haproxy-affinity' : 'haproxy',
    url,
    pid: proc.pid,
    statsUrl,
    output: proc.output,
    accessLog: async () => proc.output().split('\n').filter((line) => line.includes(' "')),
    waitUntilInRotation: (server, timeoutMs = 15_000) =>
      waitUntil(async () => (await haproxyServerStates(statsUrl))[server] === 'UP', {
        what: `HAProxy to report ${server} UP on ${statsUrl}`,
        timeoutMs,
        intervalMs: 100,
      }),
    stop: () => proc.stop('SIGTERM'),
  };
}
