import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Package names that provide each binary `npm run cluster` runs: Debian/Ubuntu (apt) and macOS (Homebrew). */
const PACKAGES: Readonly<Record<string, { apt: string; brew: string }>> = {
  'redis-server': { apt: 'redis-server', brew: 'redis' },
  haproxy: { apt: 'haproxy', brew: 'haproxy' },
  nginx: { apt: 'nginx', brew: 'nginx' },
};

/** The full path of `command` on `searchPath` (a `PATH` value), or undefined when no executable file has that name. */
export function findOnPath(command: string, searchPath: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The commands of `commands` that are not on `searchPath`, in order. */
export function missingBinaries(commands: readonly string[], searchPath?: string): string[] {
  return commands.filter((command) => findOnPath(command, searchPath) === undefined);
}

/** The message that names missing binaries and how to install them. */
export function installHelp(missing: readonly string[]): string {
  const apt = missing.map((m) => PACKAGES[m]?.apt ?? m).join(' ');
  const brew = missing.map((m) => PACKAGES[m]?.brew ?? m).join(' ');
  return [
    `npm run cluster needs ${missing.join(' and ')} on the PATH. Install:`,
    `  sudo apt-get install -y ${apt}      # Debian, Ubuntu`,
    `  brew install ${brew}      # macOS`,
  ].join('\n');
}
