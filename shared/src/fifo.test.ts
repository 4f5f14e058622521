import { Fifo } from './fifo';

test('items leave from the front, in order, and are read by position from the oldest', () => {
  const queue = new Fifo<number>();
  for (let n = 1; n <= 5; n++) queue.push(n);
  const evicted: number[] = [];
  queue.evictWhile((oldest) => oldest <= 2, (n) => evicted.push(n));
  expect(evicted).toEqual([1, 2]);
  expect(queue.size).toBe(3);
  expect([queue.at(0), queue.at(2), queue.at(3), queue.at(-1)]).toEqual([3, 5, undefined, undefined]);
});

test('a queue that churns keeps its slots near its size (evicted slots are compacted away)', () => {
  const queue = new Fifo<number>();
  for (let n = 1; n <= 100_000; n++) {
    queue.push(n);
    queue.evictWhile((oldest) => oldest <= n - 5);
  }
  expect(queue.size).toBe(5);
  expect(queue.slots).toBeLessThanOrEqual(2 * 16 + 5);
  expect(queue.at(0)).toBe(99_996);
});
