/**
 * The stream keeps entries a quarter longer than the replay window. A client's position can be older
 * than its disconnect by up to two position intervals (watermark and heartbeat lag, each at most a
 * tenth of the window), so a client away for the whole window still finds its position in the stream.
 */
export const RETENTION_FACTOR = 1.25;

/** How long the stream keeps entries for a replay window, in ms. */
export function retentionMs(replayWindowMs: number): number {
  return Math.ceil(replayWindowMs * RETENTION_FACTOR);
}

/** The time part (ms) of a stream offset `ms-seq`. */
export function offsetTimeMs(offset: string): number {
  return Number(offset.slice(0, offset.indexOf('-')));
}
