import type { EncodedFrame } from '../stream/stream-entry';
import { TailCache } from './tail-cache';

const frame = (id: string) => ({ events: [{ id, org: 'a', service: 'billing', type: 'invoice.paid', ts: 0, data: {} }] });
const encoded = (rooms: string[], id: string, bytes = 10): EncodedFrame => ({ rooms, json: JSON.stringify(frame(id)), deflated: undefined, events: 1, firstTs: 0, bytes, frame: () => frame(id) });

test('covers nothing until started, then every offset from the start on', () => {
  const cache = new TailCache({ maxAgeMs: 60_000, maxBytes: 1_000_000 });
  cache.append('1-1', encoded(['r'], 'a', 10));
  expect(cache.size).toBe(0);
  expect(cache.covers('1-1')).toBe(false);
  cache.start('1-1');
  cache.append('1-2', encoded(['r'], 'b', 10));
  cache.append('1-3', encoded(['s'], 'c', 10));
  expect(cache.covers('1-0')).toBe(false);
  expect(cache.covers('1-1')).toBe(true);
  expect(cache.readRooms(['r', 's'], '1-1', '1-3', 10).map((e) => e.offset)).toEqual(['1-2', '1-3']);
  expect(cache.readRooms(['r', 's'], '1-2', '1-3', 10)).toEqual([{ offset: '1-3', rooms: ['s'], frame: frame('c') }]);
  expect(cache.readRooms(['r', 's'], '1-3', '1-3', 10)).toEqual([]);
});

test('eviction by bytes moves coverage forward: an evicted range is never served partially', () => {
  const cache = new TailCache({ maxAgeMs: 60_000, maxBytes: 25 });
  cache.start('1-0');
  for (let i = 1; i <= 5; i++) cache.append(`1-${i}`, encoded(['r'], String(i), 10));
  expect(cache.bytes).toBeLessThanOrEqual(25);
  expect(cache.size).toBe(2);
  expect(cache.covers('1-2')).toBe(false);
  expect(cache.covers('1-3')).toBe(true);
  expect(cache.readRooms(['r'], '1-3', '1-9', 10).map((e) => e.offset)).toEqual(['1-4', '1-5']);
});

test('eviction by age', () => {
  const now = jest.spyOn(Date, 'now').mockReturnValue(1000);
  try {
    const cache = new TailCache({ maxAgeMs: 100, maxBytes: 1_000_000 });
    cache.start('1-0');
    cache.append('1-1', encoded(['r'], 'a', 10));
    now.mockReturnValue(1050);
    cache.append('1-2', encoded(['r'], 'b', 10));
    now.mockReturnValue(1101);
    expect(cache.covers('1-0')).toBe(false);
    expect(cache.covers('1-1')).toBe(true);
    expect(cache.size).toBe(1);
  } finally {
    now.mockRestore();
  }
});

test('reads by room: only the rooms asked for, in offset order, an entry in several of them once, bounded by `through` and `limit`', () => {
  const cache = new TailCache({ maxAgeMs: 60_000, maxBytes: 1_000_000 });
  cache.start('1-0');
  cache.append('1-1', encoded(['a'], '1', 10));
  cache.append('1-2', encoded(['b'], '2', 10));
  cache.append('1-3', encoded(['a', 'b'], '3', 10));
  cache.append('1-4', encoded(['c'], '4', 10));
  cache.append('1-5', encoded(['b'], '5', 10));
  cache.append('1-6', encoded(['a'], '6', 10));
  expect(cache.readRooms(['a'], '1-0', '1-9', 10).map((e) => e.offset)).toEqual(['1-1', '1-3', '1-6']);
  expect(cache.readRooms(['b', 'a'], '1-1', '1-9', 10).map((e) => e.offset)).toEqual(['1-2', '1-3', '1-5', '1-6']);
  expect(cache.readRooms(['b', 'a'], '1-1', '1-5', 10).map((e) => e.offset)).toEqual(['1-2', '1-3', '1-5']);
  expect(cache.readRooms(['b', 'a'], '1-0', '1-9', 3).map((e) => e.offset)).toEqual(['1-1', '1-2', '1-3']);
  expect(cache.readRooms(['nobody'], '1-0', '1-9', 10)).toEqual([]);
});

test('eviction empties the room index too (it is bounded by the cache)', () => {
  const cache = new TailCache({ maxAgeMs: 60_000, maxBytes: 30 });
  cache.start('1-0');
  for (let i = 1; i <= 100; i++) cache.append(`1-${i}`, encoded([`room-${i}`, 'all'], String(i), 10));
  expect(cache.size).toBe(3);
  expect(cache.roomCount).toBe(4);
  expect(cache.readRooms(['all'], '1-0', '1-999', 100).map((e) => e.offset)).toEqual(['1-98', '1-99', '1-100']);
  expect(cache.readRooms(['room-50'], '1-0', '1-999', 100)).toEqual([]);
});
