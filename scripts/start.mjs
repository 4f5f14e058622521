#!/usr/bin/env node
// `npm start`: builds what changed (scripts/build.mjs: incremental, about a second when nothing did),
// then runs the node's CLI in this same process, so that `npm start` costs one Node start-up, not
// three (npm's prestart, the build, the node), and signals reach the node directly.
import process from 'node:process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildPackages } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!(await buildPackages())) {
  process.stderr.write('roomwire: the build failed (errors above); the node was not started\n');
  process.exit(1);
}
await import(pathToFileURL(path.join(root, 'server', 'dist', 'cli.js')).href);
