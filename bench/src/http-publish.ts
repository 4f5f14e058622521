/**
 * `npm run bench -- http-publish [--quick]`: events/s a node accepts over its HTTP publish API, one
 * event per `POST /v1/publish` against 100 per `POST /v1/publish/batch`. One node (the server CLI, a
 * child process) on a fresh redis-server; the load comes from this process over keep-alive
 * connections to 127.0.0.1, a fixed number of requests in flight, for a fixed time. Writes the
 * `bench:http-publish` section of docs/benchmarks.md (unless --no-docs).
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, spawnNode, startRedis } from '../../test/harness';
import { writeDocSection } from './report/doc-sections';
import { codeSuffix, describeMachine } from './report/machine';

const REPO_ROOT = path.resolve(__dirname, '../..');
const DOCS_PATH = path.join(REPO_ROOT, 'docs/benchmarks.md');
const API_KEY = 'bench-publish-key-0123456789';
// Random per run: production mode refuses placeholder secrets.
const SECRET = randomBytes(32).toString('base64url');

interface ModeResult {
  mode: string;
  eventsPerRequest: number;
  requests: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  requestP50Ms: number;
  requestP99Ms: number;
  failed: number;
}

/** POSTs `body` and resolves with the status once the answer is read. */
function post(agent: Agent, port: number, urlPath: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', agent, headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
}

/** Keeps `inFlight` requests going for `seconds`; each carries `eventsPerRequest` events (in distinct orgs' rooms). */
async function runMode(port: number, mode: string, eventsPerRequest: number, inFlight: number, seconds: number): Promise<ModeResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  let seq = 0;
  const event = () => {
    seq += 1;
    return { org: `bench-${seq % 50}`, service: 'billing', type: 'invoice.paid', data: { invoiceId: `in_${seq}`, amountCents: seq } };
  };
  const latencies: number[] = [];
  let requests = 0;
  let failed = 0;
  const started = performance.now();
  const endAt = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const body = eventsPerRequest === 1 ? JSON.stringify(event()) : JSON.stringify({ events: Array.from({ length: eventsPerRequest }, event) });
      const t0 = performance.now();
      const status = await post(agent, port, eventsPerRequest === 1 ? '/v1/publish' : '/v1/publish/batch', body);
      latencies.push(performance.now() - t0);
      if (status === 200) requests += 1;
      else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    mode,
    eventsPerRequest,
    requests,
    events: requests * eventsPerRequest,
    seconds: elapsed,
    eventsPerSecond: (requests * eventsPerRequest) / elapsed,
    requestP50Ms: percentile(latencies, 50),
    requestP99Ms: percentile(latencies, 99),
    failed,
  };
}

/** Runs the benchmark and writes its report; resolves to the process exit code. */
export async function runHttpPublish(options: { quick: boolean; docs: boolean }): Promise<number> {
  const seconds = options.quick ? 4 : 20;
  const inFlight = 16;
  const loadAtStart = os.loadavg()[0] ?? 0;
  const redis = await startRedis();
  const port = await freePort();
  const node = await spawnNode({
    env: {
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET: SECRET,
      PUBLISH_API_KEY: API_KEY,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      // The per-key limit (5000/s by default) would be what is measured otherwise.
      RATE_LIMIT_PUBLISHES_PER_SECOND: '100000000',
      ROOMWIRE_CATALOG: '',
      NODE_ID: 'bench-http-publish',
    },
    readyUrl: `http://127.0.0.1:${port}/healthz`,
  });
  const results: ModeResult[] = [];
  try {
    // Warm-up (JIT, connections, scripts), not reported.
    await runMode(port, 'warm-up', 100, inFlight, 1);
    results.push(await runMode(port, 'single', 1, inFlight, seconds));
    results.push(await runMode(port, 'batch of 10', 10, inFlight, seconds));
    results.push(await runMode(port, 'batch of 100', 100, inFlight, seconds));
  } finally {
    await node.kill('SIGTERM');
    await redis.cleanup();
  }
  const single = results[0] as ModeResult;
  const machine = describeMachine();
  const command = `npm run bench -- http-publish${options.quick ? ' --quick' : ''}`;
  const rows = results.map(
    (r) =>
      `| ${r.mode} | ${r.eventsPerRequest} | ${Math.round(r.eventsPerSecond).toLocaleString('en-US')} | ${(r.eventsPerSecond / single.eventsPerSecond).toFixed(1)}× | ${r.requests.toLocaleString('en-US')} | ${r.requestP50Ms.toFixed(1)} ms | ${r.requestP99Ms.toFixed(1)} ms | ${r.failed} |`,
  );
  const body = [
    '## HTTP publish: single vs batch (`npm run bench -- http-publish`)',
    '',
    '<!-- Generated by bench/src/http-publish.ts. Do not edit by hand: rerun the command below. -->',
    '',
    `Generated by \`${command}\` on ${new Date().toISOString()}.`,
    '',
    `Machine: ${machine.cpuModel} × ${machine.cpus}, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.redis}${codeSuffix(machine)}. Load average at start: ${loadAtStart.toFixed(2)}`
      + ' (other work on the machine slows every mode alike; the ratios are the finding, the absolute rates are not).',
    '',
    `One node (the server CLI, production mode, per-key publish limit lifted) on a fresh redis-server; the load generator`,
    `in another process on the same machine keeps ${inFlight} requests in flight over keep-alive connections for ${seconds} s per mode,`,
    'each event a valid `billing/invoice.paid` in one of 50 orgs (no idempotency key, so events of a room are batched into frames).',
    'Events/s counts events the node answered `200` for, that is, events stored in the stream.',
    '',
    '| mode | events per request | events/s | vs single | requests | request p50 | request p99 | failed requests |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
  console.log(body);
  if (options.docs) {
    await writeDocSection(DOCS_PATH, 'http-publish', body);
    console.log(`[bench] wrote ${path.relative(REPO_ROOT, DOCS_PATH)} (section bench:http-publish)`);
  }
  return results.some((r) => r.requests === 0) ? 1 : 0;
}
