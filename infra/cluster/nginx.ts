import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeDirOnExit } from '../../test/harness/process-registry';
import { spawnBalancer, type BalancerHandle } from './balancer-process';
import { renderTemplate } from './render-template';

/** The committed nginx configuration template; every nginx this repo starts runs it, rendered. */
export const NGINX_TEMPLATE = path.resolve(__dirname, '../nginx/nginx.conf');

/** Options of {@link startNginx}. */
export interface NginxOptions {
  /** Loopback port clients connect to. */
  port: number;
  /** `host:port` of node1, node2 and node3. */
  nodes: readonly [string, string, string];
}

/**
 * Starts nginx on loopback with {@link NGINX_TEMPLATE}, rendered into a private prefix directory
 * (pid file, temporary files). The trusted proxy is loopback, so local clients may set
 * `X-Forwarded-For` to stand for different addresses, as behind a cloud load balancer.
 */
export async function startNginx(opts: NginxOptions): Promise<BalancerHandle> {
  const prefix = await mkdtemp(path.join(tmpdir(), 'roomwire-nginx-'));
  removeDirOnExit(prefix);
  const [node1, node2, node3] = opts.nodes;
  const accessLogPath = path.join(prefix, 'access.log');
  const config = renderTemplate(await readFile(NGINX_TEMPLATE, 'utf8'), {
    RW_LISTEN: `127.0.0.1:${opts.port}`,
    RW_NODE1: node1,
    RW_NODE2: node2,
    RW_NODE3: node3,
    RW_TRUSTED_PROXY: '127.0.0.1',
    RW_ACCESS_LOG: accessLogPath,
  });
  const configPath = path.join(prefix, 'nginx.conf');
  await writeFile(configPath, config);
  const url = `http://127.0.0.1:${opts.port}`;
  const proc = await spawnBalancer({
    command: 'nginx',
    args: ['-p', prefix, '-c', configPath, '-e', 'stderr', '-g', `daemon off; pid ${path.join(prefix, 'nginx.pid')};`],
    readyUrl: `${url}/lb-healthz`,
  });
  return {
    kind: 'nginx',
    url,
    pid: proc.pid,
    statsUrl: undefined,
    output: proc.output,
    accessLog: async () => (await readFile(accessLogPath, 'utf8').catch(() => '')).split('\n').filter((line) => line.length > 0),
    // Open-source nginx has no active health checks: a node is in rotation whenever it accepts connections.
    waitUntilInRotation: async () => undefined,
    // SIGTERM: fast shutdown. A graceful one (SIGQUIT) would wait for every open WebSocket.
    stop: () => proc.stop('SIGTERM'),
  };
}
