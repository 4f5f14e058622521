import { isValidName } from './names';

/** Most stream partitions a deployment may have (`STREAM_PARTITIONS`). */
export const MAX_PARTITIONS = 1024;

/**
 * Which stream partition an org's events go to: FNV-1a of the org name, modulo the partition count.
 * Stable across processes and releases: nodes, publishers and clients (for partition affinity) must
 * agree on it without talking. The server uses this very function.
 */
export function partitionOfOrg(org: string, partitions: number): number {
  if (partitions === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < org.length; i++) {
    hash ^= org.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/** Whether `partitions` is a valid partition count: an integer in 1..{@link MAX_PARTITIONS}. */
export function isValidPartitionCount(partitions: unknown): partitions is number {
  return typeof partitions === 'number' && Number.isInteger(partitions) && partitions >= 1 && partitions <= MAX_PARTITIONS;
}

/**
 * What a client needs for partition affinity: its org and the deployment's `STREAM_PARTITIONS`. The
 * app's token endpoint can return it next to the token (`affinityFor` in `@roomwire/server`).
 */
export interface PartitionAffinity {
  /** The org the client's token is for. */
  org: string;
  /** The deployment's partition count (`STREAM_PARTITIONS`), in 1..1024. */
  partitions: number;
}

/**
 * The partition a client with this affinity sends as the `rw_partition` handshake parameter
 * (`AFFINITY_QUERY_PARAM`); throws a `TypeError` naming the bad field.
 */
export function affinityPartition(affinity: PartitionAffinity): number {
  if (typeof affinity !== 'object' || affinity === null) throw new TypeError(`affinity must be { org, partitions }, got ${JSON.stringify(affinity)}`);
  if (!isValidName(affinity.org)) {
    throw new TypeError(`affinity.org must be an org name (letters, digits, '_' and '-', at most 64), got ${JSON.stringify(affinity.org)}`);
  }
  if (!isValidPartitionCount(affinity.partitions)) {
    throw new TypeError(`affinity.partitions must be an integer in 1..${MAX_PARTITIONS} (STREAM_PARTITIONS), got ${JSON.stringify(affinity.partitions)}`);
  }
  return partitionOfOrg(affinity.org, affinity.partitions);
}
