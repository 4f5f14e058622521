import { get } from 'node:http';
import { freePort, spawnNode } from '../../../test/harness';
import type { ProbedMemory } from '../measure/memory-probe';

/** A server process of the system under test (a Roomwire node or a baseline server). */
export interface NodeProcess {
  url: string;
  pid: number;
  /** `process.memoryUsage()` of the process after a forced GC (bench-only probe); rejects without `probe`. */
  memory(): Promise<ProbedMemory>;
  /** Last lines the process printed. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5000;

/**
 * Starts a server process from TypeScript source under tsx on a free loopback port (the test harness's
 * `spawnNode`: Roomwire's CLI by default, or `entry`); resolves once `GET /healthz` answers 200.
 */
export async function startNodeProcess(options: { env: Record<string, string>; entry?: string; probe?: boolean }): Promise<NodeProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const probePort = options.probe === true ? await freePort() : null;
  const handle = await spawnNode({
    env: { ...options.env, PORT: String(port), HOST: '127.0.0.1', ...(probePort === null ? {} : { BENCH_PROBE_PORT: String(probePort) }) },
    // Within the harness's NODE_START_TIMEOUT_MS (tsx compiles the server as it starts).
    readyUrl: `${url}/healthz`,
    ...(options.entry === undefined ? {} : { entry: options.entry }),
  });
  return {
    url,
    pid: handle.pid,
    async memory() {
      if (probePort === null) throw new Error(`${url} was started without the memory probe`);
      // A one-off connection (no keep-alive pool that would outlive the run).
      const body = await new Promise<string>((resolve, reject) => {
        const req = get({ host: '127.0.0.1', port: probePort, path: '/memory', agent: false, timeout: 10_000 }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`memory probe of ${url} answered ${res.statusCode}`))));
        });
        req.on('timeout', () => req.destroy(new Error(`memory probe of ${url} timed out`)));
        req.on('error', reject);
      });
      return JSON.parse(body) as ProbedMemory;
    },
    output: () => handle.output(),
    async stop() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([handle.kill('SIGTERM'), new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
      // A pending grace timer would keep the orchestrator (or a jest worker) alive for nothing.
      clearTimeout(timer);
      await handle.kill('SIGKILL');
    },
  };
}
