import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { DeadlineExpired, DeadlineSlots } from './deadline-slots';

/** A command that settles only when told to, with the abort signal it was started with. */
function pending<T>(): { start: (signal: AbortSignal) => Promise<T>; signal: () => AbortSignal; settle: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  let seen: AbortSignal | undefined;
  return {
    start: (signal) => {
      seen = signal;
      return new Promise<T>((r) => (resolve = r));
    },
    signal: () => seen as AbortSignal,
    settle: (value) => resolve(value),
  };
}

test('a command that answers in time settles with its reply; the slot then expires with nobody waiting', async () => {
  const slots = new DeadlineSlots(40, 10);
  const command = pending<string>();
  const reply = slots.run(command.start);
  command.settle('ok');
  await expect(reply).resolves.toBe('ok');
  expect(command.signal().aborted).toBe(false);
});

describe('on a controlled clock', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  test('a command without a reply rejects with DeadlineExpired between its timeout and one slot later; its abort signal fires', async () => {
    const slots = new DeadlineSlots(40, 10);
    const command = pending<string>();
    jest.setSystemTime(1_000_003);
    const reply = slots.run(command.start);
    let outcome: unknown;
    reply.catch((err: unknown) => (outcome = err));
    await jest.advanceTimersByTimeAsync(39);
    expect(outcome).toBeUndefined();
    expect(command.signal().aborted).toBe(false);
    // The slot of 1_000_043 ends at 1_000_050.
    await jest.advanceTimersByTimeAsync(8);
    expect(outcome).toBeInstanceOf(DeadlineExpired);
    expect(command.signal().aborted).toBe(true);
    expect(slots.open).toBe(0);
  });

  test('commands started within one slot share it: one expires, the one that answered does not', async () => {
    const slots = new DeadlineSlots(40, 1000);
    const answered = pending<number>();
    const silent = pending<number>();
    const first = slots.run(answered.start);
    const second = slots.run(silent.start);
    expect(slots.open).toBe(1);
    expect(answered.signal()).toBe(silent.signal());
    answered.settle(1);
    await expect(first).resolves.toBe(1);
    const late = expect(second).rejects.toBeInstanceOf(DeadlineExpired);
    await jest.advanceTimersByTimeAsync(1040);
    await late;
    // A reply after the deadline changes nothing.
    silent.settle(2);
    await expect(second).rejects.toBeInstanceOf(DeadlineExpired);
  });
});

test('many commands share a slot without a MaxListenersExceededWarning (node-redis listens on each one\'s signal)', () => {
  // In a process of its own: jest's sandbox does not pass process warnings to the test.
  const script = `
    const { DeadlineSlots } = require(${JSON.stringify(path.join(__dirname, 'deadline-slots.ts'))});
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.name));
    const slots = new DeadlineSlots(1000, 1000);
    Promise.all(Array.from({ length: 50 }, () => slots.run((signal) => {
      signal.addEventListener('abort', () => undefined, { once: true });
      return Promise.resolve(1);
    }))).then(() => setImmediate(() => { console.log(JSON.stringify(warnings)); process.exit(0); }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(JSON.parse(out.trim().split('\n').pop() as string)).toEqual([]);
});

test('a command that fails (or throws while starting) rejects with its own error', async () => {
  const slots = new DeadlineSlots(1000, 10);
  await expect(slots.run(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
  await expect(
    slots.run(() => {
      throw new Error('bad arguments');
    }),
  ).rejects.toThrow('bad arguments');
});

test('timeouts and granularity must be positive', () => {
  expect(() => new DeadlineSlots(0, 10)).toThrow(TypeError);
  expect(() => new DeadlineSlots(10, 0)).toThrow(TypeError);
});
