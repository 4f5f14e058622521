import { freePort, spawnNode } from '../../../test/harness';

/** A server process of the system under test (a Roomwire node or a baseline server). */
export interface NodeProcess {
  url: string;
  pid: number;
  /** Last lines the process printed. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5000;
const START_TIMEOUT_MS = 30_000;

/**
 * Starts a server process from TypeScript source under tsx on a free loopback port (the test harness's
 * `spawnNode`: Roomwire's CLI by default, or `entry`); resolves once `GET /healthz` answers 200.
 */
export async function startNodeProcess(options: { env: Record<string, string>; entry?: string }): Promise<NodeProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const handle = await spawnNode({
    env: { ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    readyUrl: `${url}/healthz`,
    timeoutMs: START_TIMEOUT_MS,
    ...(options.entry === undefined ? {} : { entry: options.entry }),
  });
  return {
    url,
    pid: handle.pid,
    output: () => handle.output(),
    async stop() {
      await Promise.race([handle.kill('SIGTERM'), new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS))]);
      await handle.kill('SIGKILL');
    },
  };
}
