#!/usr/bin/env node
// The incremental build of the three packages, shared by `npm run build` and `npm start`: `tsc -b`
// over tsconfig.build.json (each package's dist/.tsbuildinfo makes a build with nothing changed a
// check of file stamps, skipped altogether when no input is newer than the last build), then the
// client's browser bundle (skipped when it is up to date).
// `node scripts/build.mjs` exits 1 on a type error. `buildPackages()` runs in a worker thread so
// that `npm start` does not keep the compiler in the node's memory.
import process from 'node:process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const PACKAGES = ['shared', 'server', 'client'];

/** Newest modification time of `dir` and everything under it (a rename or deletion changes its folder's time). */
function newestUnder(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Why: loading the compiler costs about a second even when `tsc -b` then finds nothing to do; when no
 * source, tsconfig or manifest is newer than every package's last build, that check can be skipped.
 */
function isBuildFresh() {
  try {
    const built = Math.min(...PACKAGES.map((p) => statSync(path.join(root, p, 'dist', '.tsbuildinfo')).mtimeMs));
    const inputs = [
      ...PACKAGES.flatMap((p) => [newestUnder(path.join(root, p, 'src')), ...['tsconfig.json', 'package.json'].map((f) => statSync(path.join(root, p, f)).mtimeMs)]),
      ...['tsconfig.base.json', 'tsconfig.build.json'].map((f) => statSync(path.join(root, f)).mtimeMs),
    ];
    return Math.max(...inputs) <= built;
  } catch {
    return false;
  }
}

/** Builds in this thread; returns false when the compiler reported errors (already printed). */
function buildHere() {
  if (isBuildFresh()) {
    require(path.join(root, 'client', 'build-browser.js')).buildBrowserBundle();
    return true;
  }
  const ts = require('typescript');
  const formatHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  const format = process.stderr.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
  const report = (diagnostic) => process.stderr.write(format([diagnostic], formatHost));
  const host = ts.createSolutionBuilderHost(ts.sys, undefined, report, () => undefined);
  const status = ts.createSolutionBuilder(host, [path.join(root, 'tsconfig.build.json')], {}).build();
  if (status !== ts.ExitStatus.Success) return false;
  require(path.join(root, 'client', 'build-browser.js')).buildBrowserBundle();
  return true;
}

/** Builds the packages in a worker thread; resolves to false when the build failed (errors printed). */
export function buildPackages() {
  if (isBuildFresh()) return Promise.resolve(buildHere());
  return new Promise((resolve, reject) => {
    const worker = new Worker(fileURLToPath(import.meta.url));
    let ok = false;
    worker.once('message', (message) => (ok = message === true));
    worker.once('error', reject);
    worker.once('exit', () => resolve(ok));
  });
}

if (!isMainThread) parentPort.postMessage(buildHere());
else if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = buildHere() ? 0 : 1;
