/**
 * `npm run bench -- history-cost`: what one history request costs with many orgs in the replay window,
 * measured on a real redis-server: the window is filled with the events of 10 000 orgs (one partition,
 * so every org shares one stream), then history pages of random orgs are read through the per-room
 * index. For contrast, the same page found by scanning the stream backwards (XREVRANGE, filtered by
 * room) is timed too. Writes its section of docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createClient } from 'redis';
import type { HistoryCursor } from '../../server/src/stream/history-page';
import { partitionKeys } from '../../server/src/stream/partitions';
import { standaloneHandle } from '../../server/src/stream/redis-client';
import { RedisStreamLog } from '../../server/src/stream/redis-stream-log';
import { decodeEntry } from '../../server/src/stream/stream-entry';
import { startRedis } from '../../test/harness';
import { writeDocSection } from './report/doc-sections';
import { codeSuffix, describeMachine } from './report/machine';

const REPO_ROOT = path.resolve(__dirname, '../..');
const WINDOW_MS = 300_000;

type Client = ReturnType<typeof createClient>;

async function evalStats(client: Client): Promise<{ calls: number; usec: number }> {
  const info = await client.info('commandstats');
  const line = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  return { calls: Number(line?.[1] ?? 0), usec: Number(line?.[2] ?? 0) };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** Measures and writes the report; resolves to the process exit code. */
