import type { EventEnvelope } from '@roomwire/shared';
import type { ValidatedPublish } from '../publish/publish-request';
import type { AppendResult } from '../stream/event-log';
import { RoomBatcher, resolveBatchingOptions, batchingDefaults } from './room-batcher';

interface Sent {
  room: string;
  ids: string[];
  at: number;
}

function setup(options = batchingDefaults): { batcher: RoomBatcher; sent: Sent[] } {
  const sent: Sent[] = [];
  let offset = 0;
  const batcher = new RoomBatcher(async (room, frame, appendOptions): Promise<AppendResult> => {
    sent.push({ room, ids: frame.events.map((e) => e.id), at: Date.now() });
    offset += 1;
    return { offset: appendOptions.volatile ? null : `1-${offset}` };
  }, options);
  return { batcher, sent };
}

let seq = 0;
function event(room = 'org:a:svc:billing', extra: Partial<ValidatedPublish> = {}): ValidatedPublish & { bytes: number } {
  seq += 1;
  const envelope: EventEnvelope = { id: `e${seq}`, org: 'a', service: 'billing', type: 'invoice.paid', ts: 0, data: {} };
  return { envelope, bytes: 100, room, volatile: false, ...extra };
}

beforeEach(() => {
  jest.useFakeTimers();
  seq = 0;
});
afterEach(() => jest.useRealTimers());

test('a lone event is sent at once, not after the window', async () => {
  const { batcher, sent } = setup();
  const result = batcher.submit(event());
  expect(sent).toHaveLength(1);
  await expect(result).resolves.toEqual({ offset: '1-1' });
  jest.advanceTimersByTime(20);
  expect(sent).toHaveLength(1);
  expect(batcher.openRooms).toBe(0);
});

/** The window alone: every event after the first waits for it. */
const holdAfterFirst = { ...batchingDefaults, leadingEvents: 1 };

test('events within the window after the first are coalesced into one frame, in order', async () => {
  const { batcher, sent } = setup(holdAfterFirst);
  const first = batcher.submit(event());
  const rest = [batcher.submit(event()), batcher.submit(event()), batcher.submit(event())];
  expect(sent.map((s) => s.ids)).toEqual([['e1']]);
  jest.advanceTimersByTime(19);
  expect(sent).toHaveLength(1);
  jest.advanceTimersByTime(1);
  expect(sent.map((s) => s.ids)).toEqual([['e1'], ['e2', 'e3', 'e4']]);
  await expect(first).resolves.toEqual({ offset: '1-1' });
  // One batch, one stream entry, one offset for all its events.
  expect(await Promise.all(rest)).toEqual([{ offset: '1-2' }, { offset: '1-2' }, { offset: '1-2' }]);
});

test('by default the first two events of a window go at once: a room with a few events a second never waits', async () => {
  const { batcher, sent } = setup();
  const results = [batcher.submit(event()), batcher.submit(event())];
  expect(sent.map((s) => s.ids)).toEqual([['e1'], ['e2']]);
  await expect(Promise.all(results)).resolves.toEqual([{ offset: '1-1' }, { offset: '1-2' }]);
  jest.advanceTimersByTime(20);
  // The window held nothing back: the room is idle again, and its next event leads a new window.
  expect(batcher.openRooms).toBe(0);
  void batcher.submit(event());
  void batcher.submit(event());
  expect(sent.map((s) => s.ids)).toEqual([['e1'], ['e2'], ['e3'], ['e4']]);
});

test('from the third event of a window on, a burst is coalesced, and a busy room keeps batching', () => {
  const { batcher, sent } = setup();
  for (let i = 0; i < 6; i++) void batcher.submit(event());
  expect(sent.map((s) => s.ids)).toEqual([['e1'], ['e2']]);
  jest.advanceTimersByTime(20);
  expect(sent.map((s) => s.ids)).toEqual([['e1'], ['e2'], ['e3', 'e4', 'e5', 'e6']]);
  // The window after a busy one sends nothing at once.
  void batcher.submit(event());
  void batcher.submit(event());
  expect(sent).toHaveLength(3);
  jest.advanceTimersByTime(20);
  expect(sent.map((s) => s.ids.length)).toEqual([1, 1, 4, 2]);
  jest.advanceTimersByTime(20);
  expect(batcher.openRooms).toBe(0);
});

