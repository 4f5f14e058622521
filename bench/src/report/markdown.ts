import type { MetricDef } from '../scenarios/scenario';
import { BASELINE, type SystemName } from '../systems/system-names';
import { SUBJECT } from './bars';
import { isFailure, type DeliveryResults, type ScenarioResults } from './results';

/** How the numbers are taken: fixed text, the numbers themselves all come from the run. */
const METHOD = `
- **One run, one machine.** Each system in turn gets a fresh \`redis-server\` (own port, no persistence), 2 server
  processes, a publisher process and the same load generator; all traffic is on 127.0.0.1. The publishing schedule
  is generated deterministically, so every system is sent the same events, to the same rooms, at the same offsets.
- **Clients.** WebSocket transport only, spread evenly over the rooms and over both nodes, owned by load worker
  processes (\`child_process.fork\`) that report histograms and counters over IPC. Roomwire clients are
  \`@roomwire/client\`; baseline clients are plain \`socket.io-client\`. Every client has the same reconnect backoff.
- **Events.** \`billing/invoice.paid\` envelopes \`{ id, org, service, type, ts, data }\` of the same size for every
  system; the phase and a per-room sequence number ride in \`data.amountCents\`, so each client counts missed,
  duplicated and out-of-order events. A *delivery* is one event received by one client; *delivered events/s* counts deliveries.
  *Missed* = not received when the phase ended (its settle timeout); deliveries that straggle in after that are
  counted during a drain before the next phase and reported in the notes, and never count for the next phase.
- **Latency** = receive time (\`performance.timeOrigin + performance.now()\`) − envelope \`ts\` (\`Date.now()\` at publish,
  whole ms, same clock), in a log-linear histogram (≤ 1.6 % error).
- **Wire.** Bytes are the TCP bytes read by each client's socket (\`net.Socket#bytesRead\`, sockets found with Node's
  \`http.client.request.start\` diagnostics channel); packets are WebSocket messages that are Socket.IO event packets
  (\`rw:event\` or \`event\`), counted on the \`ws\` WebSocket socket.io-client uses (a bench-only internal: \`ws\` keeps it
  on the socket under \`Symbol('websocket')\`). One Roomwire batch frame is one packet.
- **CPU and memory.** CPU seconds are utime + stime from \`/proc/<pid>/stat\` of the node processes (Redis, the
  publisher and the load workers separately), taken before and after each phase. Redis memory is \`INFO memory\`
  \`used_memory\`, node memory is VmRSS, both sampled every 250 ms.
- **Load generator health.** Each load worker measures its event-loop delay (\`perf_hooks.monitorEventLoopDelay\`);
  a p99 above 50 ms is flagged next to the numbers it may have limited, and a saturation limit reached that way only
  gives a lower bound (the saturation bar is then INCONCLUSIVE in the direction it could flip). CPU used by processes
  outside the benchmark (machine busy time from \`/proc/stat\` minus every benchmark process) is reported per phase:
  on a shared machine, phases above 15 % are flagged as noisy.
- **Spread traffic.** 2 000 clients in 200 rooms of 10, 200 B payloads (\`data\` padded to 200 bytes of
  JSON), each event to a room drawn at random (a seeded PRNG, the same rooms for every system). At 1 000 and 2 000
  events/s each room gets an event every 100–200 ms, so every frame carries one event and batching cannot help: what is
  left is the cost per delivery on each path. The \`spread\` scenario runs those two fixed, unsaturated rates (after an
  unmeasured warm-up) with the systems' own client libraries (\`@roomwire/client\`, \`socket.io-client\`), not pinned, as an
  app runs them: node CPU (both nodes, /proc) and client CPU (the load workers) per 100 000 deliveries, Redis CPU,
  delivered rate, p50/p99. The \`--quick\` run uses the same layout with shorter phases.
- **Lean load clients.** The \`saturation\`, \`saturation-hot-rooms\` and \`overload\` scenarios find limits, so the load
  generator must not be one. They run in a fresh session of their own with lean protocol-level clients
  (\`bench/src/load/lean-client.ts\`): one raw \`ws\` WebSocket each that speaks just enough Engine.IO 4 / Socket.IO 5
  (open, CONNECT, \`rw:subscribe\` for Roomwire or the room in the handshake query for the baseline, ping/pong, event
  packets, raw-inflate of compressed frames) and scans each packet for the envelopes' \`ts\` and \`amountCents\`
  instead of parsing it: a small fraction of a client library's CPU per delivery, the same code for both systems. The
  client libraries' own cost is measured by \`spread\` instead.
- **CPU pinning.** On a machine with ≥ 2 cores the lean session pins with \`taskset -a -p -c\`: the server processes and
  Redis on the first half of the cores (\`-c 0\` on 2 cores), the load workers and the publisher on the other half
  (\`-c 1\`), so neither side can take CPU from the other and a saturation limit is the system's, not a scheduling
  artefact. The saturation and overload notes say what was done (or why not: 1 core, no \`taskset\`).
- **Saturation and overload.** After an unmeasured warm-up at half the start rate (fresh nodes are slower for their first
  seconds), the saturation sweep steps spread traffic up (×2 per step, then narrowing) until less than
  95 % of the offered deliveries arrive within the grace period after the step or p99 exceeds 1 s; the highest passing
  step is the system's *highest sustained rate*. The baseline runs this session first, then \`overload\` runs spread traffic
  at 2× the baseline's highest sustained rate on every system: a system that holds up still delivers about its own limit
  (no collapse) and its p99 grows with the backlog; its p99 growth is overload p99 ÷ its p99 at its limit.
- **Profiles.** \`BENCH_CPU_PROFILE_DIR=dir npm run bench -- …\` makes every Roomwire node, baseline server and load
  worker write a V8 \`.cpuprofile\` (via \`node:inspector\`) when it exits; \`npm run bench -- profile-summary <file>\` prints
  the top 25 functions by self time (with total time) and self time by module, as Markdown.
- **Ratios** are system ÷ baseline of the same run. Bars judge **${SUBJECT}** (batching on, the default) against **${BASELINE}**.
`.trim();

