/**
 * The scale-out benchmark's read-ratio measurement end to end, tiny: real redis-server, 2 real nodes,
 * real clients. Entries read come from the nodes' own metrics, so this checks those metrics too.
 */
import { measureReadRatio, type ReadRatioResult } from '../bench/src/scale-out/read-ratio';

let result: ReadRatioResult;

beforeAll(async () => {
  result = await measureReadRatio({
    nodes: 2,
    streamPartitions: 4,
    orgs: 12,
    clientsPerOrg: 2,
    eventsPerSecond: 200,
    publishMs: 1000,
    payloadBytes: 200,
    modes: ['round-robin', 'partition-affinity'],
    log: () => undefined,
  });
});

test('round-robin: every node reads every entry', () => {
  const mode = result.modes.find((m) => m.mode === 'round-robin');
  expect(mode?.publishFailures).toBe(0);
  expect(mode?.eventsPublished).toBeGreaterThan(100);
  expect(mode?.entriesAdded).toBeGreaterThanOrEqual(mode?.eventsPublished ?? Infinity);
  for (const node of mode?.nodes ?? []) {
    expect(node.partitionsRead).toBe(4);
    expect(node.readRatio).toBeCloseTo(1, 2);
  }
});

test('partition affinity: each node reads its share, and the nodes together read each entry once', () => {
  const mode = result.modes.find((m) => m.mode === 'partition-affinity');
  expect(mode?.publishFailures).toBe(0);
  expect(mode?.readersPerEntry).toBeCloseTo(1, 2);
  // Within 0.05: a heartbeat the nodes write on an idle partition is an entry read but not an event.
  for (const node of mode?.nodes ?? []) expect(node.readRatio).toBeCloseTo(node.orgShare, 1);
});
