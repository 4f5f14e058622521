import { Manager } from 'socket.io-client';
import { resolveClientOptions } from './client-options';
import { connectTimeoutFor, isWakeEvent, managerBackoff, reconnectOptions, refusedHandshakeDelayMs, retryDelayMs, watchWakeEvents } from './reconnect-policy';

/** A Manager built from our options exactly as the client builds it; it never connects. */
function managerFor(overrides: Record<string, number> = {}): Manager {
  const opts = resolveClientOptions({ url: 'http://127.0.0.1:9', token: 't', ...overrides });
  return new Manager('http://127.0.0.1:9', { autoConnect: false, ...reconnectOptions(opts) });
}

test('the Manager gets our policy: never give up, 1 s to 30 s, jitter 0.5, 3 s to open', () => {
  const manager = managerFor();
  expect(manager.timeout()).toBe(3000);
  expect(manager.reconnection()).toBe(true);
  expect(manager.reconnectionAttempts()).toBe(Infinity);
  expect(manager.reconnectionDelay()).toBe(1000);
  expect(manager.reconnectionDelayMax()).toBe(30_000);
  expect(manager.randomizationFactor()).toBe(0.5);
});

test('delays grow exponentially within the jitter range and never pass the cap', () => {
  const backoff = managerBackoff(managerFor({ minReconnectDelayMs: 100, maxReconnectDelayMs: 5000, randomizationFactor: 0.5 }));
  for (let run = 0; run < 200; run++) {
    backoff.reset();
    for (let attempt = 0; attempt < 12; attempt++) {
      const base = 100 * 2 ** attempt;
      const delay = backoff.duration();
      expect(delay).toBeGreaterThanOrEqual(Math.min(5000, Math.floor(base * 0.5)));
      expect(delay).toBeLessThanOrEqual(Math.min(5000, Math.ceil(base * 1.5)));
    }
  }
});

test('jitter spreads the delays: not every client retries at the same instant', () => {
  const backoff = managerBackoff(managerFor({ minReconnectDelayMs: 1000, maxReconnectDelayMs: 30_000, randomizationFactor: 0.5 }));
  const first = new Set<number>();
  for (let i = 0; i < 100; i++) {
    backoff.reset();
    first.add(backoff.duration());
  }
  expect(first.size).toBeGreaterThan(20);
  expect(Math.min(...first)).toBeGreaterThanOrEqual(500);
  expect(Math.max(...first)).toBeLessThanOrEqual(1500);
});

test('without jitter, delays are exactly min·2^n capped at max', () => {
  const backoff = managerBackoff(managerFor({ minReconnectDelayMs: 100, maxReconnectDelayMs: 1000, randomizationFactor: 0 }));
  expect(Array.from({ length: 6 }, () => backoff.duration())).toEqual([100, 200, 400, 800, 1000, 1000]);
});

test('refused handshakes back off through the Manager backoff, from the count of refusals in a row', () => {
  const manager = managerFor({ minReconnectDelayMs: 100, maxReconnectDelayMs: 1000, randomizationFactor: 0 });
  expect([1, 2, 3, 4, 5, 50].map((n) => refusedHandshakeDelayMs(manager, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
});

test('retried requests back off by the same policy and leave the Manager backoff as it was', () => {
  const manager = managerFor({ minReconnectDelayMs: 100, maxReconnectDelayMs: 1000, randomizationFactor: 0 });
  expect([1, 2, 3, 4, 5, 50].map((n) => retryDelayMs(manager, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  expect(managerBackoff(manager).attempts).toBe(0);
});

test('a connection attempt gets 3 s to open, doubled for each failed attempt in a row, at most 20 s', () => {
  expect([1, 2, 3, 4, 5, 40].map((attempt) => connectTimeoutFor(3000, attempt))).toEqual([3000, 6000, 12_000, 20_000, 20_000, 20_000]);
});

test('the default cap is far below the replay window, so a client is back before its window closes', () => {
  const opts = resolveClientOptions({ url: 'http://x', token: 't' });
  // The longest delay, jitter included, leaves most of the 5-minute window.
  expect(opts.maxReconnectDelayMs * (1 + opts.randomizationFactor)).toBeLessThan(300_000 / 5);
});

test('online, and the page becoming visible, wake the client; hiding does not', () => {
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), { visibilityState: 'hidden' });
  let wakes = 0;
  const stop = watchWakeEvents(() => (wakes += 1), win, doc);
  doc.dispatchEvent(new Event('visibilitychange'));
  expect(wakes).toBe(0);
  win.dispatchEvent(new Event('online'));
  expect(wakes).toBe(1);
  doc.visibilityState = 'visible';
  doc.dispatchEvent(new Event('visibilitychange'));
  expect(wakes).toBe(2);
  stop();
  win.dispatchEvent(new Event('online'));
  expect(wakes).toBe(2);
  expect(isWakeEvent(new Event('offline'), doc)).toBe(false);
});
