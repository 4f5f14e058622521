import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const SOURCE = path.join(__dirname, 'fixtures', 'clock-offset.c');

let built: Promise<string> | undefined;

/**
 * The environment that runs a process with its wall clock shifted by `offsetMs` (see
 * `fixtures/clock-offset.c`): the shim is compiled with the system's C compiler on first use and
 * cached in the temp directory by its source's hash.
 */
export async function clockOffsetEnv(offsetMs: number): Promise<NodeJS.ProcessEnv> {
  built ??= build();
  return { LD_PRELOAD: await built, CLOCK_OFFSET_MS: String(Math.round(offsetMs)) };
}

async function build(): Promise<string> {
  const source = await readFile(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(tmpdir(), 'roomwire-clock-offset');
  const library = path.join(dir, `clock-offset-${hash}.so`);
  if (existsSync(library)) return library;
  await mkdir(dir, { recursive: true });
  const partial = `${library}.${process.pid}.tmp`;
  try {
    await promisify(execFile)('cc', ['-shared', '-fPIC', '-O2', '-o', partial, SOURCE]);
  } catch (err) {
    throw new Error(`could not build the clock-offset shim with cc (install gcc): ${(err as Error).message}`);
  }
  await rename(partial, library);
  return library;
}
