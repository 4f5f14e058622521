import { execFile } from 'node:child_process';
import { cpus } from 'node:os';

/** How the processes of a measurement were placed on the machine's cores. */
export interface PinningReport {
  /** Whether the processes were pinned. */
  pinned: boolean;
  /** One line for logs and reports: what was done, or why not. */
  description: string;
  /** Cores of the servers and Redis, and of the load workers and the publisher (`taskset -c` lists). */
  serverCpus: string | null;
  loadCpus: string | null;
}

/** The processes to place: the system under test, and what drives it. */
export interface PinnedGroups {
  /** Server processes (nodes or baseline servers) and Redis. */
  servers: number[];
  /** Load workers and the publisher. */
  load: number[];
}

/** Splits `count` cores in two halves as `taskset -c` lists: servers first, load after; null under 2 cores. */
export function splitCores(count: number): { serverCpus: string; loadCpus: string } | null {
  if (count < 2) return null;
  const half = Math.floor(count / 2);
  const list = (from: number, to: number): string => (to - from === 1 ? String(from) : `${from}-${to - 1}`);
  return { serverCpus: list(0, half), loadCpus: list(half, count) };
}

const taskset = (args: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile('taskset', args, { timeout: 5000 }, (err, _stdout, stderr) => (err ? reject(new Error(`taskset ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });

/**
 * Pins the servers and Redis to the first half of the cores and the load workers and the publisher to
 * the other half (`taskset -a -p -c`, every thread of each process), so that the load generator
 * cannot take CPU from the system under test, nor the reverse: on 2 cores, `taskset -c 0` for the
 * servers and `taskset -c 1` for the load. Under 2 cores, or without `taskset`, pins nothing and says
 * why; never throws.
 *
 * @example
 * const pinning = await pinProcesses({ servers: [...nodePids, redisPid], load: [...loadPids, publisherPid] });
 * console.log(pinning.description);
 */
export async function pinProcesses(groups: PinnedGroups, coreCount = cpus().length): Promise<PinningReport> {
  const split = splitCores(coreCount);
  if (split === null) return { pinned: false, description: `not pinned: the machine has ${coreCount} core`, serverCpus: null, loadCpus: null };
  try {
    for (const pid of groups.servers) await taskset(['-a', '-p', '-c', split.serverCpus, String(pid)]);
    for (const pid of groups.load) await taskset(['-a', '-p', '-c', split.loadCpus, String(pid)]);
  } catch (err) {
    // Undo a partial pinning: a half-pinned run would be worse than none.
    await unpinProcesses([...groups.servers, ...groups.load], coreCount);
    return { pinned: false, description: `not pinned: ${err instanceof Error ? err.message : String(err)}`, serverCpus: null, loadCpus: null };
  }
  return {
    pinned: true,
    description: `pinned with taskset: servers and Redis on CPU ${split.serverCpus}, load workers and publisher on CPU ${split.loadCpus}`,
    ...split,
  };
}

/** Lets `pids` run on every core again (best effort: a process that is gone is skipped). */
export async function unpinProcesses(pids: number[], coreCount = cpus().length): Promise<void> {
  for (const pid of pids) await taskset(['-a', '-p', '-c', `0-${Math.max(0, coreCount - 1)}`, String(pid)]).catch(() => undefined);
}
