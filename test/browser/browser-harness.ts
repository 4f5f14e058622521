import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium (`.ci/run` installs it); never a downloaded browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const ROOT = path.join(__dirname, '..', '..');

/** A headless chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(path.join(tmpdir(), 'roomwire-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Builds the client's browser bundle with `client/build-browser.js` (the release build) into a temporary folder. */
export async function buildClientBundle(): Promise<{ code: Buffer; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'roomwire-bundle-'));
  const outfile = path.join(dir, 'roomwire-client.mjs');
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'client', 'build-browser.js'), outfile]);
  return { code: await readFile(outfile), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Bundles a test page's script (TypeScript, React included) for the browser, from sources. */
export async function bundlePageScript(entry: string): Promise<Buffer> {
  const { build, stop } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    conditions: ['roomwire-source'],
    define: { 'process.env.NODE_ENV': '"development"' },
    write: false,
    logLevel: 'warning',
    // The build starts esbuild's service process, which would outlive the test otherwise.
  }).finally(() => stop());
  const [file] = result.outputFiles;
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  return Buffer.from(file.contents);
}

/** What a static server answers for one path. */
export interface StaticFile {
  body: Buffer | string;
  contentType: string;
}

/** Serves fixed files on 127.0.0.1 (a secure context for Web Locks and BroadcastChannel). */
export async function startStaticServer(files: Record<string, StaticFile>): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const file = files[(req.url ?? '/').split('?')[0] ?? '/'];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': file.contentType, 'Cache-Control': 'no-store' });
    res.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads a fixture of this folder. */
export function fixture(name: string): Promise<Buffer> {
  return readFile(path.join(__dirname, name));
}

/** The absolute path of a fixture of this folder. */
export function fixturePath(name: string): string {
  return path.join(__dirname, name);
}
