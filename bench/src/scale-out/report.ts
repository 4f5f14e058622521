import { codeSuffix } from '../report/machine';
import type { ReadRatioMode } from './read-ratio';
import type { ScaleOutBar, ScaleOutResults } from './results';
import type { WindowMemoryResult } from './window-memory';

/** Most a node may read, as a multiple of its share of the orgs' entries, with affinity (the shipped one: by partition). */
export const MAX_READ_OVER_SHARE = 1.5;
/** Most a master's share of the window may be off an even split (±). */
export const MAX_MASTER_DEVIATION = 0.25;

const MiB = 2 ** 20;
const fixed = (n: number, digits = 2): string => n.toFixed(digits);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * The routing mode the affinity bar judges: partition affinity, what `createClient({ affinity })` and
 * haproxy-affinity.cfg ship. `org-affinity` (by org name) is an explanatory row without a bar.
 */
export const SHIPPED_AFFINITY_MODE = 'partition-affinity';

/** Judges the issue's bars. */
export function judgeScaleOut(modes: readonly ReadRatioMode[], memory: WindowMemoryResult): ScaleOutBar[] {
  const bars: ScaleOutBar[] = [];
  for (const mode of modes.filter((m) => m.mode === SHIPPED_AFFINITY_MODE)) {
    bars.push({
      bar: `${mode.mode}: with affinity, each node reads ≤ ${MAX_READ_OVER_SHARE}× its share of the orgs' entries`,
      measured: `worst node ${fixed(mode.worstReadOverShare)}× (read ratio ${mode.nodes.map((n) => fixed(n.readRatio, 3)).join(' / ')}; org share ${mode.nodes.map((n) => fixed(n.orgShare, 3)).join(' / ')})`,
      pass: mode.worstReadOverShare <= MAX_READ_OVER_SHARE,
    });
  }
  bars.push({
    bar: `window memory: each of ${memory.masters} masters within ±${MAX_MASTER_DEVIATION * 100} % of 1/${memory.masters}`,
    measured: memory.perMaster.map((m) => `${fixed((m.shareOfEven - 1) * 100, 1)} %`).join(' / '),
    pass: memory.worstDeviation <= MAX_MASTER_DEVIATION,
  });
  return bars;
}

function readRatioSection(r: ScaleOutResults): string[] {
  const rr = r.readRatio;
  const lines = [
    '## Entries read per node ÷ entries published',
    '',
    `${rr.nodes} nodes on one Redis, ${rr.streamPartitions} partitions, ${int(rr.orgs)} orgs × ${rr.clientsPerOrg} clients (\`@roomwire/client\`, WebSocket), ` +
      `${int(rr.eventsPerSecond)} events/s to random orgs for ${rr.publishMs / 1000} s per mode, one event per entry (batching off), ~${r.windowMemory.payloadBytes} B payloads. ` +
      'Entries read: Δ `roomwire_stream_entries_read_total` (all partitions) of each node\'s `/metrics`; entries published: Δ `entries-added` of every partition stream (`XINFO STREAM`, heartbeats included on both sides). ' +
      'Org share: the fraction of published events whose org has a client on the node. Routing: **round-robin** spreads each org\'s clients over the nodes in turn (no affinity); ' +
      '**partition-affinity** (the shipped affinity, judged by the bar) sends every client of an org to the node a consistent-hash ring (MD5, 160 points per node) picks for its org\'s partition, ' +
      'the `rw_partition` value `createClient({ affinity: { org, partitions } })` sends (`partitionOfOrg(org, STREAM_PARTITIONS)`; HAProxy `balance url_param rw_partition` + `hash-type consistent`); ' +
      '**org-affinity** (explanatory, not shipped, no bar) sends it to the node the same ring picks for the org name: with many more orgs than partitions each node\'s orgs cover every partition, so it cuts deliveries, not reads.',
    '',
    '| routing | node | clients | orgs | partitions read | entries read | read ratio | org share | read ÷ share | node CPU per entry read |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const mode of rr.modes) {
    for (const n of mode.nodes) {
      lines.push(`| ${mode.mode} | ${n.node} | ${int(n.clients)} | ${int(n.orgs)} | ${n.partitionsRead} | ${int(n.entriesRead)} | ${fixed(n.readRatio, 3)} | ${fixed(n.orgShare, 3)} | ${fixed(n.readOverShare)}× | ${fixed(n.cpuUsPerEntryRead, 0)} µs |`);
    }
  }
  lines.push(
    '',
    '| routing | events published | failed | entries added | nodes reading each entry | Redis CPU per entry (append + reads) | worst read ÷ share | busiest node reads × nodes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const mode of rr.modes) {
    lines.push(`| ${mode.mode} | ${int(mode.eventsPublished)} | ${mode.publishFailures} | ${int(mode.entriesAdded)} | ${fixed(mode.readersPerEntry)} | ${fixed(mode.redisCpuUsPerEntry, 1)} µs | ${fixed(mode.worstReadOverShare)}× | ${fixed(mode.worstReadRatioTimesNodes)} |`);
  }
  const derived = unreadCost(rr.modes);
  if (derived !== null) {
    lines.push(
      '',
      `Node CPU an entry costs a node that has no client of its org: ${fixed(derived, 0)} µs (Σ node CPU of round-robin − partition-affinity ÷ Σ entries read of round-robin − partition-affinity; ` +
        'both modes deliver the same number of events per node, so the difference is what reading entries for nobody costs; it includes this machine\'s contention).',
    );
  }
  return lines;
}

