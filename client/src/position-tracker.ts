import { compareOffsets, type StreamPosition } from '@roomwire/shared';

/**
 * The position a client holds in its stream, moved by every durable frame without allocating: a
 * frame's offset is kept as a string and the {@link StreamPosition} object is built only when read.
 *
 * @example
 * const tracker = new PositionTracker(null);
 * tracker.set({ epoch: 'e1', offset: '5-0' }, true);
 * tracker.advanceOffset('6-0');
 * tracker.current; // { epoch: 'e1', offset: '6-0' }
 */
export class PositionTracker {
  #position: StreamPosition | null;
  /** A frame's offset newer than `#position`, in its epoch, not yet folded into it. */
  #pending: string | null = null;

  constructor(start: StreamPosition | null) {
    this.#position = start;
  }

  /** The position held (a new object only when a frame moved it since the last read). */
  get current(): StreamPosition | null {
    if (this.#pending !== null && this.#position !== null) {
      this.#position = { epoch: this.#position.epoch, offset: this.#pending };
      this.#pending = null;
    }
    return this.#position;
  }

  /** Epoch of the position held, `null` while none is. */
  get epoch(): string | null {
    return this.#position === null ? null : this.#position.epoch;
  }

  /** A durable frame's offset in the current epoch: moves the position forward only. Returns whether it moved. */
  advanceOffset(offset: string): boolean {
    if (this.#position === null) return false;
    if (compareOffsets(offset, this.#pending ?? this.#position.offset) <= 0) return false;
    this.#pending = offset;
    return true;
  }

  /** A frame's position as `epoch` and `offset` (allocates only when the epoch is not the current one). */
  advanceTo(epoch: string, offset: string): boolean {
    return epoch === this.epoch ? this.advanceOffset(offset) : this.set({ epoch, offset });
  }

  /**
   * A newer position (another epoch counts as newer: it replaces the old one), or with `replace` any
   * position (an ack's, which the server vouches for). Returns whether it was taken.
   */
  set(candidate: StreamPosition, replace = false): boolean {
    const current = this.current;
    if (!replace && current !== null && current.epoch === candidate.epoch && compareOffsets(candidate.offset, current.offset) <= 0) return false;
    this.#position = candidate;
    this.#pending = null;
    return true;
  }
}
