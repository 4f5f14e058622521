import { compareOffsets } from '@roomwire/shared';

/**
 * Drops durable frames this client has already delivered, by their stream position instead of by the
 * ids of their events: one comparison of two strings per frame, no memory per event, no expiry.
 *
 * Why a position is enough (see docs/decisions.md, "Deduplication by stream position"): a connection
 * belongs to one org, and an org's events live in one partition stream, so every durable frame a
 * connection gets carries an offset of that one stream. Within an epoch (one lifetime of the stream)
 * offsets strictly increase, and a connection gets its rooms' frames in offset order (live frames in
 * the reader's order; a replay, then the live frames held back meanwhile, newer than the replay). So a
 * frame at or below the last delivered offset of the same epoch was delivered before: a replay that
 * started from an older position, or a tab that took over the connection. A new epoch starts with a
 * resync (the client reloads state), after which counting starts again. Volatile frames carry no
 * offset and are never replayed: they are never duplicates.
 *
 * @example
 * const dedup = new PositionDedup();
 * if (dedup.accept(epoch, offset)) deliver(events);
 */
export class PositionDedup {
  #epoch: string | null = null;
  #offset: string | null = null;

  /** The last delivered position (epoch `null` when the frame came before any position was known). */
  get last(): { epoch: string | null; offset: string } | null {
    return this.#offset === null ? null : { epoch: this.#epoch, offset: this.#offset };
  }

  /**
   * Whether the frame at `offset` of `epoch` is new; records it when it is. `offset` `null` (a
   * volatile frame) is always new and changes nothing.
   */
  accept(epoch: string | null, offset: string | null): boolean {
    if (offset === null) return true;
    if (this.#offset !== null && epoch === this.#epoch && isAtOrBelow(offset, this.#offset)) return false;
    this.#epoch = epoch;
    this.#offset = offset;
    return true;
  }

  /** Continuity is gone (a resync): the next frame starts the count again. */
  reset(): void {
    this.#epoch = null;
    this.#offset = null;
  }
}

/** Why: within one epoch a delivered frame's offset is a high-water mark: nothing at or below it is new. */
export function isAtOrBelow(offset: string, mark: string): boolean {
  return compareOffsets(offset, mark) <= 0;
}
