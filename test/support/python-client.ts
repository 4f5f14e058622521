import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LineBuffer, waitUntil } from '../harness';
import { track } from '../harness/process-registry';

/** The Python client package, `clients/python` (holds `roomwire/` and `tests/`). */
export const PYTHON_CLIENT_DIR = path.resolve(__dirname, '../../clients/python');

/** What the client needs: python-socketio 5 (threading), python-engineio and websocket-client. */
const REQUIREMENTS_CHECK = [
  'import sys, socketio, engineio, websocket',
  'from importlib.metadata import version',
  "assert sys.version_info >= (3, 9), 'Python 3.9+'",
  "assert version('python-socketio').split('.')[0] == '5', 'python-socketio 5.x, found ' + version('python-socketio')",
].join('\n');

/**
 * The first Python 3 interpreter that can run the client: `ROOMWIRE_PYTHON` if set, else each
 * `python3` on PATH in order (a pyenv `python3` often cannot see Debian's dist-packages, whose
 * interpreter comes later on PATH). Throws, naming what to install, when there is none: CI installs
 * the packages, so a missing one is a failure, never a skip.
 */
export function findPython(): string {
  const fromEnv = process.env.ROOMWIRE_PYTHON;
  const candidates = fromEnv ? [fromEnv] : pythonsOnPath();
  const tried: string[] = [];
  for (const candidate of candidates) {
    const result = spawnSync(candidate, ['-c', REQUIREMENTS_CHECK], { encoding: 'utf8', timeout: 20_000 });
    if (result.status === 0) return candidate;
    tried.push(`${candidate}: ${(result.stderr || result.error?.message || `exit ${result.status}`).trim().split('\n').pop()}`);
  }
  throw new Error(
    'No Python interpreter can run the Roomwire Python client (it needs python-socketio 5 and websocket-client). ' +
      'Install them: apt-get install -y --no-install-recommends python3-socketio python3-websocket (.ci/run does), ' +
      `or point ROOMWIRE_PYTHON at an interpreter that has them. Tried: ${tried.join('; ') || 'no python3 on PATH'}`,
  );
}

function pythonsOnPath(): string[] {
  const seen = new Set<string>();
  const found: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'python3');
    if (!dir || !existsSync(candidate)) continue;
    // /bin and /usr/bin are often one directory: try each interpreter once.
    const real = realpathSync(candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    found.push(candidate);
  }
  return found;
}

/** A message the driver (`clients/python/tests/driver.py`) prints: one JSON object per line. */
export type DriverMessage =
  | { t: 'event'; id: string; service: string; type: string; data: unknown }
  | { t: 'resync'; services: string[]; reason: string }
  | { t: 'error'; code: string; message: string }
  | { t: 'state'; from: string; to: string }
  | ({ t: 'metrics' } & PythonMetrics)
  | { t: 'subscribed' | 'unsubscribed'; services: string[] }
  | { t: 'closed'; threads: string[] };

/** `Client.metrics()` of the Python client. */
export interface PythonMetrics {
  events: number;
  duplicates: number;
  frames: number;
  compressed_frames: number;
  bad_frames: number;
  connects: number;
  resumes: number;
  recovered: number;
  resyncs: number;
  token_calls: number;
  position: { epoch: string; offset: string } | null;
  state: string;
}

/** A Python client in a child process. */
export interface PythonClient {
  /** Everything it printed, in order. */
  readonly messages: DriverMessage[];
  /** The events it handed to the application, in order. */
  events(): Extract<DriverMessage, { t: 'event' }>[];
  resyncs(): Extract<DriverMessage, { t: 'resync' }>[];
  errors(): Extract<DriverMessage, { t: 'error' }>[];
  /** Its state: the `to` of the last state change. */
  state(): string;
  /** Writes the token file the client's token function reads on every (re)connect. */
  setToken(token: string): void;
  /** Waits until the client's state is `state`. */
  waitForState(state: string, timeoutMs?: number): Promise<void>;
  /** Asks for `Client.metrics()`. */
  metrics(): Promise<PythonMetrics>;
  /** `Client.subscribe` / `unsubscribe`; resolves once its future resolved. */
  change(cmd: 'subscribe' | 'unsubscribe', services: string[]): Promise<void>;
  /** Closes the client, waits for the process to exit, and returns the roomwire threads left running. */
  close(): Promise<string[]>;
  /** Its stderr (last 200 lines), for failure messages. */
  stderr(): string;
}

