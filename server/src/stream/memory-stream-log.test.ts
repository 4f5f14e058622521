import type { PlainFrame } from '@roomwire/shared';
import { MemoryStreamLog } from './memory-stream-log';

const frame = (id: string): PlainFrame => ({ events: [{ id, org: 'a', service: 'billing', type: 'invoice.paid', ts: 0, data: {} }] });

function boundLog(maxIdempotencyKeys: number): MemoryStreamLog {
  const log = new MemoryStreamLog({ replayWindowMs: 60_000, maxStreamLength: 1_000_000, maxIdempotencyKeys, compressFramesMinBytes: 0 });
  log.bind((room, f) => log.record([room], f));
  return log;
}

const keyed = (key: string) => ({ volatile: false, idempotency: { key, eventId: `evt-${key}` } });

test('idempotency keys: a repeated key returns the first append; the count never passes the cap, the oldest key leaving first', async () => {
  const log = boundLog(100);
  const first = await log.append('r', frame('evt-k0'), keyed('k0'));
  expect(first.duplicateOf).toBeUndefined();
  expect(await log.append('r', frame('evt-k0'), keyed('k0'))).toEqual({ offset: first.offset, duplicateOf: { id: 'evt-k0', offset: first.offset } });
  for (let i = 1; i < 5000; i++) await log.append('r', frame(`evt-k${i}`), keyed(`k${i}`));
  expect(log.idempotencyKeys).toBe(100);
  // The newest 100 keys are remembered; k0 left long ago and is a new publish again.
  expect((await log.append('r', frame('evt-k4999'), keyed('k4999'))).duplicateOf).toEqual({ id: 'evt-k4999', offset: expect.any(String) });
  expect((await log.append('r', frame('evt-k4900'), keyed('k4900'))).duplicateOf).toBeDefined();
  expect((await log.append('r', frame('evt-k0'), keyed('k0'))).duplicateOf).toBeUndefined();
  expect(log.idempotencyKeys).toBe(100);
});

test('idempotency keys expire with the replay window, and a key used again after that is remembered afresh', async () => {
  const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
  try {
    const log = boundLog(100);
    await log.append('r', frame('evt-a'), keyed('a'));
    now.mockReturnValue(1_000_000 + 60_001);
    const again = await log.append('r', frame('evt-a'), keyed('a'));
    expect(again.duplicateOf).toBeUndefined();
    expect(log.idempotencyKeys).toBe(1);
    now.mockReturnValue(1_000_000 + 60_002);
    expect((await log.append('r', frame('evt-a'), keyed('a'))).duplicateOf).toEqual({ id: 'evt-a', offset: again.offset });
  } finally {
    now.mockRestore();
  }
});
