/**
 * Bench-only memory probe, imported first by every server process the suite starts (the baseline
 * server and the Roomwire node entry alike), so that memory is measured the same way for all systems.
 * When `BENCH_PROBE_PORT` is set it listens on 127.0.0.1:<port> and answers `GET /memory` with
 * `process.memoryUsage()` taken after two full garbage collections. GC is exposed at run time
 * (`v8.setFlagsFromString('--expose-gc')`), which changes nothing until the probe is asked.
 */
import { createServer } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What `GET /memory` answers. */
export interface ProbedMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

function exposedGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  if (typeof gc !== 'function') throw new Error('memory probe: gc is not available');
  return gc as () => void;
}

const port = Number(process.env.BENCH_PROBE_PORT ?? 0);
if (port > 0) {
  const gc = exposedGc();
  const server = createServer((req, res) => {
    if (req.url !== '/memory') {
      res.writeHead(404).end();
      return;
    }
    gc();
    gc();
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const body: ProbedMemory = { rss, heapUsed, heapTotal, external, arrayBuffers };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(port, '127.0.0.1');
  // The probe must never keep a node alive that is asked to stop.
  server.unref();
}
