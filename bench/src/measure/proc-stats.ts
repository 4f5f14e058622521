import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (`getconf CLK_TCK`, 100 on Linux in practice). */
const CLOCK_TICKS_PER_S = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`; `null` when the
 * process is gone. Linux only, like the rest of the benchmark's process metrics.
 */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields from after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes, from `/proc/<pid>/status` (VmRSS); `null` when gone. */
export function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Sum of {@link cpuSeconds} over `pids`, counting vanished processes as 0. */
export function totalCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
}

/**
 * CPU seconds the whole machine has been busy (all cores: user, nice, system, irq, softirq, steal),
 * from the first line of `/proc/stat`; `null` where it cannot be read.
 */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [label, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/);
    if (label !== 'cpu') return null;
    const ticks = [user, nice, system, irq, softirq, steal].reduce((sum, v) => sum + Number(v ?? 0), 0);
    return ticks / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}
