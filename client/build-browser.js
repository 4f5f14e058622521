// Builds the ESM browser bundle (socket.io-client included) used by the status page and the browser
// tests: `node build-browser.js [outfile]`, by default dist/browser/roomwire-client.mjs. The build is
// skipped when the bundle is newer than every file that went into it (read from esbuild's metafile
// of the previous build), so `npm start` does not rebuild it when nothing changed.
const fs = require('node:fs');
const path = require('node:path');

const DEFAULT_OUTFILE = path.join(__dirname, 'dist', 'browser', 'roomwire-client.mjs');

/** Why: rebuilding costs about a second of every `npm start`; an unchanged input set gives the same bundle. */
function isBundleUpToDate(outfile, metafile) {
  let inputs;
  let builtAt;
  try {
    builtAt = fs.statSync(outfile).mtimeMs;
    inputs = JSON.parse(fs.readFileSync(metafile, 'utf8')).inputs;
  } catch {
    return false;
  }
  return [__filename, ...inputs].every((input) => {
    try {
      return fs.statSync(path.resolve(__dirname, input)).mtimeMs <= builtAt;
    } catch {
      return false;
    }
  });
}

/** Builds the bundle to `outfile`; the browser tests call this through the CLI into a temporary folder. */
function buildBrowserBundle(outfile = DEFAULT_OUTFILE, { force = false } = {}) {
  const metafile = `${outfile}.meta.json`;
  if (!force && isBundleUpToDate(outfile, metafile)) return;
  const result = require('esbuild').buildSync({
    entryPoints: [path.join(__dirname, 'src', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    // Resolve @roomwire/shared from its sources, so the bundle needs no prior `tsc` build.
    conditions: ['roomwire-source'],
    minify: true,
    // A production build: exposeGlobal is then off unless a page turns it on.
    define: { 'process.env.NODE_ENV': '"production"' },
    sourcemap: true,
    metafile: true,
    // Metafile paths are relative to this folder, whatever the caller's working directory.
    absWorkingDir: __dirname,
    outfile,
    logLevel: 'warning',
  });
  fs.writeFileSync(metafile, JSON.stringify({ inputs: Object.keys(result.metafile.inputs) }));
}

module.exports = { buildBrowserBundle };
if (require.main === module) buildBrowserBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
