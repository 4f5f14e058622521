import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LineBuffer, answers200, waitUntil } from '../../test/harness';
import { signalAndWait, track } from '../../test/harness/process-registry';

/**
 * Which load balancer fronts a local cluster; `haproxy-roundrobin` is HAProxy without stickiness,
 * `haproxy-affinity` HAProxy routing new sessions by their org's partition (infra/haproxy/haproxy-affinity.cfg).
 */
export type BalancerKind = 'haproxy' | 'nginx' | 'haproxy-roundrobin' | 'haproxy-affinity';

/** A load balancer process in front of the nodes. */
export interface BalancerHandle {
  readonly kind: BalancerKind;
  /** Where clients connect, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly pid: number;
  /** HAProxy's stats page (`/stats`, `/metrics`); nginx has none. */
  readonly statsUrl: string | undefined;
  /** Last lines the balancer printed (errors; HAProxy's access log too). */
  output(): string;
  /** The access log so far, one request a line (the last 20 000 for HAProxy). */
  accessLog(): Promise<string[]>;
  /** Resolves once the balancer sends new sessions to `server` (`node1` …); immediate where it cannot tell. */
  waitUntilInRotation(server: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

/** How {@link spawnBalancer} starts and checks one balancer binary. */
export interface BalancerProcessOptions {
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Polled until it answers 200: the balancer's own health URL. */
  readyUrl: string;
  /** How many of the last lines printed {@link BalancerProcess.output} keeps. @default 400 */
  keepLines?: number;
  timeoutMs?: number;
}

/** A running balancer binary: its pid, its output, and how to stop it. */
export interface BalancerProcess {
  readonly pid: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a balancer in the foreground; resolves once `readyUrl` answers 200, or throws with its output. */
export async function spawnBalancer(opts: BalancerProcessOptions): Promise<BalancerProcess> {
  const log = new LineBuffer(opts.keepLines ?? 400);
  const child = spawn(opts.command, opts.args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = track(child);
  // Line by line, so that lines of stdout and stderr never interleave mid-line.
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => log.write(`${line}\n`));
  child.on('error', (err) => log.write(`spawn error: ${err.message}\n`));
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => signalAndWait(child, exited, signal);
  const alive = (): boolean => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  try {
    await waitUntil(async () => !alive() || (await answers200(opts.readyUrl)), {
      what: `${opts.command} to answer 200 on ${opts.readyUrl}`,
      timeoutMs: opts.timeoutMs ?? 10_000,
      intervalMs: 50,
    });
  } catch (err) {
    await stop('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- ${opts.command} output ---\n${log.toString()}`);
  }
  if (!alive()) {
    await exited;
    throw new Error(`${opts.command} exited before it was ready (code ${child.exitCode})\n--- ${opts.command} output ---\n${log.toString()}`);
  }
  return { pid: child.pid ?? -1, output: () => log.toString(), stop };
}
