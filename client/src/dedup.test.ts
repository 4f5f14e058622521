import { DedupCache } from './dedup';

test('a repeated id within the TTL is a duplicate; after the TTL it is new again', () => {
  let now = 1000;
  const cache = new DedupCache({ ttlMs: 100, maxEntries: 10, now: () => now });
  expect(cache.add('a')).toBe(true);
  expect(cache.add('a')).toBe(false);
  now += 99;
  expect(cache.add('a')).toBe(false);
  now += 1;
  expect(cache.has('a')).toBe(false);
  expect(cache.add('a')).toBe(true);
});

test('the cache never holds more than maxEntries, evicting the oldest', () => {
  const cache = new DedupCache({ ttlMs: 60_000, maxEntries: 3 });
  for (const id of ['a', 'b', 'c', 'd']) expect(cache.add(id)).toBe(true);
  expect(cache.size).toBe(3);
  expect(cache.has('a')).toBe(false);
  expect(cache.has('d')).toBe(true);
});

test('expired entries are dropped as new ones arrive, so the size follows the rate, not the history', () => {
  let now = 0;
  const timed = new DedupCache({ ttlMs: 10, maxEntries: 1_000_000, now: () => now });
  for (let i = 0; i < 10_000; i++) {
    now += 1;
    timed.add(`e${i}`);
  }
  expect(timed.size).toBeLessThanOrEqual(10);
});
