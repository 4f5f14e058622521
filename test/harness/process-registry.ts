import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

function cleanupSync(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort while exiting
    }
  }
  dirs.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupSync);
}

/** Removes `dir` when this process exits, unless {@link forgetDir} is called first. */
export function removeDirOnExit(dir: string): void {
  hook();
  dirs.add(dir);
}

/** Stops tracking `dir` (after the caller removed it). */
export function forgetDir(dir: string): void {
  dirs.delete(dir);
}

/** Tracks `child` so it is SIGKILLed if this process exits first; returns a promise of its exit code. */
export function track(child: ChildProcess): Promise<number | null> {
  hook();
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