test('a steady stream flows as one frame per window; a quiet window lets the room go idle', async () => {
  const { batcher, sent } = setup(holdAfterFirst);
  void batcher.submit(event());
  for (let w = 0; w < 3; w++) {
    void batcher.submit(event());
    void batcher.submit(event());
    jest.advanceTimersByTime(20);
  }
  expect(sent.map((s) => s.ids.length)).toEqual([1, 2, 2, 2]);
  jest.advanceTimersByTime(20);
  expect(batcher.openRooms).toBe(0);
  void batcher.submit(event());
  expect(sent.map((s) => s.ids.length)).toEqual([1, 2, 2, 2, 1]);
});

test('a frame is sent early when it reaches maxBatchEvents', () => {
  const { batcher, sent } = setup({ ...holdAfterFirst, maxBatchEvents: 3 });
  for (let i = 0; i < 8; i++) void batcher.submit(event());
  expect(sent.map((s) => s.ids.length)).toEqual([1, 3, 3]);
  jest.advanceTimersByTime(20);
  expect(sent.map((s) => s.ids.length)).toEqual([1, 3, 3, 1]);
});

test('a frame never exceeds maxBatchBytes', () => {
  const { batcher, sent } = setup({ ...holdAfterFirst, maxBatchBytes: 250 });
  for (let i = 0; i < 6; i++) void batcher.submit(event());
  jest.advanceTimersByTime(20);
  // 100 bytes each: the leading event alone, then frames of two (a third would pass 250).
  expect(sent.map((s) => s.ids.length)).toEqual([1, 2, 2, 1]);
});

test('rooms are batched independently', () => {
  const { batcher, sent } = setup(holdAfterFirst);
  void batcher.submit(event('org:a:svc:billing'));
  void batcher.submit(event('org:b:svc:billing'));
  void batcher.submit(event('org:a:svc:billing'));
  void batcher.submit(event('org:b:svc:billing'));
  expect(sent.map((s) => s.room)).toEqual(['org:a:svc:billing', 'org:b:svc:billing']);
  jest.advanceTimersByTime(20);
  expect(sent.map((s) => [s.room, s.ids])).toEqual([
    ['org:a:svc:billing', ['e1']],
    ['org:b:svc:billing', ['e2']],
    ['org:a:svc:billing', ['e3']],
    ['org:b:svc:billing', ['e4']],
  ]);
});

test('an event with an idempotency key goes alone, after what the room had queued', () => {
  const { batcher, sent } = setup(holdAfterFirst);
  void batcher.submit(event());
  void batcher.submit(event());
  void batcher.submit(event('org:a:svc:billing', { idempotencyKey: 'k' }));
  void batcher.submit(event());
  jest.advanceTimersByTime(20);
  expect(sent.map((s) => s.ids)).toEqual([['e1'], ['e2'], ['e3'], ['e4']]);
});

test('flushAll sends everything queued at once (close)', async () => {
  const { batcher, sent } = setup(holdAfterFirst);
  void batcher.submit(event());
  const queued = [batcher.submit(event()), batcher.submit(event())];
  await batcher.flushAll();
  expect(sent.map((s) => s.ids)).toEqual([['e1'], ['e2', 'e3']]);
  await expect(Promise.all(queued)).resolves.toHaveLength(2);
  expect(batcher.openRooms).toBe(0);
});

test('a failed append rejects every event of its frame', async () => {
  const batcher = new RoomBatcher(async () => {
    throw new Error('redis down');
  }, holdAfterFirst);
  const first = batcher.submit(event());
  const rest = [batcher.submit(event()), batcher.submit(event())];
  await expect(first).rejects.toThrow('redis down');
  jest.advanceTimersByTime(20);
  for (const r of rest) await expect(r).rejects.toThrow('redis down');
});

test('batching options are checked, and false turns batching off', () => {
  expect(resolveBatchingOptions(undefined, 'x')).toEqual({ batchWindowMs: 20, maxBatchEvents: 100, maxBatchBytes: 65_536, leadingEvents: 2 });
  expect(() => resolveBatchingOptions({ leadingEvents: 0 }, 'createPublisher')).toThrow('createPublisher: batching.leadingEvents must be a positive integer');
  expect(resolveBatchingOptions(false, 'x')).toBe(false);
  expect(() => resolveBatchingOptions({ batchWindowMs: 0 }, 'createNode')).toThrow('createNode: batching.batchWindowMs must be a positive integer');
});
