import { execFileSync } from 'node:child_process';
import os from 'node:os';

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
  };
}
