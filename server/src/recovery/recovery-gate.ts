import { compareOffsets, EVENTS, type DeliveryFrame } from '@roomwire/shared';
import type { Socket } from 'socket.io';
import { sendToSocket } from '../delivery/send-to-socket';

interface Held {
  socket: Socket;
  pending: { offset: string; frame: DeliveryFrame }[];
  overflowed: boolean;
}

/**
 * Holds live frames back from sockets that are being replayed to, so that a replay and the live
 * stream join without a gap, a duplicate or a reordering: the socket joins its rooms first, live
 * frames for it are held here while the missed range is read, and on release only held frames newer
 * than the replayed range are sent.
 */
export class RecoveryGate {
  readonly #held = new Map<string, Held>();
  readonly #maxPendingFrames: number;

  constructor(maxPendingFrames: number) {
    this.#maxPendingFrames = maxPendingFrames;
  }

  /** Number of sockets currently held. */
  get size(): number {
    return this.#held.size;
  }

  /** Ids of the held sockets. */
  heldIds(): string[] {
    return [...this.#held.keys()];
  }

  /** Whether `socketId` is held (its live frames are being buffered). */
  isHeld(socketId: string): boolean {
    return this.#held.has(socketId);
  }

  /** Whether frames for `socketId` had to be dropped while holding (its replay cannot be whole). */
  hasOverflowed(socketId: string): boolean {
    return this.#held.get(socketId)?.overflowed ?? false;
  }

  /** Starts holding live frames for `socket`. */
  hold(socket: Socket): void {
    this.#held.set(socket.id, { socket, pending: [], overflowed: false });
  }

  /**
   * Called for each durable broadcast before local delivery. Buffers the frame for every held socket
   * in `rooms` and adds those sockets to `except`, so the broadcast itself skips them.
   */
  intercept(rooms: Iterable<string>, except: { add(id: string): unknown }, frame: DeliveryFrame | (() => DeliveryFrame), offset: string): void {
    if (this.#held.size === 0) return;
    const targets = [...rooms];
    for (const [id, held] of this.#held) {
      if (!targets.some((room) => held.socket.rooms.has(room))) continue;
      except.add(id);
      if (held.pending.length >= this.#maxPendingFrames) held.overflowed = true;
      else held.pending.push({ offset, frame: typeof frame === 'function' ? frame() : frame });
    }
  }

  /**
   * Stops holding `socketId` and sends its held frames newer than `replayedThrough` (all of them when
   * `null`). Returns false, sending nothing, when frames had to be dropped while holding.
   */
  release(socketId: string, replayedThrough: string | null): boolean {
    const held = this.#held.get(socketId);
    if (!held) return true;
    this.#held.delete(socketId);
    if (held.overflowed) return false;
    for (const { offset, frame } of held.pending) {
      if (replayedThrough !== null && compareOffsets(offset, replayedThrough) <= 0) continue;
      sendToSocket(held.socket, EVENTS.event, frame, offset);
    }
    return true;
  }

  /** Forgets a socket that disconnected while held. */
  drop(socketId: string): void {
    this.#held.delete(socketId);
  }
}
