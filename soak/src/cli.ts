/**
 * `npm run soak -- [options]`: the soak command line; exits 1 when a check fails.
 *
 *   npm run soak                                   10 minutes, warm-up 2
 *   npm run soak -- --minutes 3 --warmup-minutes 1
 *   npm run soak -- --seconds 60 --warmup-seconds 30   (the short version, also in npm test)
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runSoak } from './soak';
import type { SoakOptions } from './soak-options';

const USAGE = `usage: npm run soak -- [options]

  --minutes N             length of the run, default 10
  --seconds S             length of the run in seconds (short runs; overrides --minutes)
  --warmup-minutes M      start of the run left out of the growth rule, default 2
  --warmup-seconds W      the same in seconds (overrides --warmup-minutes)
  --replay-window-seconds replay window of the nodes, default min(60, warm-up / 2)
  --events-per-second N   durable events published per second, default 200
  --connects-per-second N short-lived clients created per second, default 50
  --out <file>            results JSON, default soak/results/latest.json (summary beside it as .md)
  --help`;

/** Why: a typo'd number must stop the run, not silently become NaN or the default. */
function positive(name: string, value: string | undefined, scale: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`--${name} expects a non-negative number, got ${JSON.stringify(value)}`);
  return Math.round(n * scale);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      'warmup-minutes': { type: 'string' },
      'warmup-seconds': { type: 'string' },
      'replay-window-seconds': { type: 'string' },
      'events-per-second': { type: 'string' },
      'connects-per-second': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const options: SoakOptions = {
    durationMs: positive('seconds', values.seconds, 1000) ?? positive('minutes', values.minutes, 60_000),
    warmupMs: positive('warmup-seconds', values['warmup-seconds'], 1000) ?? positive('warmup-minutes', values['warmup-minutes'], 60_000),
    replayWindowMs: positive('replay-window-seconds', values['replay-window-seconds'], 1000),
    eventsPerSecond: positive('events-per-second', values['events-per-second'], 1),
    connectsPerSecond: positive('connects-per-second', values['connects-per-second'], 1),
    outFile: values.out === undefined ? undefined : path.resolve(values.out),
  };
  const { pass } = await runSoak(options);
  return pass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[soak] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
