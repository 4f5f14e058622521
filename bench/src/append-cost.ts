/**
 * `npm run bench -- append-cost`: what one durable publish costs Redis and the publishing process, on a
 * real redis-server, through `createPublisher` (batching off: every event is an entry), for three ways
 * of publishing: one event at a time (each awaited: every append is a script call of its own), ten
 * events per 10 ms tick (the delivery benchmark's publisher at 1 000 events/s), and 50 events in flight
 * at all times. Appends issued in one synchronous run go to Redis as one script call (see
 * `RedisStreamLog.append`), so the last two share calls. A plain `XADD` per event (what the Socket.IO
 * streams adapter sends per broadcast) is measured on the same server for contrast. Writes its section
 * of docs/benchmarks.md.
 */
import path from 'node:path';
import { createClient } from 'redis';
import { createPublisher } from '@roomwire/server';
import { startRedis } from '../../test/harness';
import { EVENT_TYPE, orgOf, payloadOf, roomName, SERVICE } from './publish/payload';
import { writeDocSection } from './report/doc-sections';
import { codeSuffix, describeMachine } from './report/machine';

const REPO_ROOT = path.resolve(__dirname, '../..');
const ROOMS = 200;
const PAYLOAD_BYTES = 200;

type Client = ReturnType<typeof createClient>;

interface Row {
  name: string;
  events: number;
  /** Redis CPU (user + system) per event, µs. */
  redisUs: number;
  /** This process's CPU per event, µs. */
  publisherUs: number;
  /** Script calls (or XADDs) per event. */
  callsPerEvent: number;
}

async function redisCpuUs(client: Client): Promise<number> {
  const info = await client.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + sys) * 1e6;
}

async function calls(client: Client, command: 'evalsha' | 'xadd'): Promise<number> {
  const info = await client.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

/** Calls `send` `count` times (with 0, 1, …) keeping `parallel` calls waiting at all times. */
async function inFlight(parallel: number, count: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await send(next++);
    }),
  );
}

/** Redis's own CPU while idle (its timers, the INFO reads), µs per ms: subtracted from each row. */
async function idleRedisUsPerMs(client: Client): Promise<number> {
  const before = await redisCpuUs(client);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return Math.max(0, (await redisCpuUs(client)) - before) / (performance.now() - started);
}

/** Runs `publish` and measures it; `command` is what Redis counts per call. */
async function measure(client: Client, idleUsPerMs: number, name: string, events: number, command: 'evalsha' | 'xadd', publish: () => Promise<void>): Promise<Row> {
  const redisBefore = await redisCpuUs(client);
  const callsBefore = await calls(client, command);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await publish();
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const redisAfter = await redisCpuUs(client);
  const callsAfter = await calls(client, command);
  const redisUs = Math.max(0, redisAfter - redisBefore - idleUsPerMs * elapsedMs);
  return { name, events, redisUs: redisUs / events, publisherUs: (cpu.user + cpu.system) / events, callsPerEvent: (callsAfter - callsBefore) / events };
}

/** Measures and writes the report; resolves to the process exit code. */
export async function runAppendCost(options: { quick: boolean; docs: boolean }): Promise<number> {
  const events = options.quick ? 3000 : 30_000;
  const redis = await startRedis();
  const client: Client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  await client.connect();
  const publisher = await createPublisher({ redisUrl: redis.url, batching: false });
  let n = 0;
  const emit = (): Promise<unknown> => {
    const i = n++;
    return publisher.to(orgOf(i % ROOMS), SERVICE).emit(EVENT_TYPE, payloadOf(1, i % ROOMS, i, PAYLOAD_BYTES));
  };
  const rows: Row[] = [];
  try {
    // Warm-up: scripts loaded, code compiled, the stream and indexes of a steady state.
    for (let i = 0; i < 2000; i++) await emit();
    const idle = await idleRedisUsPerMs(client);
    rows.push(
      await measure(client, idle, 'one at a time (each awaited)', events, 'evalsha', async () => {
        for (let i = 0; i < events; i++) await emit();
      }),
    );
    rows.push(
      await measure(client, idle, 'ten per 10 ms tick', events, 'evalsha', async () => {
        const sending: Promise<unknown>[] = [];
        for (let i = 0; i < events; i += 10) {
          for (let k = 0; k < 10; k++) sending.push(emit());
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await Promise.all(sending);
      }),
    );
    rows.push(
      await measure(client, idle, '50 in flight', events, 'evalsha', () => inFlight(50, events, () => emit())),
    );
    rows.push(
      await measure(client, idle, 'plain XADD, 50 in flight (contrast)', events, 'xadd', () =>
        inFlight(50, events, (i) => {
          const data = JSON.stringify({ rooms: [roomName(i % ROOMS)], data: ['event', payloadOf(1, i % ROOMS, i, PAYLOAD_BYTES)] });
          return client.sendCommand(['XADD', 'contrast', 'MAXLEN', '~', '10000', '*', 'uid', 'bench', 'nsp', '/', 'type', '3', 'data', data]);
        }),
      ),
    );
  } finally {
    await publisher.close();
    await client.quit().catch(() => undefined);
    await redis.cleanup();
  }

  const machine = describeMachine();
  const body = [
    '## Append cost (`npm run bench -- append-cost`)',
    '',
    `Generated by \`npm run bench -- append-cost${options.quick ? ' --quick' : ''}\` on ${new Date().toISOString()}.`,
    `Machine: ${machine.cpuModel} × ${machine.cpus}, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.redis}${codeSuffix(machine)}.`,
    '',
    `${events.toLocaleString('en-US')} durable events per row through \`createPublisher({ batching: false })\` (one stream entry each, ${ROOMS} service rooms, ${PAYLOAD_BYTES} B payloads),`,
    'on one redis-server. Redis CPU is `INFO cpu` (user + system) over the row less what the same Redis used idle for as long (its timers),',
    'the publisher\'s is this process\'s `process.cpuUsage()`;',
    'calls are Redis\'s `INFO commandstats` count of append script calls (`EVALSHA`), or of `XADD` in the contrast row. Appends issued in',
    'one synchronous run share one script call, so a busy publisher pays the call\'s fixed cost (and every reader\'s wake-up) once per run.',
    '',
    '| publishing | Redis CPU per event | publisher CPU per event | calls per event |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.name} | ${r.redisUs.toFixed(1)} µs | ${r.publisherUs.toFixed(1)} µs | ${r.callsPerEvent.toFixed(2)} |`),
  ].join('\n');
  console.log(body);
  if (options.docs) await writeDocSection(path.join(REPO_ROOT, 'docs/benchmarks.md'), 'append-cost', body);
  return 0;
}
