import { MAX_PARTITIONS as SHARED_MAX_PARTITIONS, partitionOfOrg } from '@roomwire/shared';
import calculateSlot from 'cluster-key-slot';

/** Redis Cluster's number of hash slots. */
const SLOTS = 16384;
/** Most partitions a cluster may have (the keys of each sit on a slot of their own). */
export const MAX_PARTITIONS: number = SHARED_MAX_PARTITIONS;

/** The Redis keys and channel of one partition; all share one hash tag, so one slot and one master. */
export interface PartitionKeys {
  index: number;
  /** The stream of the partition's durable frames. */
  stream: string;
  /** The partition's epoch record: `"<epoch> <first offset of the epoch>"`. */
  epoch: string;
  /** Prefix of idempotency keys (`…idem:<org>/<key>`). */
  idempotencyPrefix: string;
  /** Prefix of recovery sessions of the partition's sockets. */
  sessionPrefix: string;
  /** Pub/sub channel of the partition's volatile frames (sharded pub/sub on a cluster). */
  volatileChannel: string;
  /** Prefix of the presence keys of the partition's orgs (`…presence:nodes`, `…presence:u:<room>`, …). */
  presencePrefix: string;
  /** Prefix of the history indexes of the partition's service rooms (`…history:<room>`). */
  historyPrefix: string;
  /** Prefix of the append fences of the partition's writers (`…writer:<writer id>`: its last stored append's sequence number). */
  writerPrefix: string;
}

/**
 * Which partition an org's events go to: `partitionOfOrg` of `@roomwire/shared` (FNV-1a of the org name,
 * modulo the count), the one function nodes, publishers and affinity clients share.
 */
export const partitionOf: (org: string, count: number) => number = partitionOfOrg;

/** Why: partitions spread evenly over a cluster's masters only if their slots spread evenly over the slot range. */
function targetSlot(index: number, count: number): number {
  return Math.floor(((index + 0.5) * SLOTS) / count);
}

const tagCache = new Map<number, string[]>();

/**
 * A hash tag per partition whose slot is the partition's even share of the slot range: partition `i` of
 * `n` sits on slot ⌊(i + ½)·16384 / n⌋. Redis Cluster gives each master a contiguous range of slots, so
 * the partitions (and the memory of their windows) spread over the masters as evenly as the count allows,
 * however many masters there are. Found by trying the tags `0, 1, 2, …` (about 16384 · ln n tries, once).
 */
export function partitionTags(count: number): readonly string[] {
  checkCount(count);
  const cached = tagCache.get(count);
  if (cached) return cached;
  const wanted = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const slot = targetSlot(i, count);
    wanted.set(slot, [...(wanted.get(slot) ?? []), i]);
  }
  const tags = new Array<string>(count);
  let missing = count;
  for (let n = 0; missing > 0; n++) {
    const tag = n.toString(36);
    const indices = wanted.get(calculateSlot(tag));
    if (!indices) continue;
    wanted.delete(calculateSlot(tag));
    for (const i of indices) {
      // Two partitions on one slot (more partitions than slots cannot happen: count ≤ 1024).
      tags[i] = tag;
      missing -= 1;
    }
  }
  tagCache.set(count, tags);
  return tags;
}

/** The keys of partition `index` of `count`, under `keyPrefix`. */
export function partitionKeys(keyPrefix: string, index: number, count: number): PartitionKeys {
  const tag = partitionTags(count)[index];
  if (tag === undefined) throw new RangeError(`partition ${index} of ${count} does not exist`);
  const base = `${keyPrefix}:{${tag}}`;
  return {
    index,
    stream: `${base}:stream`,
    epoch: `${base}:epoch`,
    idempotencyPrefix: `${base}:idem:`,
    sessionPrefix: `${base}:session:`,
    volatileChannel: `${base}:volatile`,
    presencePrefix: `${base}:presence:`,
    historyPrefix: `${base}:history:`,
    writerPrefix: `${base}:writer:`,
  };
}

/** The keys of every partition. */
export function allPartitionKeys(keyPrefix: string, count: number): PartitionKeys[] {
  return Array.from({ length: count }, (_, i) => partitionKeys(keyPrefix, i, count));
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new RangeError(`the partition count must be an integer in 1..${MAX_PARTITIONS}, got ${JSON.stringify(count)}`);
  }
}
