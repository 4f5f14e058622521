/**
 * A token bucket: holds at most `burst` tokens and gains `ratePerSecond` a second. Each action takes
 * one; when none is left the action is refused, and {@link TokenBucket.take} says how long until the
 * next token. One per connection (client publishes): a few numbers, gone with the connection.
 *
 * @example
 * const bucket = new TokenBucket(10, 20);
 * const waitMs = bucket.take();
 * if (waitMs > 0) refuse(`retry in ${waitMs} ms`);
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number = performance.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes a token: 0 when taken, else the ms until one is available (nothing taken). */
  take(now: number = performance.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}
