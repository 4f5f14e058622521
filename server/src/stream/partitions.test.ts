import { MAX_PARTITIONS as SHARED_MAX_PARTITIONS, partitionOfOrg } from '@roomwire/shared';
import { MAX_PARTITIONS, partitionOf } from './partitions';

test('the server routes orgs with the very function clients use for partition affinity', () => {
  expect(partitionOf).toBe(partitionOfOrg);
  expect(MAX_PARTITIONS).toBe(SHARED_MAX_PARTITIONS);
});
