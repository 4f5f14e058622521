import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import type { ChaosConfig } from './config';
import type { ScenarioResult } from './run';

const run = promisify(execFile);

/** The machine a run happened on. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  redis: string;
  haproxy: string;
  os: string;
  /** 1, 5 and 15 minute load averages at the start. */
  loadAverage: number[];
  loadAverageAfter?: number[];
}

/** A whole `npm run chaos` run, as written to the results JSON. */
export interface ChaosRun {
  command: string;
  mode: ChaosConfig['mode'];
  config: ChaosConfig;
  machine: Machine;
  finishedAt: string;
  scenarios: ScenarioResult[];
}

async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args);
    return (stdout || stderr).split('\n')[0]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function describeMachine(): Promise<Machine> {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: await firstLine('redis-server', ['--version']),
    haproxy: await firstLine('haproxy', ['-v']),
    os: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function renderReliabilityDoc(chaos: ChaosRun): string {
  return `# Reliability\n\n(to be written)\n${JSON.stringify(chaos.scenarios.map((s) => s.name))}\n`;
}
