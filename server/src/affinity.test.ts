import { partitionOfOrg } from '@roomwire/shared';
import { affinityFor } from './affinity';
import { nodeDefaults } from './config/node-options';

test('affinityFor returns the org and the partition count, and validates both', () => {
  expect(affinityFor('acme', { streamPartitions: 32 })).toEqual({ org: 'acme', partitions: 32 });
  expect(affinityFor('acme')).toEqual({ org: 'acme', partitions: nodeDefaults.streamPartitions });
  expect(() => affinityFor('acme:svc')).toThrow(/affinityFor: affinity\.org/);
  expect(() => affinityFor('acme', { streamPartitions: 0 })).toThrow(/affinityFor: affinity\.partitions/);
  // What the client sends is the partition the nodes store the org's events in.
  const { org, partitions } = affinityFor('globex', { streamPartitions: 16 });
  expect(partitionOfOrg(org, partitions)).toBe(partitionOfOrg('globex', 16));
});
