#!/usr/bin/env node
// Publishes the workspaces to the npm registry in dependency order (a package after every package it
// depends on): `node scripts/release.mjs [--dry-run] [--tag next]`. It first checks what a release
// needs (one version across packages, internal dependencies pinned to it, README, LICENSE, public
// access, a clean git work tree for a real release); each package's `prepack` builds it. CI runs
// the dry run (test/packages-install.test.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The workspaces, each with its manifest. */
export function readWorkspaces(dir = root) {
  return readJson(path.join(dir, 'package.json')).workspaces.map((workspace) => ({
    dir: workspace,
    manifest: readJson(path.join(dir, workspace, 'package.json')),
  }));
}

/** Workspaces ordered so that each comes after the workspaces it depends on; throws on a cycle. */
export function publishOrder(workspaces) {
  const byName = new Map(workspaces.map((w) => [w.manifest.name, w]));
  const ordered = [];
  const state = new Map();
  const visit = (workspace, trail) => {
    const name = workspace.manifest.name;
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`dependency cycle: ${[...trail, name].join(' → ')}`);
    state.set(name, 'visiting');
    const deps = { ...workspace.manifest.dependencies, ...workspace.manifest.peerDependencies };
    for (const dep of Object.keys(deps).sort()) if (byName.has(dep)) visit(byName.get(dep), [...trail, name]);
    state.set(name, 'done');
    ordered.push(workspace);
  };
  for (const workspace of workspaces) visit(workspace, []);
  return ordered;
}

/** What stops a release, one line per problem; empty when the packages are ready. */
export function releaseProblems(workspaces, dir = root) {
  const problems = [];
  const versions = new Set(workspaces.map((w) => w.manifest.version));
  if (versions.size !== 1) problems.push(`the packages have different versions: ${[...versions].join(', ')}`);
  const [version] = versions;
  const names = new Set(workspaces.map((w) => w.manifest.name));
  for (const { dir: workspace, manifest } of workspaces) {
    const where = `${workspace}/package.json`;
    if (manifest.private) problems.push(`${where}: "private" is set`);
    if (manifest.publishConfig?.access !== 'public') problems.push(`${where}: publishConfig.access must be "public" (a scoped package is private by default)`);
    if (!Array.isArray(manifest.files) || manifest.files.length === 0) problems.push(`${where}: no "files" list`);
    for (const file of ['README.md', 'LICENSE']) if (!existsSync(path.join(dir, workspace, file))) problems.push(`${workspace}: no ${file}`);
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
      if (names.has(dep) && range !== version) problems.push(`${where}: ${dep} must be pinned to ${version}, got ${JSON.stringify(range)}`);
    }
  }
  return problems;
}

/** Whether the registry already has this version (a rerun after a partial release skips it). */
function isPublished(name, version) {
  const result = spawnSync('npm', ['view', `${name}@${version}`, 'version'], { cwd: root, encoding: 'utf8' });
  return result.status === 0 && result.stdout.trim() === version;
}

function main() {
  const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false }, tag: { type: 'string', default: 'latest' } } });
  const dryRun = values['dry-run'];
  const workspaces = readWorkspaces();
  const problems = releaseProblems(workspaces);
  if (!dryRun) {
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim();
    if (dirty !== '') problems.push('the git work tree has uncommitted changes: release from a clean checkout');
  }
  if (problems.length > 0) {
    process.stderr.write(`release: not ready:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  for (const { dir, manifest } of publishOrder(workspaces)) {
    if (!dryRun && isPublished(manifest.name, manifest.version)) {
      process.stdout.write(`release: ${manifest.name}@${manifest.version} is already on the registry; skipped\n`);
      continue;
    }
    process.stdout.write(`release: publishing ${manifest.name}@${manifest.version} (tag ${values.tag})${dryRun ? ' — dry run' : ''}\n`);
    const args = ['publish', '--workspace', dir, '--tag', values.tag, ...(dryRun ? ['--dry-run'] : [])];
    const result = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) {
      process.stderr.write(`release: npm ${args.join(' ')} failed (exit ${result.status}); the packages before it are published, fix and rerun: published packages are skipped\n`);
      process.exit(1);
    }
  }
  process.stdout.write(`release: done${dryRun ? ' (dry run: nothing was published)' : ''}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