/** (Σ node CPU round-robin − partition-affinity) ÷ (Σ entries read round-robin − partition-affinity), µs; null without both modes. */
export function unreadCost(modes: readonly ReadRatioMode[]): number | null {
  const rr = modes.find((m) => m.mode === 'round-robin');
  const pa = modes.find((m) => m.mode === 'partition-affinity');
  if (!rr || !pa) return null;
  const cpuUs = (m: ReadRatioMode): number => m.nodes.reduce((sum, n) => sum + n.cpuUsPerEntryRead * n.entriesRead, 0);
  const reads = (m: ReadRatioMode): number => m.nodes.reduce((sum, n) => sum + n.entriesRead, 0);
  const extra = reads(rr) - reads(pa);
  return extra > 0 ? (cpuUs(rr) - cpuUs(pa)) / extra : null;
}

function memorySection(r: ScaleOutResults): string[] {
  const m = r.windowMemory;
  return [
    '## Redis memory of a 5-minute window per master',
    '',
    `Redis Cluster of ${m.masters} masters (no replicas), ${m.streamPartitions} partitions, ${int(m.orgs)} orgs in turn, ~${m.payloadBytes} B payloads, one event per entry, through \`createPublisher\`. ` +
      `The window at ${int(m.eventsPerSecond)} events/s × ${m.windowS} s is ${int(m.windowEntries)} entries; ${int(m.entriesWritten)} were written in ${fixed(m.fillS, 1)} s` +
      (m.extrapolated ? ' and the whole window is **extrapolated** from the bytes per entry measured.' : ' (the whole window).'),
    '',
    '| master | partitions | entries | Σ MEMORY USAGE of its streams | Δ used_memory | share ÷ (1/masters) |',
    '|---|---|---:|---:|---:|---:|',
    ...m.perMaster.map(
      (p, i) => `| ${i} | ${p.partitions.join(', ')} | ${int(p.entries)} | ${fixed(p.streamBytes / MiB, 1)} MiB | ${fixed(p.usedMemoryDeltaBytes / MiB, 1)} MiB | ${fixed(p.shareOfEven)} |`,
    ),
    '',
    `- bytes per entry: ${fixed(m.streamBytesPerEntry, 0)} B (stream \`MEMORY USAGE\`), ${fixed(m.usedMemoryBytesPerEntry, 0)} B (Δ \`used_memory\`)`,
    `- whole window (${int(m.windowEntries)} entries): ${fixed(m.windowBytes / MiB, 0)} MiB over all masters, ${fixed(m.windowBytes / m.masters / MiB, 0)} MiB per master`,
    `- Redis CPU while filling (all masters, closed loop of ${m.concurrency} emits): ${fixed(m.redisCpuUsPerEntry, 1)} µs per entry`,
  ];
}

function publishSection(r: ScaleOutResults): string[] {
  const p = r.publishRate;
  return [
    '## Highest publish rate: HTTP and library, one Redis and a 3-master cluster',
    '',
    'Closed loops with a bounded number of publishes in flight, for a fixed time after a warm-up; batching off on both paths (every event one entry: the rate of entries, not of merged events). ' +
      'HTTP: `POST /v1/publish` over keep-alive connections to the nodes in turn; library: `createPublisher` in the load process. ' +
      'The rates depend on this machine and on what else ran on it (see the load averages); the CPU costs per entry and per event are what the capacity model in docs/scaling.md uses.',
    '',
    '| Redis | path | events/s | failed | entries/s | Redis CPU per entry | Redis cores busy | node CPU per event | load-process CPU per event | machine cores busy |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...p.map(
      (c) =>
        `| ${c.redis} | ${c.path} | ${int(c.eventsPerSecond)} | ${c.failed} | ${int(c.entriesPerSecond)} | ${fixed(c.redisCpuUsPerEntry, 1)} µs | ${fixed(c.redisCores)} | ${c.path === 'http' ? `${fixed(c.nodeCpuUsPerEvent, 0)} µs` : '–'} | ${fixed(c.loadCpuUsPerEvent, 0)} µs | ${fixed(c.machineBusyCores)} of ${r.machine.cpus} |`,
    ),
  ];
}

function barsSection(bars: readonly ScaleOutBar[]): string[] {
  return ['## Bars', '', '| bar | measured | verdict |', '|---|---|---|', ...bars.map((b) => `| ${b.bar} | ${b.measured} | ${b.pass ? '**PASS**' : '**FAIL**'} |`)];
}

/** The run as a Markdown page. */
export function renderScaleOut(r: ScaleOutResults): string {
  const m = r.machine;
  return [
    `# Scale-out benchmark${r.mode === 'quick' ? ' (quick)' : ''}`,
    '',
    `Command: \`${r.command}\`; started ${r.startedAt}, took ${fixed(r.durationS, 0)} s.`,
    '',
    `Machine: ${m.cpuModel}, ${m.cpus} cores (\`nproc\`), ${m.totalMemoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.redis}${codeSuffix(m)}; ` +
      `load average ${m.loadAverageAtStart} at the start, ${r.loadAverageAtEnd} at the end.`,
    '',
    ...barsSection(r.bars),
    '',
    ...readRatioSection(r),
    '',
    ...memorySection(r),
    '',
    ...publishSection(r),
    '',
  ].join('\n');
}
