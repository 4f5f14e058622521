import { OffsetWindow } from './offset-window';

test('reads after an offset, evicts from the front, and stays correct across compactions', () => {
  const window = new OffsetWindow<{ offset: string; n: number }>();
  for (let n = 1; n <= 5000; n++) window.push({ offset: `1-${n}`, n });
  expect(window.after('1-0', 3).map((e) => e.n)).toEqual([1, 2, 3]);
  expect(window.after('1-4998', 10).map((e) => e.n)).toEqual([4999, 5000]);
  expect(window.after('1-5000', 10)).toEqual([]);
  const evicted: number[] = [];
  window.evictWhile((oldest) => oldest.n <= 3000, (e) => evicted.push(e.n));
  expect(evicted).toHaveLength(3000);
  expect(window.size).toBe(2000);
  expect(window.evictedThrough).toBe('1-3000');
  // An offset before the window starts at the window's first entry.
  expect(window.after('1-10', 2).map((e) => e.n)).toEqual([3001, 3002]);
  window.push({ offset: '1-5001', n: 5001 });
  expect(window.after('1-4999', 5).map((e) => e.n)).toEqual([5000, 5001]);
});

test('reads a bounded range', () => {
  const window = new OffsetWindow<{ offset: string; n: number }>();
  for (let n = 1; n <= 10; n++) window.push({ offset: `1-${n}`, n });
  expect(window.range('1-2', '1-5', 100).map((e) => e.n)).toEqual([3, 4, 5]);
  expect(window.range('1-2', '1-5', 2).map((e) => e.n)).toEqual([3, 4]);
  expect(window.range('1-0', '1-1', 100).map((e) => e.n)).toEqual([1]);
  expect(window.range('1-5', '1-5', 100)).toEqual([]);
  expect(window.range('1-10', '2-0', 100)).toEqual([]);
});

test('a small window that churns keeps its slots near its size (evicted slots are compacted away)', () => {
  const window = new OffsetWindow<{ offset: string; n: number }>();
  for (let n = 1; n <= 100_000; n++) {
    window.push({ offset: `1-${n}`, n });
    window.evictWhile((oldest) => oldest.n <= n - 5);
  }
  expect(window.size).toBe(5);
  expect(window.slots).toBeLessThanOrEqual(2 * 16 + 5);
  expect(window.after('1-99997', 10).map((e) => e.n)).toEqual([99_998, 99_999, 100_000]);
});