/** Starts `clients/python/tests/driver.py` with `python` against `url`, subscribed to `services`, with `token`. */
export function startPythonClient(
  python: string,
  options: { url: string; token: string; services: string[]; maxPendingPackets?: number; handlerDelayS?: number },
): PythonClient {
  const dir = mkdtempSync(path.join(tmpdir(), 'roomwire-py-'));
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, options.token);
  const child = spawn(
    python,
    [
      path.join(PYTHON_CLIENT_DIR, 'tests', 'driver.py'),
      ...['--url', options.url, '--token-file', tokenFile, '--services', options.services.join(',')],
      ...(options.maxPendingPackets !== undefined ? ['--max-pending-packets', String(options.maxPendingPackets)] : []),
      ...(options.handlerDelayS !== undefined ? ['--handler-delay-s', String(options.handlerDelayS)] : []),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' } },
  );
  const exited = track(child);
  const messages: DriverMessage[] = [];
  const stderr = new LineBuffer(200);
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) messages.push(JSON.parse(line) as DriverMessage);
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.write(chunk));
  const send = (command: Record<string, unknown>): void => {
    child.stdin.write(`${JSON.stringify(command)}\n`);
  };
  const of = <T extends DriverMessage['t']>(t: T) => messages.filter((m): m is Extract<DriverMessage, { t: T }> => m.t === t);
  const state = (): string => of('state').at(-1)?.to ?? 'idle';
  let closing: Promise<string[]> | undefined;
  const awaitMessage = async <T extends DriverMessage['t']>(t: T, after: number, what: string, timeoutMs = 10_000): Promise<Extract<DriverMessage, { t: T }>> => {
    let found: Extract<DriverMessage, { t: T }> | undefined;
    await waitUntil(
      () => {
        found = messages.slice(after).find((m): m is Extract<DriverMessage, { t: T }> => m.t === t);
        return found !== undefined || child.exitCode !== null;
      },
      { what, timeoutMs },
    );
    if (!found) throw new Error(`the Python client exited (${child.exitCode}) before ${what}; stderr:\n${stderr.toString()}`);
    return found;
  };

  return {
    messages,
    events: () => of('event'),
    resyncs: () => of('resync'),
    errors: () => of('error'),
    state,
    setToken: (token) => writeFileSync(tokenFile, token),
    waitForState: (wanted, timeoutMs = 10_000) =>
      waitUntil(
        () => {
          if (child.exitCode !== null) throw new Error(`the Python client exited (${child.exitCode}); stderr:\n${stderr.toString()}`);
          return state() === wanted;
        },
        { what: `the Python client in state ${wanted} (now ${state()})`, timeoutMs },
      ),
    async metrics() {
      const after = messages.length;
      send({ cmd: 'metrics' });
      return awaitMessage('metrics', after, 'the Python client’s metrics');
    },
    async change(cmd, services) {
      const after = messages.length;
      send({ cmd, services });
      await awaitMessage(cmd === 'subscribe' ? 'subscribed' : 'unsubscribed', after, `${cmd} ${services.join(',')} confirmed`);
    },
    close() {
      closing ??= closeOnce();
      return closing;
    },
    stderr: () => stderr.toString(),
  };

  async function closeOnce(): Promise<string[]> {
    const after = messages.length;
    if (child.exitCode === null) {
      send({ cmd: 'close' });
      child.stdin.end();
    }
    let threads: string[] = [];
    try {
      threads = (await awaitMessage('closed', after, 'the Python client closed', 20_000)).threads;
      await exited;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
    return threads;
  }
}
