import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { startRedis, type RedisServerHandle } from './harness';

// The published packages, used the way a user outside this repository uses them: `npm pack` of the
// three workspaces (each package's prepack builds it), installed from the tarballs into an empty
// project in the OS temp folder with every other dependency from the registry (through the npm
// cache that `npm ci` filled), then type-checked, run and bundled there. Nothing resolves back into
// the repository: the consumer sees only its own node_modules.

const ROOT = path.resolve(__dirname, '..');
const CONSUMER_FIXTURE = path.join(__dirname, 'fixtures', 'package-consumer');
const run = promisify(execFile);
/** Exact versions the repository has installed, so that the registry answers from the npm cache. */
const versionOf = (name: string): string => (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

let work: string;
let consumer: string;
let tarballs: string[];
let redis: RedisServerHandle | undefined;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'roomwire-packages-'));
  const packs = path.join(work, 'tarballs');
  await mkdir(packs);
  const { stdout } = await run('npm', ['pack', '--workspace', 'shared', '--workspace', 'server', '--workspace', 'client', '--pack-destination', packs, '--json', '--silent'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  tarballs = (JSON.parse(stdout) as { filename: string }[]).map((p) => path.join(packs, p.filename));

  consumer = path.join(work, 'consumer');
  await cp(CONSUMER_FIXTURE, consumer, { recursive: true });
  await run('npm', ['init', '--yes'], { cwd: consumer });
  const registryDeps = ['@types/node', 'react', '@types/react', 'zod'].map((name) => `${name}@${versionOf(name)}`);
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, ...registryDeps], { cwd: consumer, maxBuffer: 16 * 1024 * 1024 });
}, 240_000);

afterAll(async () => {
  await redis?.cleanup();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

test('the tarballs hold the built package, its README and LICENSE, and no tests or build state', async () => {
  expect(tarballs.map((t) => path.basename(t)).sort()).toEqual(['roomwire-client-0.1.0.tgz', 'roomwire-server-0.1.0.tgz', 'roomwire-shared-0.1.0.tgz']);
  for (const name of ['shared', 'server', 'client']) {
    const dir = path.join(consumer, 'node_modules', '@roomwire', name);
    const files = await readdir(dir, { recursive: true });
    expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json', path.join('dist', 'index.js'), path.join('dist', 'index.d.ts')]));
    expect(files.filter((f) => /\.test\.ts$|\.tsbuildinfo$|\.meta\.json$/.test(f))).toEqual([]);
  }
  // One copy of @roomwire/shared, from its tarball: the others depend on it by version, not from the registry.
  const lock = JSON.parse(await readFile(path.join(consumer, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string }> };
  const shared = Object.keys(lock.packages).filter((p) => p.endsWith('node_modules/@roomwire/shared'));
  expect(shared).toEqual(['node_modules/@roomwire/shared']);
  expect(lock.packages['node_modules/@roomwire/shared']?.resolved).toMatch(/^file:/);
});

test.each(['node16', 'bundler'])('a TypeScript consumer type-checks under %s resolution (ESM and CommonJS files, wrong payloads refused)', async (resolution) => {
  // The consumer's expected-error lines fail the check if the packages' types were missing or `any`.
  await run(process.execPath, [TSC, '-p', `tsconfig.${resolution}.json`], { cwd: consumer }).catch((err: Error & { stdout?: string }) => {
    throw new Error(`tsc -p tsconfig.${resolution}.json failed:\n${err.stdout ?? err.message}`);
  });
  // A guard against a hang only: a cold tsc of the consumer is CPU-bound, seconds on a quiet machine and
  // past a minute at load average 25 (CI run beside six other jobs on 2 cores).
}, 180_000);

test('a Node ES module publishes through Redis and its client receives the event', async () => {
  redis = await startRedis();
  const { stdout } = await run(process.execPath, ['src/round-trip.mjs'], { cwd: consumer, env: { ...process.env, REDIS_URL: redis.url, LOG_LEVEL: 'warn' } });
  const line = stdout.split('\n').find((l) => l.startsWith('{"received"'));
  expect(JSON.parse(line ?? '{}')).toEqual({ received: { orderId: 'o_esm', totalCents: 1999 } });
}, 60_000);

test('a CommonJS script publishes over HTTP to the embedded node and its client receives the event', async () => {
  const { stdout } = await run(process.execPath, ['src/round-trip.cjs'], { cwd: consumer, env: { ...process.env, LOG_LEVEL: 'warn' } });
  const line = stdout.split('\n').find((l) => l.startsWith('{"received"'));
  expect(JSON.parse(line ?? '{}')).toEqual({ received: { invoiceId: 'in_cjs', amountCents: 42 } });
}, 60_000);

test('esbuild bundles the client and its React bindings for the browser from the installed packages', async () => {
  const result = await build({
    absWorkingDir: consumer,
    entryPoints: ['src/browser.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    external: ['react'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs).toEqual(expect.arrayContaining(['node_modules/@roomwire/client/dist/index.js', 'node_modules/@roomwire/shared/dist/index.js', 'node_modules/socket.io-client/build/cjs/index.js']));
  expect(inputs.filter((input) => !input.startsWith('node_modules/') && !input.startsWith('src/'))).toEqual([]);
  expect(result.outputFiles[0]?.text).toContain('realtime.example.com');
});

test('the release script publishes in dependency order (dry run)', async () => {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'scripts', 'release.mjs'), '--dry-run'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const order = [...stdout.matchAll(/^release: publishing (\S+)@/gm)].map((m) => m[1]);
  expect(order).toEqual(['@roomwire/shared', '@roomwire/server', '@roomwire/client']);
  expect(stdout).toContain('release: done (dry run: nothing was published)');
}, 120_000);
