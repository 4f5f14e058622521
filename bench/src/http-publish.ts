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

/** One mode: `eventsPerRequest` events per request (1: `POST /v1/publish`, else `POST /v1/publish/batch`). */
interface Mode {
  name: string;
  eventsPerRequest: number;
}

/** What one mode did in one round. */
interface ModeRun {
  requests: number;
  failed: number;
  seconds: number;
  latenciesMs: number[];
}

const MODES: Mode[] = [
  { name: 'single', eventsPerRequest: 1 },
  { name: 'batch of 10', eventsPerRequest: 10 },
  { name: 'batch of 100', eventsPerRequest: 100 },
];

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
async function runMode(port: number, eventsPerRequest: number, inFlight: number, seconds: number): Promise<ModeRun> {
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
  return { requests, failed, seconds: elapsed, latenciesMs: latencies };
}

const eventsPerSecond = (run: ModeRun, mode: Mode): number => (run.requests * mode.eventsPerRequest) / run.seconds;
const format = (value: number, digits: number): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const range = (values: number[], digits: number): string =>
  values.length === 1 ? format(values[0] as number, digits) : `${format(Math.min(...values), digits)}–${format(Math.max(...values), digits)}`;

/** Runs the benchmark and writes its report; resolves to the process exit code. */
export async function runHttpPublish(options: { quick: boolean; docs: boolean }): Promise<number> {
  // Rounds, each running every mode (in a rotating order): load from other work that comes and goes
  // during the run then falls on every mode alike, and each round gives a ratio measured side by side.
  const rounds = options.quick ? 1 : 3;
  const seconds = options.quick ? 3 : 7;
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
  const runs: ModeRun[][] = MODES.map(() => []);
  try {
    // Warm-up (JIT, connections, scripts), not reported.
    await runMode(port, 100, inFlight, 1);
    await runMode(port, 1, inFlight, 1);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < MODES.length; k++) {
        const index = (round + k) % MODES.length;
        runs[index]?.push(await runMode(port, (MODES[index] as Mode).eventsPerRequest, inFlight, seconds));
      }
    }
  } finally {
    await node.kill('SIGTERM');
    await redis.cleanup();
  }
  const machine = describeMachine();
  const command = `npm run bench -- http-publish${options.quick ? ' --quick' : ''}`;
  const singleRuns = runs[0] as ModeRun[];
  const rows = MODES.map((mode, index) => {
    const modeRuns = runs[index] as ModeRun[];
    const requests = modeRuns.reduce((sum, r) => sum + r.requests, 0);
    const total = (requests * mode.eventsPerRequest) / modeRuns.reduce((sum, r) => sum + r.seconds, 0);
    const perRound = modeRuns.map((r) => eventsPerSecond(r, mode));
    const ratios = modeRuns.map((r, round) => eventsPerSecond(r, mode) / eventsPerSecond(singleRuns[round] as ModeRun, MODES[0] as Mode));
    const latencies = modeRuns.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
    const failed = modeRuns.reduce((sum, r) => sum + r.failed, 0);
    return `| ${mode.name} | ${mode.eventsPerRequest} | ${Math.round(total).toLocaleString('en-US')} | ${range(perRound, 0)} | ${range(ratios, 1)}× | ${requests.toLocaleString('en-US')} | ${percentile(latencies, 50).toFixed(1)} ms | ${percentile(latencies, 99).toFixed(1)} ms | ${failed} |`;
  });
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
    `in another process on the same machine keeps ${inFlight} requests in flight over keep-alive connections, ${rounds} round${rounds === 1 ? '' : 's'} of ${seconds} s per mode`,
    '(each round runs every mode, in a rotating order; "vs single" compares modes within a round),',
    'each event a valid `billing/invoice.paid` in one of 50 orgs (no idempotency key, so events of a room are batched into frames).',
    'Events/s counts events the node answered `200` for, that is, events stored in the stream.',
    '',
    '| mode | events per request | events/s (all rounds) | events/s per round | vs single, per round | requests | request p50 | request p99 | failed requests |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
  console.log(body);
  if (options.docs) {
    await writeDocSection(DOCS_PATH, 'http-publish', body);
    console.log(`[bench] wrote ${path.relative(REPO_ROOT, DOCS_PATH)} (section bench:http-publish)`);
  }
  return runs.some((modeRuns) => modeRuns.some((r) => r.requests === 0)) ? 1 : 0;
}
