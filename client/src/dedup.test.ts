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

test('a full cache keeps evicting its oldest ids one by one and still catches recent duplicates', () => {
  let now = 0;
  const cache = new DedupCache({ ttlMs: 1_000_000, maxEntries: 100, now: () => now });
  for (let i = 0; i < 50_000; i++) {
    now += 1;
    expect(cache.add(`e${i}`)).toBe(true);
  }
  expect(cache.size).toBe(100);
  expect(cache.add('e49999')).toBe(false);
  expect(cache.add('e49900')).toBe(false);
  // e49899 was the last one evicted for room: it is new again, and evicts e49900.
  expect(cache.has('e49899')).toBe(false);
  expect(cache.add('e49899')).toBe(true);
  expect(cache.has('e49900')).toBe(false);
  expect(cache.size).toBe(100);
});

test('expiry and the size bound together: an expired id is forgotten even in a full cache', () => {
  let now = 0;
  const cache = new DedupCache({ ttlMs: 10, maxEntries: 3, now: () => now });
  for (const id of ['a', 'b', 'c']) expect(cache.add(id)).toBe(true);
  now = 5;
  expect(cache.add('d')).toBe(true); // evicts a (size)
  expect(cache.has('a')).toBe(false);
  now = 10; // b and c expire (added at 0)
  expect(cache.size).toBe(3);
  expect(cache.has('d')).toBe(true);
  expect(cache.size).toBe(1);
  expect(cache.add('b')).toBe(true);
});
