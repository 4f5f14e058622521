import { PositionDedup } from './position-dedup';
import { PositionTracker } from './position-tracker';

test('within an epoch, a frame at or below the last delivered offset is a duplicate', () => {
  const dedup = new PositionDedup();
  expect(dedup.accept('e1', '100-0')).toBe(true);
  expect(dedup.accept('e1', '100-1')).toBe(true);
  expect(dedup.accept('e1', '100-1')).toBe(false);
  expect(dedup.accept('e1', '99-5')).toBe(false);
  // Offsets compare as numbers, not as strings ("1000-0" is after "999-9").
  expect(dedup.accept('e1', '999-9')).toBe(true);
  expect(dedup.accept('e1', '1000-0')).toBe(true);
  expect(dedup.last).toEqual({ epoch: 'e1', offset: '1000-0' });
});

test('volatile frames (no offset) are never duplicates and move nothing', () => {
  const dedup = new PositionDedup();
  expect(dedup.accept('e1', '5-0')).toBe(true);
  expect(dedup.accept('e1', null)).toBe(true);
  expect(dedup.accept('e1', null)).toBe(true);
  expect(dedup.last).toEqual({ epoch: 'e1', offset: '5-0' });
});

test('another epoch starts the count again; so does a resync', () => {
  const dedup = new PositionDedup();
  expect(dedup.accept('e1', '500-0')).toBe(true);
  // The stream moved backwards: the new epoch's offsets may be lower.
  expect(dedup.accept('e2', '10-0')).toBe(true);
  expect(dedup.accept('e2', '10-0')).toBe(false);
  dedup.reset();
  expect(dedup.last).toBeNull();
  expect(dedup.accept('e2', '9-0')).toBe(true);
});

test('the tracker moves forward with frames, builds the position only when read, and takes any acked position', () => {
  const tracker = new PositionTracker(null);
  expect(tracker.advanceOffset('5-0')).toBe(false);
  expect(tracker.current).toBeNull();
  expect(tracker.set({ epoch: 'e1', offset: '5-0' })).toBe(true);
  expect(tracker.advanceOffset('6-0')).toBe(true);
  expect(tracker.advanceOffset('5-9')).toBe(false);
  const first = tracker.current;
  expect(first).toEqual({ epoch: 'e1', offset: '6-0' });
  // Read again without a change: the same object.
  expect(tracker.current).toBe(first);
  expect(tracker.set({ epoch: 'e1', offset: '6-0' })).toBe(false);
  // An ack's position replaces even a lower one; a new epoch replaces without `replace`.
  expect(tracker.set({ epoch: 'e1', offset: '4-0' }, true)).toBe(true);
  expect(tracker.current).toEqual({ epoch: 'e1', offset: '4-0' });
  expect(tracker.advanceTo('e2', '1-0')).toBe(true);
  expect(tracker.current).toEqual({ epoch: 'e2', offset: '1-0' });
  expect(tracker.advanceTo('e2', '2-0')).toBe(true);
  expect(tracker.epoch).toBe('e2');
  expect(tracker.current).toEqual({ epoch: 'e2', offset: '2-0' });
});
