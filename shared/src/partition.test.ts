import { MAX_PARTITIONS, affinityPartition, isValidPartitionCount, partitionOfOrg } from './partition';
import { AFFINITY_QUERY_PARAM } from './protocol';

test('partitionOfOrg is FNV-1a of the org modulo the count, pinned: a change would move every org to another stream', () => {
  // Reference values of 32-bit FNV-1a ("" → 0x811c9dc5, "a" → 0xe40c292c).
  expect(partitionOfOrg('', 1 << 10)).toBe(0x811c9dc5 % 1024);
  expect(partitionOfOrg('a', 1000)).toBe(0xe40c292c % 1000);
  expect(['acme', 'globex', 'org-1', 'org-2'].map((org) => partitionOfOrg(org, 16))).toEqual(
    ['acme', 'globex', 'org-1', 'org-2'].map((org) => {
      let hash = 0x811c9dc5;
      for (const ch of org) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193);
      return (hash >>> 0) % 16;
    }),
  );
  expect(partitionOfOrg('anything', 1)).toBe(0);
});

test('1 000 orgs spread over 16 partitions, each in range', () => {
  const counts = new Array<number>(16).fill(0);
  for (let i = 0; i < 1000; i++) {
    const p = partitionOfOrg(`org-${i}`, 16);
    expect(p >= 0 && p < 16 && Number.isInteger(p)).toBe(true);
    counts[p] = (counts[p] ?? 0) + 1;
  }
  expect(Math.min(...counts)).toBeGreaterThan(30);
});

test('affinityPartition validates the org and the count', () => {
  expect(affinityPartition({ org: 'acme', partitions: 16 })).toBe(partitionOfOrg('acme', 16));
  expect(() => affinityPartition({ org: 'acme:svc', partitions: 16 })).toThrow(/affinity\.org/);
  expect(() => affinityPartition({ org: '', partitions: 16 })).toThrow(/affinity\.org/);
  expect(() => affinityPartition({ org: 'acme', partitions: 0 })).toThrow(/affinity\.partitions/);
  expect(() => affinityPartition({ org: 'acme', partitions: 1.5 })).toThrow(/affinity\.partitions/);
  expect(() => affinityPartition({ org: 'acme', partitions: MAX_PARTITIONS + 1 })).toThrow(/affinity\.partitions/);
  expect(() => affinityPartition(null as never)).toThrow(/affinity/);
  expect(isValidPartitionCount('16')).toBe(false);
  expect(isValidPartitionCount(MAX_PARTITIONS)).toBe(true);
});

test('the handshake parameter is rw_partition', () => {
  expect(AFFINITY_QUERY_PARAM).toBe('rw_partition');
});