export async function runHistoryCost(options: { quick: boolean; docs: boolean }): Promise<number> {
  const orgs = 10_000;
  const eventsPerOrg = options.quick ? 2 : 10;
  const requests = options.quick ? 300 : 2000;
  const redis = await startRedis();
  const client: Client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  await client.connect();
  const handle = standaloneHandle(client, { owned: false, onError: () => undefined });
  const keys = partitionKeys('roomwire', 0, 1);
  const log = new RedisStreamLog(handle, keys, { replayWindowMs: WINDOW_MS, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
  try {
    // Orgs interleaved, as live traffic would be: each org's events are spread over the whole stream.
    const total = orgs * eventsPerOrg;
    const fill = async (into: RedisStreamLog, roomOf: (org: string) => string): Promise<{ seconds: number; redisUs: number }> => {
      const statsBefore = await evalStats(client);
      const t0 = performance.now();
      for (let i = 0; i < total; i += 1000) {
        await Promise.all(
          Array.from({ length: Math.min(1000, total - i) }, (_, k) => {
            const n = i + k;
            const org = `org-${n % orgs}`;
            const event = { id: randomUUID(), org, service: 'billing', type: 'invoice.paid', ts: Date.now(), data: { invoiceId: `in-${n}`, amountCents: n } };
            return into.append(roomOf(org), { events: [event] }, { volatile: false });
          }),
        );
      }
      const statsAfter = await evalStats(client);
      // Per append: appends issued together share a script call (see RedisStreamLog.append).
      return { seconds: (performance.now() - t0) / 1000, redisUs: (statsAfter.usec - statsBefore.usec) / total };
    };
    // The same appends without the index (org-wide rooms are not indexed), into a partition of their own, for its cost.
    const control = new RedisStreamLog(handle, partitionKeys('control', 0, 1), { replayWindowMs: WINDOW_MS, maxStreamLength: 1_000_000, compressFramesMinBytes: 0 });
    const unindexed = await fill(control, (org) => `org:${org}`);
    await client.del(partitionKeys('control', 0, 1).stream);
    const indexed = await fill(log, (org) => `org:${org}:svc:billing`);
    const fillS = indexed.seconds;
    const streamLength = Number(await client.xLen(keys.stream));
    const usedMemory = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? 0);

    const measure = async (limit: number, before: (org: string) => Promise<HistoryCursor | undefined>) => {
      const times: number[] = [];
      let events = 0;
      const statsBefore = await evalStats(client);
      for (let r = 0; r < requests; r++) {
        const org = `org-${Math.floor(Math.random() * orgs)}`;
        const cursor = await before(org);
        const t0 = performance.now();
        const page = await log.history(`org:${org}:svc:billing`, { limit, windowMs: WINDOW_MS, ...(cursor ? { before: cursor } : {}) });
        const ms = performance.now() - t0;
        times.push(ms);
        events += page.events.length;
      }
      const statsAfter = await evalStats(client);
      times.sort((a, b) => a - b);
      // Every EVALSHA between the two readings was a history read (the cursor reads are too, for the paged run).
      const calls = statsAfter.calls - statsBefore.calls;
      return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), redisUs: (statsAfter.usec - statsBefore.usec) / Math.max(1, calls), eventsPerPage: events / requests };
    };
    const first20 = await measure(20, async () => undefined);
    const first100 = await measure(100, async () => undefined);
    const second = await measure(5, async (org) => {
      const first = await log.history(`org:${org}:svc:billing`, { limit: Math.max(1, Math.floor(eventsPerOrg / 2)), windowMs: WINDOW_MS });
      const match = first.next === null ? undefined : /^(\d+-\d+)(?::(\d+))?$/.exec(first.next);
      return match ? { offset: match[1] as string, index: Number(match[2] ?? 0) } : undefined;
    });

    // The naive way: read the stream backwards until the page is full (or the stream ends).
    const scanTimes: number[] = [];
    let scannedEntries = 0;
    const scans = options.quick ? 5 : 20;
    for (let r = 0; r < scans; r++) {
      const room = `org:org-${Math.floor(Math.random() * orgs)}:svc:billing`;
      const t0 = performance.now();
      let found = 0;
      let end = '+';
      for (;;) {
        const reply = (await client.sendCommand(['XREVRANGE', keys.stream, end, '-', 'COUNT', '1000'])) as [string, string[]][];
        if (reply.length === 0) break;
        for (const [, fields] of reply) {
          scannedEntries += 1;
          const decoded = decodeEntry(fields);
          if (decoded !== undefined && decoded !== 'heartbeat' && decoded.rooms[0] === room) found += 1;
        }
        if (found >= 20) break;
        end = `(${(reply[reply.length - 1] as [string, string[]])[0]}`;
      }
      scanTimes.push(performance.now() - t0);
    }
    scanTimes.sort((a, b) => a - b);

    const machine = describeMachine();
    const row = (name: string, r: { p50: number; p99: number; redisUs: number; eventsPerPage: number }): string =>
      `| ${name} | ${r.eventsPerPage.toFixed(1)} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.redisUs.toFixed(0)} µs |`;
    const body = [
      '## History cost (`npm run bench -- history-cost`)',
      '',
      `Generated by \`npm run bench -- history-cost${options.quick ? ' --quick' : ''}\` on ${new Date().toISOString()}.`,
      `Machine: ${machine.cpuModel} × ${machine.cpus}, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.redis}${codeSuffix(machine)}.`,
      '',
      `The replay window of one partition holds the events of ${orgs.toLocaleString('en-US')} orgs (${eventsPerOrg} \`billing\` events each, interleaved:`,
      `${streamLength.toLocaleString('en-US')} stream entries, written in ${fillS.toFixed(1)} s through the append script, which also keeps each service room's`,
      `history index; Redis used ${(usedMemory / 1024 ** 2).toFixed(0)} MB). Keeping the index costs each durable append of a service room`,
      `${(indexed.redisUs - unindexed.redisUs).toFixed(0)} µs of Redis time (${indexed.redisUs.toFixed(0)} µs of append script time per append against ${unindexed.redisUs.toFixed(0)} µs for the same appends unindexed).`,
      `Then ${requests.toLocaleString('en-US')} history requests per row, each for a random org,`,
      'one after another from one client; "in Redis" is the history script\'s own time per call (`INFO commandstats`).',
      '',
      '| request | events per page | p50 | p99 | in Redis |',
      '| --- | ---: | ---: | ---: | ---: |',
      row('first page, limit 20', first20),
      row('first page, limit 100', first100),
      row('a later page (`before` = the previous `next`), limit 5', second),
      '',
      `Scanning the stream backwards for the same page instead (XREVRANGE, 1 000 entries a read, filtered by room) looked at`,
      `${Math.round(scannedEntries / scans).toLocaleString('en-US')} entries per request and took ${quantile(scanTimes, 0.5).toFixed(0)} ms (p50 of ${scans}; an org with fewer events than the page makes it read the`,
      "whole window): its cost grows with every org's traffic,",
      "while a history read looks only at the room's own index (O(log n) per entry of the page) and stays flat.",
      '',
    ].join('\n');
    if (options.docs) await writeDocSection(path.join(REPO_ROOT, 'docs', 'benchmarks.md'), 'history-cost', body);
    console.log(body);
    return 0;
  } finally {
    await handle.close();
    await client.close();
    await redis.cleanup();
  }
}
