import { TokenBucket } from './token-bucket';

test('a bucket allows its burst at once, then its rate, and says how long to wait', () => {
  const bucket = new TokenBucket(10, 3, 0);
  expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 0]);
  expect(bucket.take(0)).toBe(100);
  expect(bucket.take(50)).toBe(50);
  expect(bucket.take(100)).toBe(0);
  expect(bucket.take(100)).toBe(100);
  // Idle for long: refilled to the burst, never beyond.
  expect([bucket.take(60_000), bucket.take(60_000), bucket.take(60_000), bucket.take(60_000)]).toEqual([0, 0, 0, 100]);
});
