import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { runInThisContext } from 'node:vm';

/**
 * The process itself, also inside a jest test. Jest hands each test file a copy of `process` whose
 * events Node never emits: an 'exit' or signal listener on it never runs, and a worker that jest
 * ends (SIGTERM when it fails to exit) would leave every redis-server and node it started running.
 * `runInThisContext` evaluates in the main context, where `process` is the real one; outside jest it
 * is the same object.
 */
const realProcess = runInThisContext('process') as NodeJS.Process;

/** Signals that end a process without 'exit' (jest force-exits a worker with SIGTERM; Ctrl-C is SIGINT). */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** What this process started and has not seen end; one per process, shared by every copy of this module. */
interface Registry {
  live: Set<ChildProcess>;
  dirs: Set<string>;
}

// Jest loads this module afresh for each test file of a worker: the registry and its listeners are
// kept on the process, so that they are added once, not once per file (the listeners keep the context
// of the first file that started a process alive until the worker exits: one context, not one per file).
const REGISTRY = Symbol.for('roomwire.test-harness.process-registry');

function registry(): Registry {
  const holder = realProcess as NodeJS.Process & { [REGISTRY]?: Registry };
  const existing = holder[REGISTRY];
  if (existing) return existing;
  const created: Registry = { live: new Set(), dirs: new Set() };
  holder[REGISTRY] = created;
  const cleanupSync = (): void => {
    for (const child of created.live) {
      try {
        if (child.pid !== undefined) realProcess.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    created.live.clear();
    for (const dir of created.dirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort while exiting
      }
    }
    created.dirs.clear();
  };
  realProcess.on('exit', cleanupSync);
  for (const signal of ENDING_SIGNALS) {
    const onSignal = (): void => {
      // Another listener handles it (a CLI that stops what it started gracefully): leave it to that one.
      if (realProcess.listenerCount(signal) > 1) return;
      // Kill what this process started, then end of the same signal as without this listener.
      cleanupSync();
      realProcess.removeListener(signal, onSignal);
      realProcess.kill(realProcess.pid, signal);
    };
    realProcess.on(signal, onSignal);
  }
  return created;
}

/** Removes `dir` when this process exits or is ended by a signal, unless {@link forgetDir} is called first. */
export function removeDirOnExit(dir: string): void {
  registry().dirs.add(dir);
}

/** Stops tracking `dir` (after the caller removed it). */
export function forgetDir(dir: string): void {
  registry().dirs.delete(dir);
}

/** Tracks `child` so it is SIGKILLed if this process exits or is ended by a signal first; returns a promise of its exit code. */
export function track(child: ChildProcess): Promise<number | null> {
  const { live } = registry();
  live.add(child);
  return new Promise((resolve) => {
    const done = (code: number | null): void => {
      live.delete(child);
      resolve(code);
    };
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
    else child.once('exit', (code) => done(code));
    // A failed spawn emits 'error' and may never emit 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) done(null);
    });
  });
}

/** Sends `signal` to `child` (if still running) and resolves once `exited` settles. */
export async function signalAndWait(
  child: ChildProcess,
  exited: Promise<number | null>,
  signal: NodeJS.Signals,
): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  await exited;
}
