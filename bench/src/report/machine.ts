import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

/** The machine a run ran on. */
export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  totalMemoryGiB: number;
  os: string;
  node: string;
  redis: string;
  /** 1-minute load average when the run started: other work on the machine skews results. */
  loadAverageAtStart: number;
  /**
   * The code the run measured: `git describe --always --dirty` of this checkout (`-dirty` = with uncommitted
   * changes), or `unknown` outside a git checkout. Absent in results recorded before it was added.
   */
  code?: string;
}

/** Describes this machine (`os.cpus()`, `os.totalmem()`, Node's version, `redis-server --version`). */
export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  let redis = 'unknown';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    totalMemoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis,
    loadAverageAtStart: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    code: describeCode(),
  };
}

function describeCode(): string {
  try {
    const cwd = path.resolve(__dirname, '../../..');
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** `, commit cf13f86` for a report's machine line; empty for results recorded before the commit was. */
export function codeSuffix(m: MachineInfo): string {
  return m.code === undefined ? '' : `, commit ${m.code}`;
}
