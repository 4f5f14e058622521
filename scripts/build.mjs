#!/usr/bin/env node
// The incremental build of the three packages, shared by `npm run build` and `npm start`: `tsc -b`
// over tsconfig.build.json (each package's dist/.tsbuildinfo makes a build with nothing changed a
// check of file stamps), then the client's browser bundle (skipped when it is up to date).
// `node scripts/build.mjs` exits 1 on a type error. `buildPackages()` runs in a worker thread so
// that `npm start` does not keep the compiler in the node's memory.
import process from 'node:process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Builds in this thread; returns false when the compiler reported errors (already printed). */
function buildHere() {
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
