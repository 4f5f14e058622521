// Builds the ESM browser bundle (socket.io-client included) used by the status page and the browser
// tests: `node build-browser.js [outfile]`, by default dist/browser/roomwire-client.mjs.
const path = require('node:path');

/** Builds the bundle to `outfile`; the browser tests call this through the CLI into a temporary folder. */
function buildBrowserBundle(outfile = path.join(__dirname, 'dist', 'browser', 'roomwire-client.mjs')) {
  require('esbuild').buildSync({
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
    outfile,
    logLevel: 'warning',
  });
}

module.exports = { buildBrowserBundle };
if (require.main === module) buildBrowserBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
