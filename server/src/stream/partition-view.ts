import type { TailCache } from '../recovery/tail-cache';
import type { EventLog } from './event-log';

/**
 * One partition as the node and recovery see it while this node reads it: its log, and where this
 * node's reader stands in it. A connection belongs to one org and so to one partition; everything it is
 * told (ack positions, watermarks, replays) comes from its partition's view. Nothing here says whether
 * the log is a Redis stream, a stream on a Redis Cluster master, or the lone node's memory.
 */
export interface PartitionView {
  readonly index: number;
  readonly log: EventLog;
  /** The epoch this node's reader is in. */
  epoch(): string;
  /** Offset of the last entry of the partition delivered to this node's sockets. */
  readerOffset(): string;
  /** Recent entries in this node's memory, for replays without Redis (cluster mode). */
  readonly tail: TailCache | undefined;
}

/** The room of a partition's synced sockets (see `rw:position`): they get its watermarks. */
export function syncedRoom(index: number): string {
  return `rw:synced:${index}`;
}
