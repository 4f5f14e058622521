/**
 * Bench-only CPU profiling: when `BENCH_CPU_PROFILE_DIR` is set, the process that imports this module
 * (first) profiles itself with V8's sampling profiler through `node:inspector` and, when it exits,
 * writes a `.cpuprofile` (the format of `node --cpu-prof`, readable by Chrome DevTools and by
 * `npm run bench -- profile-summary <file>`) into that directory. Imported by the Roomwire node entry,
 * the baseline server and the load worker. Without the variable it does nothing.
 *
 * Why not `node --cpu-prof`: the servers are started through the test harness with fixed node flags,
 * and the flag would also profile every process the bench forks, the orchestrator included.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

/** Sampling interval of the profiler, in µs (what `--cpu-prof-interval` defaults to, 1 ms, is too coarse for short runs). */
const SAMPLING_INTERVAL_US = 500;

/**
 * Starts profiling this process; the returned function stops it and writes the profile (synchronously,
 * so it can run in an `exit` handler). `name` goes into the file name, with the pid and the time.
 * @returns the function that writes the profile and returns its path (null when the profiler failed)
 */
export function startCpuProfile(dir: string, name: string): () => string | null {
  const session = new Session();
  session.connect();
  // A same-thread inspector session answers synchronously: each callback has run when `post` returns.
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  session.post('Profiler.start');
  let written: string | null = null;
  let done = false;
  return () => {
    if (done) return written;
    done = true;
    session.post('Profiler.stop', (err, result) => {
      if (err || !result?.profile) return;
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${name}-${process.pid}-${Date.now()}.cpuprofile`);
      writeFileSync(file, JSON.stringify(result.profile));
      written = file;
    });
    session.disconnect();
    return written;
  };
}

/** A file-name-safe label of this process: its `NODE_ID` (Roomwire nodes) or its entry file's name. */
function processLabel(): string {
  const label = process.env.NODE_ID ?? path.basename(process.argv[1] ?? 'node', path.extname(process.argv[1] ?? ''));
  return label.replace(/[^A-Za-z0-9_.-]/g, '_');
}

const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
if (profileDir !== undefined && profileDir.length > 0) {
  const write = startCpuProfile(path.resolve(profileDir), processLabel());
  process.on('exit', () => {
    const file = write();
    if (file !== null) process.stderr.write(`[bench] CPU profile written to ${file}\n`);
  });
}
