import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { clockOffsetEnv } from './clock-offset';
import { LineBuffer } from './line-buffer';
import { freePort } from './ports';
import { forgetDir, removeDirOnExit, signalAndWait, track } from './process-registry';
import { waitUntil } from './wait';

/** Options for {@link startRedis}. */
export interface RedisServerOptions {
  /** Enable the append-only file so data survives a clean stop + restart. Default false. */
  appendOnly?: boolean;
  /** How long to wait for PING to succeed. Default 10000 ms. */
  timeoutMs?: number;
  /** Listen on this port instead of a free one (no retry when it is taken). Default: a free port. */
  port?: number;
  /** More `redis-server` arguments (e.g. `--cluster-enabled yes`). Default none. */
  args?: readonly string[];
}

/** Options of a restart. */
export interface RedisRestartOptions {
  /** Run the new process with its wall clock this far off the host's (negative: behind). Default 0. */
  clockOffsetMs?: number;
  /**
   * Come back from this snapshot (a path from {@link RedisServerHandle.snapshot}): it becomes the
   * `dump.rdb` the new process loads, once the old one has exited. Default: whatever the dir holds.
   */
  fromSnapshot?: string;
}

/** A running (or stopped) redis-server owned by a test. */
export interface RedisServerHandle {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  /** Data directory (temporary, removed by cleanup). */
  readonly dir: string;
  /** Whether the current process is still running. */
  running(): boolean;
  /** Last lines the server printed. */
  output(): string;
  /** SIGTERM (clean shutdown, AOF flushed) and wait for exit. */
  stop(): Promise<void>;
  /** Send `signal` (default SIGKILL) and wait for exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Saves the dataset now (`SAVE`) and keeps a copy of the RDB file under a name of its own in the
   * data dir; resolves with its path, for `restart({ fromSnapshot })` (Redis restored from a backup).
   */
  snapshot(): Promise<string>;
  /**
   * Start again on the same port and dir (stopping first if running); resolves when it answers PING.
   * A `dump.rdb` in the dir is loaded (without AOF), which is how a test restores an older snapshot.
   */
  restart(options?: RedisRestartOptions): Promise<void>;
  /** Kill if running and remove the data directory. */
  cleanup(): Promise<void>;
}

/** One raw-protocol PING; true only on `+PONG` (not e.g. `-LOADING`). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

interface Running {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Settles once stdout/stderr are drained after exit. */
  closed: Promise<void>;
}

function isAlive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function launch(port: number, dir: string, appendOnly: boolean, args: readonly string[], log: LineBuffer, env?: NodeJS.ProcessEnv): Running {
  const child = spawn(
    'redis-server',
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', appendOnly ? 'yes' : 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--protected-mode', 'no',
      '--loglevel', 'warning',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) },
  );
  child.stdout?.on('data', (c: Buffer) => log.write(c));
  child.stderr?.on('data', (c: Buffer) => log.write(c));
  child.on('error', (err) => log.write(`spawn error: ${err.message}\n`));
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  return { child, exited: track(child), closed };
}

async function untilReady(port: number, run: Running, timeoutMs: number, log: LineBuffer): Promise<void> {
  const { child } = run;
  let failure: string | undefined;
  try {
    // Stop polling early if the process dies (bad args, port taken, ...).
    await waitUntil(async () => !isAlive(child) || (await ping(port)), {
      what: `redis-server on 127.0.0.1:${port} to answer PING`,
      timeoutMs,
      intervalMs: 20,
    });
    if (!isAlive(child)) {
      failure = `redis-server exited before answering PING (code ${child.exitCode}, signal ${child.signalCode})`;
    }
  } catch (err) {
    await signalAndWait(child, run.exited, 'SIGKILL');
    failure = (err as Error).message;
  }
  if (failure === undefined) return;
  await run.closed;
  throw new Error(`${failure}\n--- redis-server output ---\n${log.toString()}`);
}

/** Spawns a private redis-server on a free 127.0.0.1 port; resolves once it answers PING. */
export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const appendOnly = opts.appendOnly ?? false;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'roomwire-redis-'));
  removeDirOnExit(dir);
  const removeDir = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
    forgetDir(dir);
  };
  const log = new LineBuffer();

  // freePort() is racy (another process may grab the port), so retry a couple of times.
  let port = 0;
  let run: Running | undefined;
  for (let attempt = 1; !run; attempt++) {
    port = opts.port || (await freePort());
    const candidate = launch(port, dir, appendOnly, opts.args ?? [], log);
    try {
      await untilReady(port, candidate, timeoutMs, log);
      run = candidate;
    } catch (err) {
      if (attempt >= 3 || opts.port || !log.toString().includes('Address already in use')) {
        await removeDir();
        throw err;
      }
    }
  }

  let current: Running = run;
  const running = (): boolean => isAlive(current.child);
  const kill = (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => signalAndWait(current.child, current.exited, signal);
  let snapshots = 0;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return current.child.pid ?? -1;
    },
    dir,
    running,
    output: () => log.toString(),
    stop: () => kill('SIGTERM'),
    kill,
    async snapshot() {
      const admin = createClient({ url: `redis://127.0.0.1:${port}` });
      admin.on('error', () => undefined);
      await admin.connect();
      try {
        await admin.sendCommand(['SAVE']);
      } finally {
        admin.destroy();
      }
      const copy = path.join(dir, `snapshot-${++snapshots}.rdb`);
      await copyFile(path.join(dir, 'dump.rdb'), copy);
      return copy;
    },
    async restart(restartOptions = {}) {
      if (running()) await kill('SIGTERM');
      if (restartOptions.fromSnapshot !== undefined) await copyFile(restartOptions.fromSnapshot, path.join(dir, 'dump.rdb'));
      const env = restartOptions.clockOffsetMs ? await clockOffsetEnv(restartOptions.clockOffsetMs) : undefined;
      const next = launch(port, dir, appendOnly, opts.args ?? [], log, env);
      current = next;
      await untilReady(port, next, timeoutMs, log);
    },
    async cleanup() {
      if (running()) await kill('SIGKILL');
      await removeDir();
    },
  };
}