const fmtNumber = (value: number, digits: number): string =>
  Math.abs(value) >= 10_000 && digits === 0 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);

function cell(value: number | null | undefined, def: MetricDef): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const text = fmtNumber(value, def.digits ?? 1);
  return def.unit === '' || def.unit === '/s' ? text : `${text} ${def.unit}`;
}

function ratioCell(value: number | null | undefined, base: number | null | undefined): string {
  if (value === null || value === undefined || base === null || base === undefined || base === 0 || !Number.isFinite(value)) return '–';
  return `${(value / base).toFixed(2)}×`;
}

function scenarioSection(scenario: ScenarioResults, systems: SystemName[]): string {
  const lines = [`### ${scenario.title}`, '', scenario.description, ''];
  const withBaseline = systems.includes(BASELINE);
  const header = ['Metric', ...systems.flatMap((s) => (s === BASELINE || !withBaseline ? [s] : [s, `${s} ÷ baseline`]))];
  lines.push(`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const def of scenario.metrics) {
    const valueOf = (system: SystemName): number | null => {
      const outcome = scenario.outcomes[system];
      return outcome === undefined || isFailure(outcome) ? null : (outcome.metrics[def.key] ?? null);
    };
    const base = valueOf(BASELINE);
    const ratio = (s: SystemName): string => (def.better === 'none' ? '' : ratioCell(valueOf(s), base));
    const row = [def.label, ...systems.flatMap((s) => (s === BASELINE || !withBaseline ? [cell(valueOf(s), def)] : [cell(valueOf(s), def), ratio(s)]))];
    lines.push(`| ${row.join(' | ')} |`);
  }
  const notes: string[] = [];
  for (const system of systems) {
    const outcome = scenario.outcomes[system];
    if (outcome === undefined) continue;
    if (isFailure(outcome)) notes.push(`**${system}**: failed: ${outcome.error.split('\n')[0]}`);
    else for (const note of outcome.notes) notes.push(`**${system}**: ${note}`);
  }
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/** Renders a run as its section of `docs/benchmarks.md` (see `doc-sections.ts`). */
export function renderMarkdown(results: DeliveryResults): string {
  const systems = results.systems.map((s) => s.name);
  const m = results.machine;
  const quick = results.mode === 'quick';
  const sections = [
    '## Delivery benchmark (`npm run bench -- delivery`)',
    '',
    '<!-- Generated by the delivery benchmark (bench/). Do not edit by hand: rerun the command below. -->',
    '',
    `Generated by \`${results.command}\` on ${results.startedAt} (${results.mode} run, ${results.durationS.toFixed(0)} s).`,
    ...(quick ? ['', '> **Quick run:** a seconds-long smoke version with fewer clients and short phases. Its numbers only show that everything works; judge bars on a full run.'] : []),
    '',
    '### Machine',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${m.cpuModel} × ${m.cpus} |`,
    `| Memory | ${m.totalMemoryGiB} GiB |`,
    `| OS | ${m.os} |`,
    `| Node.js | ${m.node} |`,
    `| Redis | ${m.redis} |`,
    `| Load average at start | ${m.loadAverageAtStart} |`,
    ...(m.code === undefined ? [] : [`| Code | commit ${m.code} |`]),
    '',
    '### Systems',
    '',
    ...results.systems.map((s) => {
      const timing = s.startMs === null ? '' : ` Started in ${(s.startMs / 1000).toFixed(1)} s; ${results.config.clients} clients connected in ${s.connectMs === null ? '–' : (s.connectMs / 1000).toFixed(1)} s.`;
      return `- **${s.name}**: ${s.description}.${timing}${s.error ? ` **Failed:** ${s.error.split('\n')[0]}` : ''}`;
    }),
    '',
    ...(Object.keys(results.roomwireNodeEnv).length > 0
      ? [`Roomwire nodes also ran with \`${Object.entries(results.roomwireNodeEnv).map(([k, v]) => `${k}=${v}`).join(' ')}\` (\`--node-env\`).`, '']
      : ['Roomwire nodes ran with their defaults apart from batching (e.g. `COMPRESSION_THRESHOLD_BYTES` unset: no permessage-deflate).', '']),
    `Load: ${results.config.clients} clients in ${results.config.rooms} rooms (${results.config.clients / results.config.rooms} per room), ` +
      `${results.config.loadWorkers} load worker processes; client backoff ${results.config.reconnect.minDelayMs}–${results.config.reconnect.maxDelayMs} ms.`,
    '',
    `### Bars (${SUBJECT} vs ${BASELINE}, this run)`,
    '',
    '| Bar | Measured | Verdict |',
    '| --- | --- | --- |',
    ...results.bars.map((b) => `| ${b.requirement} | ${b.measured} | **${b.verdict}** |`),
    '',
    '(Slow-consumer eviction is tested elsewhere.)',
    '',
    ...results.scenarios.flatMap((s) => [scenarioSection(s, systems), '']),
    '### How it is measured',
    '',
    METHOD,
    '',
    '### Run it',
    '',
    '```sh',
    'npm run bench -- delivery            # full run (≤ 15 min), regenerates this section',
    'npm run bench -- delivery --quick    # smoke run (≤ 3 min), writes bench/results/delivery-quick-latest.*',
    'npm run bench -- delivery --systems roomwire,baseline --scenarios bursts,lone-events',
    'npm run bench -- delivery --systems roomwire,baseline --scenarios spread,saturation,overload   # spread traffic, saturation, overload',
    'BENCH_CPU_PROFILE_DIR=/tmp/prof npm run bench -- delivery --systems roomwire --scenarios spread',
    'npm run bench -- profile-summary /tmp/prof/roomwire-0-*.cpuprofile',
    '```',
    '',
    'Raw results: `bench/results/delivery-latest.json` (every phase\'s measurements, timelines and samples).',
    '',
  ];
  return sections.join('\n');
}
