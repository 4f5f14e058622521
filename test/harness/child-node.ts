import { spawn } from 'node:child_process';
import path from 'node:path';
import { LineBuffer } from './line-buffer';
import { signalAndWait, track } from './process-registry';
import { waitUntil } from './wait';

/** Absolute path of the roomwire server CLI that {@link spawnNode} runs by default. */
export const SERVER_CLI = path.resolve(__dirname, '../../server/src/cli.ts');

const REPO_ROOT = path.resolve(__dirname, '../..');

/**
 * How long a child node may take to become ready: a guard against a node that never starts, not a
 * speed bar. tsx compiles the server as it loads (~1.5 s of CPU); on a starved 2-core machine (load
 * average 15, three nodes starting at once) that took more than 30 s.
 */
export const NODE_START_TIMEOUT_MS = 60_000;

/** Options for {@link spawnNode}. */
export interface SpawnNodeOptions {
  /** Merged over process.env. */
  env: Record<string, string>;
  /** Polled with GET until it returns 200, e.g. `http://127.0.0.1:PORT/healthz`. */
  readyUrl: string;
  /** How long the node may take to answer `readyUrl`. @default {@link NODE_START_TIMEOUT_MS} */
  timeoutMs?: number;
  /** TypeScript entry to run instead of {@link SERVER_CLI} (harness self-tests use a fixture). */
  entry?: string;
  /** Also called with everything the node prints (stdout and stderr), e.g. to show its logs. */
  onOutput?: (chunk: Buffer) => void;
}

/** A roomwire node running in a child process. */
export interface ChildNodeHandle {
  readonly pid: number;
  /** Send `signal` (default SIGKILL) and wait for exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Exit code, or null when ended by a signal. */
  readonly exited: Promise<number | null>;
  /** Last 200 lines of stdout + stderr. */
  output(): string;
}

/** Whether GET `url` answers 200 within a second. */
export async function answers200(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Runs the server CLI from source under tsx; resolves once `readyUrl` answers 200. */
export async function spawnNode(opts: SpawnNodeOptions): Promise<ChildNodeHandle> {
  const entry = opts.entry ?? SERVER_CLI;
  const timeoutMs = opts.timeoutMs ?? NODE_START_TIMEOUT_MS;
  const log = new LineBuffer(200);
  const child = spawn(process.execPath, ['--conditions=roomwire-source', '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (c: Buffer) => {
      log.write(c);
      opts.onOutput?.(c);
    });
  }
  child.on('error', (err) => log.write(`spawn error: ${err.message}\n`));
  const exited = track(child);
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  const alive = (): boolean => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const kill = (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => signalAndWait(child, exited, signal);

  let failure: string | undefined;
  try {
    await waitUntil(async () => !alive() || (await answers200(opts.readyUrl)), {
      what: `${path.basename(entry)} to answer 200 on ${opts.readyUrl}`,
      timeoutMs,
      intervalMs: 50,
    });
    if (!alive()) {
      failure = `${path.basename(entry)} exited before ready (code ${child.exitCode}, signal ${child.signalCode})`;
    }
  } catch (err) {
    await kill('SIGKILL');
    failure = (err as Error).message;
  }
  if (failure !== undefined) {
    await closed;
    throw new Error(`${failure}\n--- child output ---\n${log.toString()}`);
  }

  return {
    pid: child.pid ?? -1,
    kill,
    exited,
    output: () => log.toString(),
  };
}
