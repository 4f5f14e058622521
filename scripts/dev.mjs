#!/usr/bin/env node
// `npm run dev`: one node run from the TypeScript sources under `tsx watch`, restarted whenever a
// file it imports changes (server and shared sources alike, through the `roomwire-source` export
// condition), with no `tsc` build. The development secrets are generated once here, not by each
// restart, so the printed dev token and publish key stay valid across restarts. Every variable of
// `npm start` applies (README, "Configuration").
import process from 'node:process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

// The status page loads the client's browser bundle (skipped when it is up to date).
require(path.join(root, 'client', 'build-browser.js')).buildBrowserBundle();

if (!process.env.JWT_SECRET && !process.env.JWKS_URL) process.env.JWT_SECRET = randomBytes(32).toString('base64url');
if (!process.env.PUBLISH_API_KEY) process.env.PUBLISH_API_KEY = randomBytes(24).toString('base64url');

// tsx's CLI runs in this process (not as a child of it), so a signal to npm reaches the watcher once
// and the watcher alone relays it to the node.
const tsxCli = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');
process.chdir(root);
process.argv = [process.argv[0], tsxCli, 'watch', '--clear-screen=false', '--conditions=roomwire-source', path.join(root, 'server', 'src', 'cli.ts')];
await import(pathToFileURL(tsxCli).href);
