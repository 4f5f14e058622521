/**
 * `npm run bench -- slow-consumer`: one Roomwire node (the CLI, default 1 MiB budget), two clients in
 * one room. One client stops reading its TCP socket (a proxy stops forwarding what the node sends)
 * while 50 MB of incompressible events are published to the room; the other keeps reading. Measures
 * the node's RSS against a control run of the same publishing without the stopped client, whether
 * and when the stopped client is evicted, the reading client's latency, and whether the evicted client,
 * once it reads again, gets every event exactly once.
 */
import { randomBytes } from 'node:crypto';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT } from 'jose';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { createPublisher } from '@roomwire/server';
import { freePort, spawnNode, startRedis, startTcpProxy, waitUntil, type TcpProxy } from '../../test/harness';
import { codeSuffix, describeMachine } from './report/machine';

const REPO_ROOT = path.resolve(__dirname, '../..');
const MiB = 1024 * 1024;

interface RunResult {
  withStoppedClient: boolean;
  publishedBytes: number;
  events: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  evicted: boolean;
  evictedAfterMs: number | null;
  readingClient: { received: number; p99LatencyMs: number };
  stoppedClient: { received: number; duplicates: number; inOrder: boolean; recoveredAfterMs: number | null; resyncs: number } | null;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}

async function run(withStoppedClient: boolean, totalBytes: number, log: (line: string) => void): Promise<RunResult> {
  const redis = await startRedis();
  const port = await freePort();
  const secret = randomBytes(32).toString('hex');
  const node = await spawnNode({
    env: { PORT: String(port), REDIS_URL: redis.url, JWT_SECRET: secret, PUBLISH_API_KEY: randomBytes(16).toString('hex'), NODE_ENV: 'production', LOG_LEVEL: 'warn' },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
  const url = `http://127.0.0.1:${port}`;
  const publisher = await createPublisher({ redisUrl: redis.url });
  const token = await new SignJWT({ org: 'bench', services: ['billing'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
  const clients: RoomwireClient[] = [];
  let proxy: TcpProxy | undefined;
  try {
    const reading = createClient({ url, token, services: ['billing'], minReconnectDelayMs: 100, maxReconnectDelayMs: 500 });
    clients.push(reading);
    const latencies: number[] = [];
    reading.onEvent((e) => latencies.push(Date.now() - e.ts));
    const stoppedIds: string[] = [];
    let stopped: RoomwireClient | undefined;
    let resyncs = 0;
    if (withStoppedClient) {
      proxy = await startTcpProxy(port);
      stopped = createClient({ url: proxy.url, token, services: ['billing'], minReconnectDelayMs: 100, maxReconnectDelayMs: 500 });
      clients.push(stopped);
      stopped.onEvent((e) => stoppedIds.push(e.id));
      stopped.onResync(() => (resyncs += 1));
    }
    await waitUntil(() => clients.every((c) => c.state === 'connected'), { what: 'clients connected', timeoutMs: 10_000 });
    const rssBefore = await rssMiB(node.pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      void rssMiB(node.pid).then((mb) => (rssPeak = Math.max(rssPeak, mb)), () => undefined);
    }, 20);
    proxy?.pauseDownstream();

    // ~2 KiB of random base64 per event, so compression cannot shrink what piles up.
    const eventBytes = 2048;
    const events = Math.ceil(totalBytes / eventBytes);
    const ids: string[] = [];
    const startedAt = Date.now();
    let evictedAt: number | null = null;
    const watchEviction = setInterval(() => {
      void metric(url, 'roomwire_slow_consumer_evictions_total').then((n) => {
        if (n > 0 && evictedAt === null) evictedAt = Date.now();
      }, () => undefined);
    }, 50);
    // 10 MB/s, 50 events at a time: a steady, bounded publishing schedule.
    const chunk = 50;
    for (let i = 0; i < events; i += chunk) {
      const due = startedAt + ((i * eventBytes) / (10 * MiB)) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const results = await Promise.all(
        Array.from({ length: Math.min(chunk, events - i) }, (_, k) =>
          publisher.to('bench', 'billing').emit('invoice.paid', { invoiceId: `${i + k}-${randomBytes(1530).toString('base64')}`, amountCents: i + k }),
        ),
      );
      ids.push(...results.map((r) => r.id));
      if (i % (chunk * 100) === 0) log(`[slow-consumer] ${withStoppedClient ? 'stopped client' : 'control'}: ${(((i + chunk) * eventBytes) / MiB).toFixed(0)} MB published, node RSS ${rssPeak.toFixed(0)} MiB peak`);
    }
    await waitUntil(() => latencies.length >= ids.length, { what: 'every event on the reading client', timeoutMs: 60_000 });
    clearInterval(watchEviction);
    clearInterval(sampler);
    const evicted = (await metric(url, 'roomwire_slow_consumer_evictions_total')) > 0;

    let stoppedResult: RunResult['stoppedClient'] = null;
    if (stopped && proxy) {
      const resumedAt = Date.now();
      proxy.resumeDownstream();
      await waitUntil(() => new Set(stoppedIds).size >= ids.length || resyncs > 0, { what: 'the stopped client to catch up', timeoutMs: 120_000 });
      const recoveredAfterMs = resyncs > 0 ? null : Date.now() - resumedAt;
      const firstSeen = stoppedIds.filter((id, index) => stoppedIds.indexOf(id) === index);
      stoppedResult = {
        received: firstSeen.length,
        duplicates: stoppedIds.length - firstSeen.length + stopped.metrics().duplicatesDetected,
        inOrder: firstSeen.every((id, index) => id === ids[index]),
        recoveredAfterMs,
        resyncs,
      };
    }
    return {
      withStoppedClient,
      publishedBytes: events * eventBytes,
      events,
      rssBeforeMiB: Math.round(rssBefore * 10) / 10,
      rssPeakMiB: Math.round(rssPeak * 10) / 10,
      evicted,
      evictedAfterMs: evictedAt === null ? null : evictedAt - startedAt,
      readingClient: { received: latencies.length, p99LatencyMs: p99(latencies) },
      stoppedClient: stoppedResult,
    };
  } finally {
    for (const c of clients) c.close();
    await proxy?.close();
    await publisher.close();
    await node.kill('SIGTERM');
    await redis.cleanup();
  }
}

/** Runs the control and the stopped-client run, writes JSON and docs/benchmarks-slow-consumer.md. */
export async function runSlowConsumer(options: { quick: boolean; outDir: string; docs: boolean }): Promise<number> {
  const totalBytes = (options.quick ? 10 : 50) * MiB;
  const log = (line: string): void => console.log(line);
  const machine = describeMachine();
  log(`[slow-consumer] ${totalBytes / MiB} MB into one room, budget 1 MiB (default); control run first`);
  const control = await run(false, totalBytes, log);
  const stopped = await run(true, totalBytes, log);
  // The same 50 MB go through the node in both runs (and fill its recovery cache alike): what the stopped
  // client costs is how much higher the node's peak RSS went. Start-up RSS differs by GC luck, so peaks
  // are compared, not growths (both are in the table).
  const extraMiB = Math.max(0, stopped.rssPeakMiB - control.rssPeakMiB);
  const bar = {
    text: 'a client that stops reading while 50 MB are published costs its node < 5 MB above the 1 MiB budget, is evicted, and recovers every event exactly once',
    measured: `node peak RSS ${extraMiB.toFixed(1)} MiB above the control run's; evicted: ${stopped.evicted}; recovered ${stopped.stoppedClient?.received ?? 0}/${stopped.events} events, ${stopped.stoppedClient?.duplicates ?? 0} duplicates, in order: ${stopped.stoppedClient?.inOrder}`,
    pass:
      extraMiB < 1 + 5 &&
      stopped.evicted &&
      stopped.stoppedClient !== null &&
      stopped.stoppedClient.received === stopped.events &&
      stopped.stoppedClient.duplicates === 0 &&
      stopped.stoppedClient.inOrder &&
      stopped.stoppedClient.resyncs === 0,
  };
  const results = { benchmark: 'slow-consumer', mode: options.quick ? 'quick' : 'full', at: new Date().toISOString(), machine, control, stopped, extraRssMiB: Math.round(extraMiB * 10) / 10, bar };
  await mkdir(options.outDir, { recursive: true });
  const name = options.quick ? 'slow-consumer-quick-latest.json' : 'slow-consumer-latest.json';
  await writeFile(path.join(options.outDir, name), `${JSON.stringify(results, null, 2)}\n`);
  const markdown = renderMarkdown(results, options.quick);
  if (options.docs) await writeFile(path.join(REPO_ROOT, 'docs', 'benchmarks-slow-consumer.md'), markdown);
  log(`[slow-consumer] ${bar.pass ? 'PASS' : 'FAIL'}  ${bar.text}: ${bar.measured}`);
  return bar.pass ? 0 : 1;
}

function renderMarkdown(r: { at: string; machine: ReturnType<typeof describeMachine>; control: RunResult; stopped: RunResult; extraRssMiB: number; bar: { text: string; measured: string; pass: boolean } }, quick: boolean): string {
  const m = r.machine;
  const row = (label: string, c: string | number, s: string | number): string => `| ${label} | ${c} | ${s} |`;
  return [
    '# Slow-consumer benchmark',
    '',
    '<!-- Generated by the slow-consumer benchmark (bench/src/slow-consumer.ts). Do not edit by hand: rerun the command below. -->',
    '',
    `Generated by \`npm run bench -- slow-consumer${quick ? ' --quick' : ''}\` on ${r.at}.`,
    '',
    `Machine: ${m.cpuModel} × ${m.cpus}, ${m.totalMemoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.redis}; load average at start ${m.loadAverageAtStart}${codeSuffix(m)}.`,
    '',
    'One Roomwire node (the CLI with its defaults: 1 MiB budget, 1 s grace), one Redis, two `@roomwire/client` clients in one room.',
    'In the second run one of them stops reading (a TCP proxy stops forwarding what the node sends) while the same',
    `${r.stopped.publishedBytes / MiB} MB of incompressible ~2 KiB events are published at 10 MB/s; the control run publishes the same without it.`,
    '',
    `| | control (reading client only) | with a client that stops reading |`,
    '| --- | ---: | ---: |',
    row('node RSS before, MiB', r.control.rssBeforeMiB, r.stopped.rssBeforeMiB),
    row('node RSS peak, MiB', r.control.rssPeakMiB, r.stopped.rssPeakMiB),
    row('RSS growth, MiB', (r.control.rssPeakMiB - r.control.rssBeforeMiB).toFixed(1), (r.stopped.rssPeakMiB - r.stopped.rssBeforeMiB).toFixed(1)),
    row('stopped client evicted', '–', r.stopped.evicted ? `yes, ${r.stopped.evictedAfterMs} ms after publishing began` : 'no'),
    row('reading client: events received', r.control.readingClient.received, r.stopped.readingClient.received),
    row('reading client: latency p99, ms', r.control.readingClient.p99LatencyMs, r.stopped.readingClient.p99LatencyMs),
    row('stopped client, after it reads again: events (of published)', '–', `${r.stopped.stoppedClient?.received ?? 0} / ${r.stopped.events}`),
    row('stopped client: duplicates to the app / resyncs / in order', '–', `${r.stopped.stoppedClient?.duplicates} / ${r.stopped.stoppedClient?.resyncs} / ${r.stopped.stoppedClient?.inOrder}`),
    row('stopped client: caught up after it read again, ms', '–', r.stopped.stoppedClient?.recoveredAfterMs ?? '–'),
    '',
    `**Bar** — ${r.bar.text}: ${r.bar.measured}. **${r.bar.pass ? 'PASS' : 'FAIL'}** (extra peak RSS ${r.extraRssMiB} MiB against a limit of 1 MiB + 5 MB).`,
    '',
    'Both runs push the same 50 MB through the node, which also fills its in-memory recovery cache (bounded by',
    '`recoveryCacheBytes`, 64 MiB): that is most of the growth in both columns. The stopped client\'s own cost is the',
    'difference of the peaks.',
    '',
  ].join('\n');
}
