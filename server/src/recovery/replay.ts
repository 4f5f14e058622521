import { compareOffsets, type DeliveryFrame, type StreamPosition } from '@roomwire/shared';
import type { Socket } from 'socket.io';
import type { PartitionView } from '../stream/partition-view';
import { offsetTimeMs } from '../stream/retention';
import type { RecoveryGate } from './recovery-gate';
import type { TailCache } from './tail-cache';
import { sendPaced, type Pacing } from './paced-send';

/** What a replay needs from the node (besides the partition it reads). */
export interface ReplayContext {
  gate: RecoveryGate;
  maxReplayFrames: number;
  replayPageSize: number;
  /** Positions older than this (by the time in their offset) are beyond the replay window. */
  maxPositionAgeMs: number;
  /** Counts each replay's outcome. */
  stats: ReplayStats;
  /** Flow control of replays. */
  pacing: Pacing;
  /** Told each replay's outcome (for metrics). */
  onOutcome?(result: { recovered: boolean; source: 'memory' | 'stream'; reason?: string }): void;
}

/** Outcomes of replays on one node. */
export interface ReplayStats {
  /** Whole replays served from the node's memory. */
  fromMemory: number;
  /** Whole replays read from the stream in Redis. */
  fromStream: number;
  /** Replays refused, by reason (the client resyncs). */
  notRecovered: Record<string, number>;
}

/** Fresh replay counters. */
export function newReplayStats(): ReplayStats {
  return { fromMemory: 0, fromStream: 0, notRecovered: {} };
}

function count(stats: ReplayStats, result: ReplayResult, source: 'fromMemory' | 'fromStream'): ReplayResult {
  if (result.recovered) stats[source] += 1;
  else stats.notRecovered[result.reason] = (stats.notRecovered[result.reason] ?? 0) + 1;
  return result;
}

/** The outcome of a replay; on `recovered: false` nothing was replayed and the client must resync. */
export type ReplayResult =
  | { recovered: true; replayed: number; position: StreamPosition }
  | { recovered: false; reason: string; position: StreamPosition };

/**
 * Joins `socket` to `rooms` and sends it every durable frame of those rooms after `from`, in order,
 * then lets live frames through — or, when the range cannot be replayed whole (another epoch, trimmed,
 * longer than the cap), replays nothing and says so. Never a partial replay.
 */
export async function replayInto(socket: Socket, rooms: string[], from: StreamPosition, view: PartitionView, ctx: ReplayContext): Promise<ReplayResult> {
  const tail = view.tail;
  const fromMemory = tail !== undefined && from.epoch === view.epoch() && tail.covers(from.offset);
  const result = await replay(socket, rooms, from, view, ctx, fromMemory ? tail : undefined);
  ctx.onOutcome?.({ recovered: result.recovered, source: fromMemory ? 'memory' : 'stream', ...(result.recovered ? {} : { reason: result.reason }) });
  return count(ctx.stats, result, fromMemory ? 'fromMemory' : 'fromStream');
}

