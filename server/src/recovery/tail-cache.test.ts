import type { EncodedFrame } from '../stream/adapter-message';
import { TailCache } from './tail-cache';

const frame = (id: string) => ({ events: [{ id, org: 'a', service: 'billing', type: 'invoice.paid', ts: 0, data: {} }] });
const encoded = (rooms: string[], id: string): EncodedFrame => ({ rooms, json: JSON.stringify(frame(id)), events: 1, firstTs: 0, frame: () => frame(id) });

test('covers nothing until started, then every offset from the start on', () => {
  const cache = new TailCache({ maxAgeMs: 60_000, maxBytes: 1_000_000 });
  cache.append('1-1', encoded(['r'], 'a'), 10);
  expect(cache.size).toBe(0);
  expect(cache.covers('1-1')).toBe(false);
  cache.start('1-1');
  cache.append('1-2', encoded(['r'], 'b'), 10);
  cache.append('1-3', encoded(['s'], 'c'), 10);
  expect(cache.covers('1-0')).toBe(false);
  expect(cache.covers('1-1')).toBe(true);
  expect(cache.readAfter('1-1', 10).entries.map((e) => e.offset)).toEqual(['1-2', '1-3']);
  expect(cache.readAfter('1-2', 10)).toEqual({ entries: [{ offset: '1-3', rooms: ['s'], frame: frame('c') }], cursor: '1-3' });
  expect(cache.readAfter('1-3', 10)).toEqual({ entries: [], cursor: null });
});

test('eviction by bytes moves coverage forward: an evicted range is never served partially', () => {
  const cache = new TailCache({ maxAgeMs: 60_000, maxBytes: 25 });
  cache.start('1-0');
  for (let i = 1; i <= 5; i++) cache.append(`1-${i}`, encoded(['r'], String(i)), 10);
  expect(cache.bytes).toBeLessThanOrEqual(25);
  expect(cache.size).toBe(2);
  expect(cache.covers('1-2')).toBe(false);
  expect(cache.covers('1-3')).toBe(true);
  expect(cache.readAfter('1-3', 10).entries.map((e) => e.offset)).toEqual(['1-4', '1-5']);
});

test('eviction by age', () => {
  const now = jest.spyOn(Date, 'now').mockReturnValue(1000);
  try {
    const cache = new TailCache({ maxAgeMs: 100, maxBytes: 1_000_000 });
    cache.start('1-0');
    cache.append('1-1', encoded(['r'], 'a'), 10);
    now.mockReturnValue(1050);
    cache.append('1-2', encoded(['r'], 'b'), 10);
    now.mockReturnValue(1101);
    expect(cache.covers('1-0')).toBe(false);
    expect(cache.covers('1-1')).toBe(true);
    expect(cache.size).toBe(1);
  } finally {
    now.mockRestore();
  }
});
