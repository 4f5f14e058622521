/** The scale-out benchmark's pure parts: the balancer's ring, the metrics parser, routing, and the bars. */
import { parseMetrics, sumOf } from '../bench/src/scale-out/metrics-text';
import { nodeOf, type ReadRatioMode } from '../bench/src/scale-out/read-ratio';
import { judgeScaleOut } from '../bench/src/scale-out/report';
import { ConsistentHashRing } from '../bench/src/scale-out/ring';
import type { WindowMemoryResult } from '../bench/src/scale-out/window-memory';
import { orgName, payloadOf } from '../bench/src/scale-out/workload';
import { partitionOfOrg } from '@roomwire/shared';

const keys = Array.from({ length: 4000 }, (_, i) => orgName(i));

test('the ring spreads keys over its members and moves only about 1/(n+1) of them when a member joins', () => {
  const four = new ConsistentHashRing(4);
  const counts = [0, 0, 0, 0];
  for (const key of keys) counts[four.memberOf(key)] = (counts[four.memberOf(key)] as number) + 1;
  for (const count of counts) expect(count).toBeGreaterThan(keys.length / 4 / 1.5);
  const five = new ConsistentHashRing(5);
  const moved = keys.filter((key) => five.memberOf(key) !== four.memberOf(key));
  // Keys only move to the new member, and about a fifth of them do.
  expect(moved.every((key) => five.memberOf(key) === 4)).toBe(true);
  expect(moved.length / keys.length).toBeGreaterThan(0.1);
  expect(moved.length / keys.length).toBeLessThan(0.3);
  expect(() => new ConsistentHashRing(0)).toThrow(RangeError);
});

test('routing: round-robin spreads an org, org affinity keeps it on one node, partition affinity keeps a partition on one node', () => {
  const ring = new ConsistentHashRing(4);
  expect([0, 1].map((c) => nodeOf('round-robin', 3, c, 2, ring, 16))).toEqual([2, 3]);
  expect(nodeOf('org-affinity', 7, 0, 2, ring, 16)).toBe(nodeOf('org-affinity', 7, 1, 2, ring, 16));
  const byPartition = new Map<number, Set<number>>();
  for (let org = 0; org < 500; org++) {
    const partition = partitionOfOrg(orgName(org), 16);
    byPartition.set(partition, (byPartition.get(partition) ?? new Set()).add(nodeOf('partition-affinity', org, 0, 2, ring, 16)));
  }
  expect(byPartition.size).toBe(16);
  for (const nodes of byPartition.values()) expect(nodes.size).toBe(1);
});

test('payloads are about the size asked for', () => {
  expect(JSON.stringify(payloadOf(12345, 200)).length).toBe(200);
  expect(JSON.stringify(payloadOf(1, 10)).length).toBeGreaterThanOrEqual(10);
});

test('metrics text: labels, sums, comments and garbage', () => {
  const samples = parseMetrics(
    [
      '# HELP roomwire_stream_entries_read_total Stream entries read.',
      '# TYPE roomwire_stream_entries_read_total counter',
      'roomwire_stream_entries_read_total{partition="0"} 12',
      'roomwire_stream_entries_read_total{partition="15"} 30',
      'roomwire_partitions_read 2',
      'roomwire_label_escapes{a="x\\"y",b="z"} 1.5 1700000000000',
      'not a sample',
    ].join('\n'),
  );
  expect(sumOf(samples, 'roomwire_stream_entries_read_total')).toBe(42);
  expect(sumOf(samples, 'roomwire_partitions_read')).toBe(2);
  expect(sumOf(samples, 'missing')).toBe(0);
  expect(samples.find((s) => s.name === 'roomwire_label_escapes')?.labels).toEqual({ a: 'x"y', b: 'z' });
});

test('bars: the shipped affinity (by partition) is judged on its worst node, by org name is only explanatory, memory on the worst master', () => {
  const mode = (name: ReadRatioMode['mode'], worst: number): ReadRatioMode => ({
    mode: name,
    eventsPublished: 100,
    publishFailures: 0,
    entriesAdded: 100,
    nodes: [],
    redisCpuUsPerEntry: 0,
    readersPerEntry: 1,
    worstReadOverShare: worst,
    worstReadRatioTimesNodes: 1,
  });
  const memory = { masters: 3, perMaster: [{ shareOfEven: 0.8 }, { shareOfEven: 1.3 }, { shareOfEven: 0.9 }], worstDeviation: 0.3 } as WindowMemoryResult;
  const bars = judgeScaleOut([mode('round-robin', 2), mode('org-affinity', 3.9), mode('partition-affinity', 1)], memory);
  expect(bars.map((b) => [b.bar.split(':')[0], b.pass])).toEqual([
    ['partition-affinity', true],
    ['window memory', false],
  ]);
  // The bar is judged: partition affinity reading 1.6× its share fails it.
  expect(judgeScaleOut([mode('partition-affinity', 1.6)], memory)[0]?.pass).toBe(false);
});
