// Builds the ESM browser bundle (socket.io-client included) used by the status page and browser tests.
const path = require('node:path');
require('esbuild').buildSync({
  entryPoints: [path.join(__dirname, 'src', 'index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  outfile: path.join(__dirname, 'dist', 'browser', 'roomwire-client.mjs'),
  logLevel: 'warning',
});
