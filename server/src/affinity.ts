import { affinityPartition, type PartitionAffinity } from '@roomwire/shared';
import { nodeDefaults } from './config/node-options';

/** Options of {@link affinityFor}. */
export interface AffinityForOptions {
  /** The deployment's partition count: the nodes' `STREAM_PARTITIONS`. @default 16 (the nodes' default) */
  streamPartitions?: number;
}

/**
 * What a client needs for partition affinity, for an app's token endpoint to return next to the token:
 * `{ org, partitions }`, passed as `createClient({ affinity })`. The client then sends the org's partition
 * (`rw_partition`) on every handshake, and a balancer with partition affinity (infra/README.md,
 * "Partition affinity") routes it to the partition's node. A routing hint only, never authorization.
 * @throws TypeError when `org` is not an org name or `streamPartitions` is not in 1..1024.
 *
 * @example
 * // in the token endpoint, with the nodes' STREAM_PARTITIONS:
 * res.json({ token, affinity: affinityFor(org, { streamPartitions: 32 }) });
 */
export function affinityFor(org: string, options: AffinityForOptions = {}): PartitionAffinity {
  const affinity = { org, partitions: options.streamPartitions ?? nodeDefaults.streamPartitions };
  try {
    affinityPartition(affinity);
  } catch (err) {
    throw new TypeError(`affinityFor: ${(err as Error).message}`);
  }
  return affinity;
}