async function replay(socket: Socket, rooms: string[], from: StreamPosition, view: PartitionView, ctx: ReplayContext, tail: TailCache | undefined): Promise<ReplayResult> {
  const { gate } = ctx;
  const { log } = view;
  gate.hold(socket);
  socket.join(rooms);
  const joinedAt = view.readerOffset();
  const notRecovered = async (reason: string): Promise<ReplayResult> => {
    const released = gate.release(socket.id, null);
    const epoch = await log.epoch();
    // Live frames after the join are guaranteed from `joinedAt` on; if some had to be dropped while
    // holding, only from what the reader has delivered now.
    return { recovered: false, reason, position: { epoch, offset: released ? joinedAt : view.readerOffset() } };
  };
  try {
    if (tail !== undefined) return replayFromTail(socket, rooms, from, joinedAt, view, ctx, tail);
    // Age on the stream's own clock (the reader's offset, kept fresh by heartbeats), not this host's.
    if (isBeyondWindow(from.offset, joinedAt, ctx)) return await notRecovered('window-expired');
    const before = await log.canRecoverFrom(from);
    if (!before.ok) return await notRecovered(before.reason);
    const head = await log.head();
    const wanted = new Set(rooms);
    const frames: { offset: string; frame: DeliveryFrame }[] = [];
    let cursor = from.offset;
    while (compareOffsets(cursor, head.offset) < 0) {
      const page = await log.readAfter(cursor, ctx.replayPageSize);
      if (page.cursor === null) break;
      for (const entry of page.entries) {
        if (compareOffsets(entry.offset, head.offset) > 0) break;
        if (!entry.rooms.some((room) => wanted.has(room))) continue;
        frames.push({ offset: entry.offset, frame: entry.frame });
        if (frames.length > ctx.maxReplayFrames) return await notRecovered('replay-too-long');
      }
      cursor = page.cursor;
    }
    // Trimming only ever removes the oldest entries: if `from` is still recoverable now, nothing
    // after it was trimmed while we read.
    const after = await log.canRecoverFrom(from);
    if (!after.ok) return await notRecovered(after.reason);
    if (socket.disconnected) {
      gate.drop(socket.id);
      return { recovered: false, reason: 'disconnected', position: from };
    }
    if (gate.hasOverflowed(socket.id)) return await notRecovered('live-overflow');
    return await finish(socket, frames, head.offset, head, view, ctx);
  } catch (err) {
    gate.release(socket.id, null);
    throw err;
  }
}

/**
 * Sends the replayed frames (paced), then releases the live frames held meanwhile. Live frames that
 * overflowed the hold while a long replay was being sent make it a resync: what was sent stays (the
 * client deduplicates), and the client is told.
 */
async function finish(
  socket: Socket,
  frames: { offset: string; frame: DeliveryFrame }[],
  replayedThrough: string,
  position: StreamPosition,
  view: PartitionView,
  ctx: ReplayContext,
): Promise<ReplayResult> {
  if (!(await sendPaced(socket, frames, ctx.pacing))) {
    ctx.gate.drop(socket.id);
    return { recovered: false, reason: 'disconnected', position };
  }
  if (ctx.gate.hasOverflowed(socket.id)) {
    return { recovered: false, reason: 'live-overflow', position: { epoch: position.epoch, offset: released(ctx, view, socket, replayedThrough) } };
  }
  ctx.gate.release(socket.id, replayedThrough);
  return { recovered: true, replayed: frames.length, position };
}

/**
 * The replay from memory: the range up to the reader's offset at the join is read at once, with no
 * await between the join and the read, so nothing can fall between the replay and the held live frames.
 */
async function replayFromTail(
  socket: Socket,
  rooms: string[],
  from: StreamPosition,
  joinedAt: string,
  view: PartitionView,
  ctx: ReplayContext,
  cache: TailCache,
): Promise<ReplayResult> {
  const epoch = view.epoch();
  const position = { epoch, offset: joinedAt };
  if (isBeyondWindow(from.offset, joinedAt, ctx)) {
    return { recovered: false, reason: 'window-expired', position: { epoch, offset: released(ctx, view, socket, joinedAt) } };
  }
  if (compareOffsets(from.offset, joinedAt) > 0) {
    // Past everything this node has read: only Redis can tell whether the stream has it.
    const recoverable = await view.log.canRecoverFrom(from);
    if (!recoverable.ok) return { recovered: false, reason: recoverable.reason, position: { epoch, offset: released(ctx, view, socket, view.readerOffset()) } };
  }
  const frames = cache.readRooms(rooms, from.offset, joinedAt, ctx.maxReplayFrames + 1);
  if (frames.length > ctx.maxReplayFrames) return { recovered: false, reason: 'replay-too-long', position: { epoch, offset: released(ctx, view, socket, joinedAt) } };
  return finish(socket, frames, joinedAt, position, view, ctx);
}

/** Why: a position older than the window (on the stream's own clock: the reader's offset) is not recoverable. */
function isBeyondWindow(offset: string, readerOffset: string, ctx: ReplayContext): boolean {
  return offsetTimeMs(offset) < offsetTimeMs(readerOffset) - ctx.maxPositionAgeMs;
}

function released(ctx: ReplayContext, view: PartitionView, socket: Socket, joinedAt: string): string {
  return ctx.gate.release(socket.id, null) ? joinedAt : view.readerOffset();
}
