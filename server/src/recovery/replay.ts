import { compareOffsets, EVENTS, type DeliveryFrame, type StreamPosition } from '@roomwire/shared';
import type { Socket } from 'socket.io';
import type { EventLog } from '../stream/event-log';
import { offsetTimeMs } from '../stream/retention';
import type { RecoveryGate } from './recovery-gate';
import { sendToSocket } from '../delivery/send-to-socket';

/** What a replay needs from the node. */
export interface ReplayContext {
  log: EventLog;
  gate: RecoveryGate;
  /** Offset of the last stream entry this node has delivered to its local sockets. */
  readerOffset(): string;
  maxReplayFrames: number;
  replayPageSize: number;
  /** Positions older than this (by the time in their offset) are beyond the replay window. */
  maxPositionAgeMs: number;
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
export async function replayInto(socket: Socket, rooms: string[], from: StreamPosition, ctx: ReplayContext): Promise<ReplayResult> {
  const { log, gate } = ctx;
  gate.hold(socket);
  socket.join(rooms);
  const joinedAt = ctx.readerOffset();
  const notRecovered = async (reason: string): Promise<ReplayResult> => {
    const released = gate.release(socket.id, null);
    const epoch = await log.epoch();
    // Live frames after the join are guaranteed from `joinedAt` on; if some had to be dropped while
    // holding, only from what the reader has delivered now.
    return { recovered: false, reason, position: { epoch, offset: released ? joinedAt : ctx.readerOffset() } };
  };
  try {
    // Age on the stream's own clock (the reader's offset, kept fresh by heartbeats), not this host's.
    if (offsetTimeMs(from.offset) < offsetTimeMs(joinedAt) - ctx.maxPositionAgeMs) return await notRecovered('window-expired');
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
    for (const { offset, frame } of frames) sendToSocket(socket, EVENTS.event, frame, offset);
    gate.release(socket.id, head.offset);
    return { recovered: true, replayed: frames.length, position: head };
  } catch (err) {
    gate.release(socket.id, null);
    throw err;
  }
}
